// Verifies the bearer tokens callers present: signature, expiry, issuer, audience and an explicit algorithm
// allow-list, then reads Orderly's two claims (`sub`, `roles`). Every failure is a DomainError "unauthenticated" with
// a stable reason; no message ever repeats the token, because error messages reach logs and clients.
import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import { DomainError } from "./domain/errors.js";
import type { Config } from "./config.js";
import type { TokenVerifier, VerifiedToken } from "./token.js";
import { cacheVerifiedTokens, DEFAULT_TOKEN_CACHE_SIZE } from "./token-cache.js";

/** The shared secret used in development when no key is configured; never accepted when NODE_ENV=production. */
export const DEV_JWT_SECRET = "orderly-development-secret-not-for-production";

/** Where the key that checks token signatures comes from: exactly one source. */
export type KeySource =
  /** A shared HMAC secret (HS256); for development and tests. */
  | { readonly kind: "secret"; readonly secret: string }
  /** One SPKI PEM public key and the algorithm it signs with (RS256, ES256, EdDSA, ...). */
  | { readonly kind: "publicKey"; readonly pem: string; readonly algorithm: string }
  /** A JSON Web Key Set file, read once when the verifier is created. */
  | { readonly kind: "jwksFile"; readonly path: string };

/** How tokens are verified. */
export interface AuthConfig {
  /** The `iss` every token must carry. */
  readonly issuer: string;
  /** The `aud` every token must include. */
  readonly audience: string;
  /** The signing algorithms accepted; default HS256 for a secret, RS256/ES256/EdDSA for public keys. */
  readonly algorithms?: readonly string[];
  /** How far `exp` and `nbf` may be off because of clock skew between machines; default 30. */
  readonly clockToleranceSeconds?: number;
  readonly key: KeySource;
  /** Distinct verified tokens remembered until their exp (default 10,000); 0 verifies every call afresh. */
  readonly cacheSize?: number;
}

const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"];
const DEFAULT_SECRET_ALGORITHMS = ["HS256"];
const DEFAULT_KEY_ALGORITHMS = ["RS256", "ES256", "EdDSA"];
// RFC 7518 §3.2: an HMAC key must be at least as long as the hash; a short secret can be brute-forced offline.
const MIN_SECRET_BYTES = 32;

type VerificationKey = Parameters<typeof jwtVerify>[1];

/** Builds a verifier; a configuration mistake throws here, at start-up, not on the first call. */
export function createTokenVerifier(config: AuthConfig): TokenVerifier {
  const { key, algorithms } = resolveKey(config);
  const options = {
    algorithms,
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: checkedTolerance(config.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS),
    // A token without exp would never expire: refuse it.
    requiredClaims: ["exp"],
  };
  const verifier: TokenVerifier = {
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key, options));
      } catch (error) {
        throw tokenError(error);
      }
      return claimsOf(payload);
    },
  };
  return config.cacheSize === 0
    ? verifier
    : cacheVerifiedTokens(verifier, { maxEntries: config.cacheSize ?? DEFAULT_TOKEN_CACHE_SIZE });
}

/** The AuthConfig the JWT_* settings describe (loadConfig already refused the development secret in production). */
export function authConfigOf(config: Config): AuthConfig {
  const common = {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    clockToleranceSeconds: config.JWT_CLOCK_SKEW_SECONDS,
  };
  const listed = config.JWT_ALGORITHMS;
  if (config.JWT_JWKS_FILE)
    return {
      ...common,
      algorithms: listed ?? DEFAULT_KEY_ALGORITHMS,
      key: { kind: "jwksFile", path: config.JWT_JWKS_FILE },
    };
  if (config.JWT_PUBLIC_KEY_FILE) {
    const pem = readConfigFile(config.JWT_PUBLIC_KEY_FILE, "JWT_PUBLIC_KEY_FILE");
    const allowed = listed ?? DEFAULT_KEY_ALGORITHMS;
    const key = parsePublicKey(pem);
    // A PEM does not name its algorithm; take the first allowed one the key can actually sign with.
    const algorithm = allowed.find((a) => fitsKey(a, key));
    if (!algorithm) {
      throw new Error(`JWT_PUBLIC_KEY_FILE: the key cannot verify any of JWT_ALGORITHMS (${allowed.join(", ")})`);
    }
    return { ...common, algorithms: allowed, key: { kind: "publicKey", pem, algorithm } };
  }
  return {
    ...common,
    algorithms: listed ?? DEFAULT_SECRET_ALGORITHMS,
    key: { kind: "secret", secret: config.JWT_SECRET ?? DEV_JWT_SECRET },
  };
}

