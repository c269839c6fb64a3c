import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { DomainError } from "./domain/errors.js";
import { loadConfig, type Env } from "./config.js";
import { authConfigOf, createTokenVerifier, DEV_JWT_SECRET, type AuthConfig } from "./token-verifier.js";

const SECRET = "a-test-secret-that-is-long-enough-for-hs256";
const base = { issuer: "orderly-test", audience: "orderly" } as const;
const secretConfig: AuthConfig = { ...base, key: { kind: "secret", secret: SECRET } };
const now = () => Math.floor(Date.now() / 1000);

type SigningKey = Parameters<SignJWT["sign"]>[0];

function sign(
  key: SigningKey,
  {
    alg = "HS256",
    claims = { sub: "usr_1", roles: ["user"] },
    iss = base.issuer,
    aud = base.audience,
    exp = now() + 600,
    nbf,
    kid,
  }: {
    alg?: string;
    claims?: JWTPayload;
    iss?: string;
    aud?: string;
    exp?: number;
    nbf?: number;
    kid?: string;
  } = {},
): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader(kid ? { alg, kid } : { alg })
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt();
  jwt.setExpirationTime(exp);
  if (nbf !== undefined) jwt.setNotBefore(nbf);
  return jwt.sign(key);
}

const secretKey = new TextEncoder().encode(SECRET);

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

async function expectRejected(promise: Promise<unknown>, reason: string, token?: string): Promise<DomainError> {
  const error = await rejection(promise);
  expect(error.kind).toBe("unauthenticated");
  expect(error.reason).toBe(reason);
  // The token must never appear in what the error says.
  if (token) for (const part of token.split(".").filter((p) => p.length > 8)) expect(error.message).not.toContain(part);
  return error;
}

