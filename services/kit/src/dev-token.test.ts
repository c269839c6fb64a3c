import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { devTokenFromArgs, mintDevToken } from "./dev-token.js";
import { loadConfig, type Env } from "./config.js";
import { authConfigOf, createTokenVerifier, DEV_JWT_SECRET } from "./token-verifier.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const authConfigFromEnv = (env: Env) => authConfigOf(loadConfig("common", env));
const devVerifier = createTokenVerifier(authConfigFromEnv({}));

describe("mintDevToken", () => {
  it("mints an HS256 token the default verifier accepts", async () => {
    const token = await mintDevToken({ subject: "usr_123", roles: ["admin", "support"], ttlSeconds: 60 }, {});
    expect(decodeProtectedHeader(token).alg).toBe("HS256");
    const verified = await devVerifier.verify(token);
    expect(verified.subject).toBe("usr_123");
    expect(verified.roles).toEqual(["admin", "support"]);
    const lifetime = (verified.expiresAt?.getTime() ?? 0) - Date.now();
    expect(lifetime).toBeGreaterThan(55_000);
    expect(lifetime).toBeLessThanOrEqual(60_000);
  });

  it("uses JWT_SECRET, JWT_ISSUER and JWT_AUDIENCE from the env, as the server does", async () => {
    const env = { JWT_SECRET: "env-secret-env-secret-env-secret-env!!", JWT_ISSUER: "iss-x", JWT_AUDIENCE: "aud-x" };
    const token = await mintDevToken({ subject: "u", roles: [] }, env);
    expect(decodeJwt(token)).toMatchObject({ iss: "iss-x", aud: "aud-x", sub: "u", roles: [] });
    await expect(createTokenVerifier(authConfigFromEnv(env)).verify(token)).resolves.toMatchObject({ subject: "u" });
    await expect(devVerifier.verify(token)).rejects.toMatchObject({ reason: "TOKEN_INVALID" });
  });

  it("lets explicit options win over the env and refuses a dev secret in production", async () => {
    const production = { NODE_ENV: "production" };
    await expect(mintDevToken({ subject: "u", roles: [] }, production)).rejects.toThrow(/production/);
    const token = await mintDevToken(
      { subject: "u", roles: [], secret: DEV_JWT_SECRET, issuer: "i", audience: "a" },
      production,
    );
    expect(decodeJwt(token)).toMatchObject({ iss: "i", aud: "a" });
  });

  it("refuses to sign when the server verifies with public keys", async () => {
    await expect(mintDevToken({ subject: "u", roles: [] }, { JWT_JWKS_FILE: "/keys/jwks.json" })).rejects.toThrow(
      /public keys/,
    );
  });

  it("rejects a missing subject and a non-positive ttl", async () => {
    await expect(mintDevToken({ subject: "", roles: [] }, {})).rejects.toThrow(/subject/);
    await expect(mintDevToken({ subject: "u", roles: [], ttlSeconds: 0 }, {})).rejects.toThrow(/ttlSeconds/);
  });
});

describe("dev-token CLI", () => {
  it("defaults to dev-admin with the admin role and parses --sub, --roles and --ttl", async () => {
    expect(decodeJwt(await devTokenFromArgs([], {}))).toMatchObject({ sub: "dev-admin", roles: ["admin"] });
    const claims = decodeJwt(
      await devTokenFromArgs(["--sub", "usr_9", "--roles", "user, support", "--ttl", "120"], {}),
    );
    expect(claims).toMatchObject({ sub: "usr_9", roles: ["user", "support"] });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(120);
    await expect(devTokenFromArgs(["--ttl", "soon"], {})).rejects.toThrow(/ttl/);
    await expect(devTokenFromArgs(["--user", "x"], {})).rejects.toThrow(/--user/);
  });

  it("prints only a token that verifies when run directly", async () => {
    const { JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, JWT_JWKS_FILE, JWT_PUBLIC_KEY_FILE, NODE_ENV, ...env } = process.env;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "services/kit/src/dev-token-cli.ts", "--sub", "x", "--roles", "user"],
      { cwd: root, env },
    );
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    await expect(devVerifier.verify(stdout.trim())).resolves.toMatchObject({ subject: "x", roles: ["user"] });
  });
});