function resolveKey(config: AuthConfig): { key: VerificationKey; algorithms: string[] } {
  const source = config.key;
  const algorithms = [
    ...(config.algorithms ?? (source.kind === "secret" ? DEFAULT_SECRET_ALGORITHMS : DEFAULT_KEY_ALGORITHMS)),
  ];
  if (algorithms.length === 0) throw new Error("auth config: the algorithm allow-list is empty");
  // jose refuses unsecured tokens anyway; refusing the configuration too makes the intent impossible to miss.
  if (algorithms.some((a) => a.toLowerCase() === "none"))
    throw new Error('auth config: algorithm "none" is never allowed');
  switch (source.kind) {
    case "secret": {
      const stray = algorithms.filter((a) => !HMAC_ALGORITHMS.includes(a));
      if (stray.length > 0)
        throw new Error(`auth config: a secret can only verify HMAC algorithms, not ${stray.join(", ")}`);
      const secret = new TextEncoder().encode(source.secret);
      if (secret.length < MIN_SECRET_BYTES)
        throw new Error(`auth config: the secret must be at least ${MIN_SECRET_BYTES} bytes`);
      return { key: secret, algorithms };
    }
    case "publicKey": {
      const key = parsePublicKey(source.pem);
      if (!algorithms.includes(source.algorithm)) {
        throw new Error(
          `auth config: the key's algorithm ${source.algorithm} is not in the allow-list (${algorithms.join(", ")})`,
        );
      }
      if (!fitsKey(source.algorithm, key)) {
        throw new Error(`auth config: a ${key.asymmetricKeyType ?? "unknown"} key cannot verify ${source.algorithm}`);
      }
      // One key signs with one algorithm; accepting any other would only invite algorithm confusion.
      return { key, algorithms: [source.algorithm] };
    }
    case "jwksFile": {
      // An HMAC algorithm with public keys is the classic algorithm-confusion attack; refuse it outright.
      const hmac = algorithms.filter((a) => HMAC_ALGORITHMS.includes(a));
      if (hmac.length > 0) throw new Error(`auth config: a JWKS holds public keys; ${hmac.join(", ")} is not allowed`);
      const text = readConfigFile(source.path, "JWT_JWKS_FILE");
      try {
        return { key: createLocalJWKSet(JSON.parse(text) as JSONWebKeySet), algorithms };
      } catch (error) {
        throw new Error(`auth config: ${source.path} is not a JSON Web Key Set`, { cause: error });
      }
    }
  }
}

function parsePublicKey(pem: string): KeyObject {
  try {
    const key = createPublicKey({ key: pem, format: "pem" });
    if (key.type !== "public") throw new Error("not a public key");
    return key;
  } catch (error) {
    throw new Error("auth config: the public key is not an SPKI PEM public key", { cause: error });
  }
}

const EC_CURVES: Readonly<Record<string, string>> = { ES256: "prime256v1", ES384: "secp384r1", ES512: "secp521r1" };

// Checked at start-up so a mismatched key is a clear config error rather than every token failing as "invalid".
function fitsKey(algorithm: string, key: KeyObject): boolean {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return /^(RS|PS)(256|384|512)$/.test(algorithm);
    case "rsa-pss":
      return /^PS(256|384|512)$/.test(algorithm);
    case "ec":
      return EC_CURVES[algorithm] !== undefined && EC_CURVES[algorithm] === key.asymmetricKeyDetails?.namedCurve;
    case "ed25519":
      return algorithm === "EdDSA" || algorithm === "Ed25519";
    default:
      return false;
  }
}

function readConfigFile(path: string, variable: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`${variable}: cannot read ${path}`, { cause: error });
  }
}

function checkedTolerance(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new Error("auth config: the clock skew (JWT_CLOCK_SKEW_SECONDS) must be a non-negative number of seconds");
  }
  return seconds;
}

function claimsOf(payload: JWTPayload): VerifiedToken {
  if (typeof payload.sub !== "string" || payload.sub === "") {
    throw invalid("the token has no subject (sub)");
  }
  const roles: unknown = payload["roles"] ?? [];
  if (!Array.isArray(roles) || !roles.every((role): role is string => typeof role === "string")) {
    throw invalid("the token's roles claim must be a list of strings");
  }
  const claims = { subject: payload.sub, roles: [...roles] };
  return typeof payload.exp === "number" ? { ...claims, expiresAt: new Date(payload.exp * 1000) } : claims;
}

// Our own fixed messages, never jose's or the runtime's: those can quote decoded token content.
function tokenError(error: unknown): DomainError {
  if (error instanceof errors.JWTExpired) {
    return new DomainError("unauthenticated", "TOKEN_EXPIRED", "the token has expired; get a new one");
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "nbf":
        return invalid("the token is not valid yet (nbf is in the future)");
      case "iss":
        return invalid("the token was not issued by the trusted issuer");
      case "aud":
        return invalid("the token is not meant for this audience");
      default:
        return invalid(`the token's "${error.claim}" claim is not valid`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return invalid("the token's signing algorithm is not allowed");
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid("the token's signature does not verify");
  if (error instanceof errors.JWKSNoMatchingKey) return invalid("no trusted key matches the token");
  return invalid("the token is malformed or cannot be verified");
}

function invalid(message: string): DomainError {
  return new DomainError("unauthenticated", "TOKEN_INVALID", message);
}
