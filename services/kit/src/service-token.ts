// A service's own identity for calls to other Orderly services (e.g. OrderService -> UserService), chosen over
// forwarding the end user's token so that internal checks need only the narrow "service" role (users:read) and can be
// shared between callers. The token is issued to the service by the identity provider and handed over in
// SERVICE_TOKEN_FILE, re-read when the file changes, so rotation needs no restart. A service never mints a token
// itself: whoever holds the signing key could mint an admin one. In development, `npm start` writes the file.
import { readFile, stat } from "node:fs/promises";

/** The role service identities carry. */
export const SERVICE_ROLE = "service";

/** Returns a function that yields the service's current token from SERVICE_TOKEN_FILE; throws when it is not set. */
export function serviceTokenProvider(
  env: Readonly<Record<string, string | undefined>> = process.env,
): () => Promise<string> {
  const file = env.SERVICE_TOKEN_FILE?.trim();
  if (!file) {
    throw new Error(
      'SERVICE_TOKEN_FILE is not set: this service needs a token of its own (role "service") to call other services; ' +
        "`npm start` provides a development one",
    );
  }
  let cached: { mtimeMs: number; token: string } | undefined;
  return async () => {
    const { mtimeMs } = await stat(file);
    if (!cached || cached.mtimeMs !== mtimeMs) cached = { mtimeMs, token: (await readFile(file, "utf8")).trim() };
    return cached.token;
  };
}
