// Mints HS256 tokens for local development and tests, signed with the same secret and claims the server's
// authConfigOf reads from the settings. A library without side effects: the CLI is dev-token-cli.ts. No service
// process may import it (test/architecture.test.ts and test/credentials.e2e.test.ts hold that): a service verifies
// tokens, it never mints one.
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { loadConfig, type Env } from "./config.js";
import { authConfigOf } from "./token-verifier.js";

/** What to put in a development token; secret, issuer and audience default to what the server reads from the env. */
export interface DevTokenOptions {
  readonly subject: string;
  readonly roles: readonly string[];
  readonly ttlSeconds?: number;
  readonly secret?: string;
  readonly issuer?: string;
  readonly audience?: string;
}

/** Signs an HS256 token for `subject` with `roles`, valid for ttlSeconds (default one hour); env: the settings. */
export async function mintDevToken(options: DevTokenOptions, env?: Env): Promise<string> {
  const { subject, roles, ttlSeconds = 3600 } = options;
  if (!subject) throw new Error("a dev token needs a subject");
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error("ttlSeconds must be a positive whole number");
  const { secret, issuer, audience } = await signingDefaults(options, env);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles: [...roles] })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(subject)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}

/** The CLI: parses `--sub`, `--roles` (comma list) and `--ttl` (seconds) and returns the token it mints. */
export async function devTokenFromArgs(args: readonly string[], env?: Env): Promise<string> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      sub: { type: "string", default: "dev-admin" },
      roles: { type: "string", default: "admin" },
      ttl: { type: "string", default: "3600" },
    },
    strict: true,
    allowPositionals: false,
  });
  const roles = values.roles
    .split(",")
    .map((role) => role.trim())
    .filter(Boolean);
  const ttlSeconds = /^\d+$/.test(values.ttl) ? Number(values.ttl) : Number.NaN;
  return mintDevToken({ subject: values.sub, roles, ttlSeconds }, env);
}

// Only what the caller left out is read from the env, so an explicit secret works even where the env has none.
async function signingDefaults(options: DevTokenOptions, env: Env | undefined) {
  if (options.secret !== undefined && options.issuer !== undefined && options.audience !== undefined) {
    return { secret: options.secret, issuer: options.issuer, audience: options.audience };
  }
  const config = authConfigOf(loadConfig("common", env));
  if (options.secret === undefined && config.key.kind !== "secret") {
    throw new Error(
      "the server is configured to verify with public keys; a dev token can only be signed with JWT_SECRET",
    );
  }
  return {
    secret: options.secret ?? (config.key.kind === "secret" ? config.key.secret : ""),
    issuer: options.issuer ?? config.issuer,
    audience: options.audience ?? config.audience,
  };
}