describe("createTokenVerifier with a secret", () => {
  const verifier = createTokenVerifier(secretConfig);

  it("accepts a valid HS256 token and returns its subject, roles and expiry", async () => {
    const exp = now() + 600;
    const result = await verifier.verify(
      await sign(secretKey, { exp, claims: { sub: "usr_42", roles: ["admin", "support"] } }),
    );
    expect(result).toEqual({ subject: "usr_42", roles: ["admin", "support"], expiresAt: new Date(exp * 1000) });
  });

  it("treats missing roles as none", async () => {
    const result = await verifier.verify(await sign(secretKey, { claims: { sub: "usr_1" } }));
    expect(result.roles).toEqual([]);
  });

  it("rejects an expired token as TOKEN_EXPIRED", async () => {
    const token = await sign(secretKey, { exp: now() - 120 });
    const error = await expectRejected(verifier.verify(token), "TOKEN_EXPIRED", token);
    expect(error.message).toMatch(/expired/);
  });

  it("rejects a token without exp (it would never expire)", async () => {
    const token = await new SignJWT({ sub: "usr_1", roles: ["admin"] })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(base.issuer)
      .setAudience(base.audience)
      .sign(secretKey);
    await expectRejected(verifier.verify(token), "TOKEN_INVALID", token);
  });

  it("accepts a token that expired within the clock skew", async () => {
    await expect(verifier.verify(await sign(secretKey, { exp: now() - 10 }))).resolves.toMatchObject({
      subject: "usr_1",
    });
  });

  it("rejects a token whose nbf is in the future beyond the skew", async () => {
    const token = await sign(secretKey, { nbf: now() + 300 });
    const error = await expectRejected(verifier.verify(token), "TOKEN_INVALID", token);
    expect(error.message).toMatch(/not valid yet/);
  });

  it("accepts a token whose nbf is in the future within the skew", async () => {
    await expect(verifier.verify(await sign(secretKey, { nbf: now() + 10 }))).resolves.toMatchObject({
      subject: "usr_1",
    });
  });

  it("honours a configured clock skew of zero", async () => {
    const strict = createTokenVerifier({ ...secretConfig, clockToleranceSeconds: 0 });
    await expectRejected(strict.verify(await sign(secretKey, { nbf: now() + 10 })), "TOKEN_INVALID");
  });

  it("rejects a token signed with another secret", async () => {
    const token = await sign(new TextEncoder().encode("another-secret-that-is-also-long-enough!!"));
    const error = await expectRejected(verifier.verify(token), "TOKEN_INVALID", token);
    expect(error.message).toMatch(/signature/);
  });

  it("rejects a token from another issuer", async () => {
    const token = await sign(secretKey, { iss: "someone-else" });
    expect((await expectRejected(verifier.verify(token), "TOKEN_INVALID", token)).message).toMatch(/issuer/);
  });

  it("rejects a token for another audience", async () => {
    const token = await sign(secretKey, { aud: "billing" });
    expect((await expectRejected(verifier.verify(token), "TOKEN_INVALID", token)).message).toMatch(/audience/);
  });

  it('rejects an unsigned alg "none" token', async () => {
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const token = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "usr_1", roles: ["admin"], iss: base.issuer, aud: base.audience, exp: now() + 600 })}.`;
    await expectRejected(verifier.verify(token), "TOKEN_INVALID", token);
  });

  it("rejects an HS512 token when only HS256 is allowed", async () => {
    const token = await sign(secretKey, { alg: "HS512" });
    expect((await expectRejected(verifier.verify(token), "TOKEN_INVALID", token)).message).toMatch(/algorithm/);
  });

  it("rejects a token without a subject", async () => {
    const token = await sign(secretKey, { claims: { roles: ["admin"] } });
    expect((await expectRejected(verifier.verify(token), "TOKEN_INVALID", token)).message).toMatch(/subject/);
    await expectRejected(verifier.verify(await sign(secretKey, { claims: { sub: "" } })), "TOKEN_INVALID");
  });

  it("rejects roles that are not a list of strings", async () => {
    await expectRejected(
      verifier.verify(await sign(secretKey, { claims: { sub: "u", roles: "admin" } })),
      "TOKEN_INVALID",
    );
    await expectRejected(
      verifier.verify(await sign(secretKey, { claims: { sub: "u", roles: ["admin", 7] } })),
      "TOKEN_INVALID",
    );
  });

  it("rejects garbage without quoting it", async () => {
    const token = "eyJhbGciOiJIUzI1NiJ9.bm90LWpzb24tc2VjcmV0LXN0dWZm.c2ln";
    const error = await expectRejected(verifier.verify(token), "TOKEN_INVALID", token);
    expect(error.message).not.toMatch(/not-json|secret-stuff/);
    await expectRejected(verifier.verify(""), "TOKEN_INVALID");
  });

  it("refuses unsafe configurations at start-up", () => {
    expect(() => createTokenVerifier({ ...secretConfig, algorithms: ["none"] })).toThrow(/none/);
    expect(() => createTokenVerifier({ ...secretConfig, algorithms: [] })).toThrow(/empty/);
    expect(() => createTokenVerifier({ ...secretConfig, algorithms: ["RS256"] })).toThrow(/HMAC/);
    expect(() => createTokenVerifier({ ...base, key: { kind: "secret", secret: "short" } })).toThrow(
      /at least 32 bytes/,
    );
    expect(() => createTokenVerifier({ ...secretConfig, clockToleranceSeconds: -1 })).toThrow(/skew/);
  });
});

describe("createTokenVerifier with public keys", () => {
  for (const alg of ["RS256", "ES256", "EdDSA"] as const) {
    it(`verifies ${alg} tokens signed by the matching private key only`, async () => {
      const { publicKey, privateKey } = await generateKeyPair(alg);
      const other = await generateKeyPair(alg);
      const verifier = createTokenVerifier({
        ...base,
        key: { kind: "publicKey", pem: await exportSPKI(publicKey), algorithm: alg },
      });
      await expect(verifier.verify(await sign(privateKey, { alg }))).resolves.toMatchObject({
        subject: "usr_1",
        roles: ["user"],
      });
      await expectRejected(verifier.verify(await sign(other.privateKey, { alg })), "TOKEN_INVALID");
    });
  }

  it("rejects an HS256 token against an RS256-only verifier, even one keyed with the public key's bytes", async () => {
    const { publicKey } = await generateKeyPair("RS256");
    const pem = await exportSPKI(publicKey);
    const verifier = createTokenVerifier({
      ...base,
      algorithms: ["RS256"],
      key: { kind: "publicKey", pem, algorithm: "RS256" },
    });
    const token = await sign(new TextEncoder().encode(pem)); // the classic algorithm-confusion forgery
    expect((await expectRejected(verifier.verify(token), "TOKEN_INVALID", token)).message).toMatch(/algorithm/);
  });

  it("refuses a key that cannot sign with its declared algorithm, or one outside the allow-list", async () => {
    const { publicKey } = await generateKeyPair("ES256");
    const pem = await exportSPKI(publicKey);
    expect(() => createTokenVerifier({ ...base, key: { kind: "publicKey", pem, algorithm: "RS256" } })).toThrow(
      /cannot verify RS256/,
    );
    expect(() =>
      createTokenVerifier({ ...base, algorithms: ["RS256"], key: { kind: "publicKey", pem, algorithm: "ES256" } }),
    ).toThrow(/allow-list/);
    expect(() =>
      createTokenVerifier({ ...base, key: { kind: "publicKey", pem: "not a pem", algorithm: "ES256" } }),
    ).toThrow(/SPKI PEM/);
  });
});

describe("createTokenVerifier with a JWKS file", () => {
  const dir = mkdtempSync(join(tmpdir(), "orderly-jwks-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("verifies tokens signed by any key in the set, picked by kid", async () => {
    const rsa = await generateKeyPair("RS256");
    const ec = await generateKeyPair("ES256");
    const path = join(dir, "jwks.json");
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
      { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
    ];
    writeFileSync(path, JSON.stringify({ keys }));
    const verifier = createTokenVerifier({ ...base, key: { kind: "jwksFile", path } });
    await expect(verifier.verify(await sign(rsa.privateKey, { alg: "RS256", kid: "rsa-1" }))).resolves.toMatchObject({
      subject: "usr_1",
    });
    await expect(verifier.verify(await sign(ec.privateKey, { alg: "ES256", kid: "ec-1" }))).resolves.toMatchObject({
      subject: "usr_1",
    });
    const stranger = await generateKeyPair("RS256");
    await expectRejected(
      verifier.verify(await sign(stranger.privateKey, { alg: "RS256", kid: "rsa-1" })),
      "TOKEN_INVALID",
    );
    await expectRejected(
      verifier.verify(await sign(stranger.privateKey, { alg: "RS256", kid: "unknown" })),
      "TOKEN_INVALID",
    );
  });

  it("fails at start-up on a missing or malformed file, and refuses HMAC with public keys", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ nope");
    expect(() => createTokenVerifier({ ...base, key: { kind: "jwksFile", path: join(dir, "missing.json") } })).toThrow(
      /cannot read/,
    );
    expect(() => createTokenVerifier({ ...base, key: { kind: "jwksFile", path: bad } })).toThrow(
      /not a JSON Web Key Set/,
    );
    expect(() => createTokenVerifier({ ...base, algorithms: ["HS256"], key: { kind: "jwksFile", path: bad } })).toThrow(
      /HS256/,
    );
  });
});

describe("authConfigOf (the JWT_* settings)", () => {
  const authConfigFromEnv = (env: Env) => authConfigOf(loadConfig("common", env));
  const production = { NODE_ENV: "production", PAGE_TOKEN_SECRET: "p".repeat(32) };
  const dir = mkdtempSync(join(tmpdir(), "orderly-env-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("defaults to the development secret, orderly-dev/orderly, HS256 and 30 s of skew", () => {
    expect(authConfigFromEnv({})).toEqual({
      issuer: "orderly-dev",
      audience: "orderly",
      algorithms: ["HS256"],
      clockToleranceSeconds: 30,
      key: { kind: "secret", secret: DEV_JWT_SECRET },
    });
  });

  it("reads issuer, audience, skew, algorithms and the secret", () => {
    const config = authConfigFromEnv({
      JWT_ISSUER: "https://id.example",
      JWT_AUDIENCE: "orders-api",
      JWT_CLOCK_SKEW_SECONDS: "5",
      JWT_ALGORITHMS: "HS256, HS512",
      JWT_SECRET: SECRET,
    });
    expect(config).toEqual({
      issuer: "https://id.example",
      audience: "orders-api",
      algorithms: ["HS256", "HS512"],
      clockToleranceSeconds: 5,
      key: { kind: "secret", secret: SECRET },
    });
  });

  it("prefers a JWKS file, then a public key file, then a secret", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const pemPath = join(dir, "key.pem");
    writeFileSync(pemPath, await exportSPKI(publicKey));
    expect(
      authConfigFromEnv({ JWT_JWKS_FILE: "/keys/jwks.json", JWT_PUBLIC_KEY_FILE: pemPath, JWT_SECRET: SECRET }).key,
    ).toEqual({
      kind: "jwksFile",
      path: "/keys/jwks.json",
    });
    const config = authConfigFromEnv({ JWT_PUBLIC_KEY_FILE: pemPath, JWT_SECRET: SECRET });
    expect(config.algorithms).toEqual(["RS256", "ES256", "EdDSA"]);
    expect(config.key).toMatchObject({ kind: "publicKey", algorithm: "ES256" });
    // The config it builds really works end to end.
    const token = await sign(privateKey, { alg: "ES256", iss: "orderly-dev", aud: "orderly" });
    await expect(createTokenVerifier(config).verify(token)).resolves.toMatchObject({ subject: "usr_1" });
    expect(() => authConfigFromEnv({ JWT_PUBLIC_KEY_FILE: pemPath, JWT_ALGORITHMS: "RS256" })).toThrow(
      /cannot verify any/,
    );
    expect(() => authConfigFromEnv({ JWT_PUBLIC_KEY_FILE: join(dir, "missing.pem") })).toThrow(/cannot read/);
  });

  it("refuses to fall back to the development secret in production", () => {
    expect(() => authConfigFromEnv(production)).toThrow(/production.*JWT_SECRET/);
    expect(() => authConfigFromEnv({ ...production, JWT_SECRET: DEV_JWT_SECRET })).toThrow(/production/);
    expect(authConfigFromEnv({ ...production, JWT_SECRET: SECRET }).key).toEqual({
      kind: "secret",
      secret: SECRET,
    });
    expect(authConfigFromEnv({ ...production, JWT_JWKS_FILE: "/keys/jwks.json" }).key.kind).toBe("jwksFile");
  });

  it("rejects a nonsensical clock skew", () => {
    expect(() => authConfigFromEnv({ JWT_CLOCK_SKEW_SECONDS: "soon" })).toThrow(/JWT_CLOCK_SKEW_SECONDS/);
    expect(() => authConfigFromEnv({ JWT_CLOCK_SKEW_SECONDS: "-3" })).toThrow(/JWT_CLOCK_SKEW_SECONDS/);
  });
});
