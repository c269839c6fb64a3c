// A service's own identity for calls to other Orderly services (e.g. OrderService -> UserService), chosen over
// forwarding the end user's token so that internal checks need only the narrow "service" role (users:read) and can be
// shared between callers. Either a token issued to the service by the identity provider, in SERVICE_TOKEN_FILE
// (re-read when the file changes, so rotation needs no restart), or, with a shared HS256 secret (development),
// a short-lived token minted here and renewed before it expires.
import { readFile, stat } from "node:fs/promises";
import { mintDevToken } from "./dev-token.js";

/** The role service identities carry. */
export const SERVICE_ROLE = "service";

/** Returns a function that yields a valid token for `subject` on every call, renewing it as needed. */
export function serviceTokenProvider(
  subject: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  ttlSeconds = 300,
): () => Promise<string> {
  const file = env.SERVICE_TOKEN_FILE;
  if (file) {
    let cached: { mtimeMs: number; token: string } | undefined;
    return async () => {
      const { mtimeMs } = await stat(file);
      if (!cached || cached.mtimeMs !== mtimeMs) cached = { mtimeMs, token: (await readFile(file, "utf8")).trim() };
      return cached.token;
    };
  }
  let current: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  return async () => {
    if (current && Date.now() < current.renewAt) return current.token;
    pending ??= mintDevToken({ subject, roles: [SERVICE_ROLE], ttlSeconds }, env)
      .then((token) => {
        current = { token, renewAt: Date.now() + (ttlSeconds * 1000) / 2 };
        return token;
      })
      .finally(() => (pending = undefined));
    return pending;
  };
}
