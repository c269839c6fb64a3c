// Signing JWTs by hand with node:crypto, so the harness can make the tokens no JWT library would: any header, any
// payload text (duplicate keys, arrays, non-JSON), any algorithm with any key (HMAC keyed with a public key, ...).
import { createHmac, createPublicKey, generateKeyPairSync, sign, constants, type KeyObject } from "node:crypto";

/** base64url of bytes or text. */
export function b64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString("base64url");
}

/** A key pair and the JWS algorithm it signs with. */
export interface SigningKey {
  readonly alg: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly kid?: string;
}

/** A fresh key pair for `alg` (RS256/PS256, ES256, EdDSA). */
export function generateSigningKey(alg: "RS256" | "PS256" | "ES256" | "EdDSA", kid?: string): SigningKey {
  const pair =
    alg === "ES256"
      ? generateKeyPairSync("ec", { namedCurve: "prime256v1" })
      : alg === "EdDSA"
        ? generateKeyPairSync("ed25519")
        : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { alg, ...pair, ...(kid ? { kid } : {}) };
}

/** The SPKI PEM of a public key. */
export function publicPem(key: KeyObject): string {
  return key.export({ type: "spki", format: "pem" }).toString();
}

/** The public JWK of a key (for JWKS files and embedded-jwk attacks). */
export function publicJwk(key: KeyObject, extra: Record<string, string> = {}): Record<string, unknown> {
  return { ...(key.type === "public" ? key : createPublicKey(key)).export({ format: "jwk" }), ...extra };
}

/** The signature of `input` (header.payload) under `alg` with `key` (a secret for HS*); "" for none. */
export function signature(alg: string, key: KeyObject | Uint8Array | string, input: string): string {
  if (/^HS(256|384|512)$/.test(alg)) {
    const secret = typeof key === "string" || key instanceof Uint8Array ? key : (key.export() as Buffer);
    return createHmac(`sha${alg.slice(2)}`, secret)
      .update(input)
      .digest("base64url");
  }
  if (typeof key === "string" || key instanceof Uint8Array) throw new Error(`${alg} needs a private key`);
  if (alg === "EdDSA") return sign(null, Buffer.from(input), key).toString("base64url");
  const hash = `sha${alg.slice(2)}`;
  if (alg.startsWith("ES"))
    return sign(hash, Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }).toString("base64url");
  if (alg.startsWith("PS"))
    return sign(hash, Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING }).toString("base64url");
  return sign(hash, Buffer.from(input), key).toString("base64url");
}

/**
 * A compact JWS. `header` and `payload` are objects (serialized as JSON) or raw text (sent as it is, e.g. JSON with
 * duplicate keys); the signature is made with `alg` and `key`, or left empty when key is undefined.
 */
export function forge(
  header: Record<string, unknown> | string,
  payload: Record<string, unknown> | string,
  alg: string,
  key: KeyObject | Uint8Array | string | undefined,
): string {
  const input = `${b64url(typeof header === "string" ? header : JSON.stringify(header))}.${b64url(
    typeof payload === "string" ? payload : JSON.stringify(payload),
  )}`;
  return `${input}.${key === undefined ? "" : signature(alg, key, input)}`;
}
