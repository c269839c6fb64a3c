// Hostile bearer tokens against every key setup the kit supports (an HS256 secret; an RS256, ES256 or EdDSA public
// key; a JWKS file) on both services, as real processes. A token the issuer never signed, or one it signed with claims
// the kit must refuse (expired, not yet valid, wrong issuer or audience, no subject, roles not a list of strings, ...)
// must end with UNAUTHENTICATED and a reason; a token the issuer did sign whose roles grant nothing (lookalikes,
// "__proto__", "constructor", ...) is a valid identity without permissions: PERMISSION_DENIED, as docs/product.md
// says. Nothing is accepted (no call reaches a handler), and no token text reaches any process's output.
import { randomBytes, type KeyObject } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@orderly/clients";
import { GetOrderRequest } from "@orderly/proto/orderly/order/v1/order_service";
import { GetUserRequest } from "@orderly/proto/orderly/user/v1/user_service";
import type { Scenario, ScenarioOptions, ScenarioResult } from "../scenario.js";
import { b64url, forge, generateSigningKey, publicJwk, publicPem, type SigningKey } from "../lib/jwt-forge.js";
import { metadataOf, outcomeName, rawClient, rawUnary, type Answer } from "../lib/raw-grpc.js";
import { startPair } from "../lib/standalone.js";

const ISSUER = "orderly-soak";
const AUDIENCE = "orderly";
const SETUPS_FULL = ["hs256", "rs256", "es256", "eddsa", "jwks"] as const;
const SETUPS_SMOKE = ["hs256", "jwks"] as const;
type SetupId = (typeof SETUPS_FULL)[number];
const HUGE_TOKEN_BYTES = 1024 * 1024;

/** The hostile tokens row. */
export const hostileTokens: Scenario = {
  id: "hostile-tokens",
  title:
    "Hostile bearer tokens (forged, confused, malformed, bad claims, huge) against every key setup on both services",
  criterion:
    "0 accepted (no call reaches a handler); every token the issuer did not sign, or signed with claims the kit must refuse, " +
    "answered UNAUTHENTICATED with a reason (TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED) and a message; a signed token " +
    "whose roles grant nothing answered PERMISSION_DENIED; a 1 MB token refused by HTTP/2 (code reported); a valid token " +
    "accepted before and after; no token text in any process output",
  run,
};

/** One key setup: the services' settings and the issuer's own signing key. */
interface Setup {
  id: SetupId;
  env: Record<string, string>;
  /** What the issuer signs with: its algorithm, and a private key or the shared secret. */
  alg: string;
  key: KeyObject | string;
  kid?: string;
  /** The public keys the services trust (none for a secret). */
  trusted: KeyObject[];
}

function makeSetup(id: SetupId, dir: string): Setup {
  const file = (name: string, text: string) => {
    const path = join(dir, `${id}-${name}`);
    writeFileSync(path, text);
    return path;
  };
  const common = { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };
  switch (id) {
    case "hs256": {
      const secret = randomBytes(48).toString("base64url");
      return { id, env: { ...common, JWT_SECRET: secret }, alg: "HS256", key: secret, trusted: [] };
    }
    case "rs256":
    case "es256":
    case "eddsa": {
      const key = generateSigningKey(id === "rs256" ? "RS256" : id === "es256" ? "ES256" : "EdDSA");
      return {
        id,
        env: { ...common, JWT_PUBLIC_KEY_FILE: file("public.pem", publicPem(key.publicKey)) },
        alg: key.alg,
        key: key.privateKey,
        trusted: [key.publicKey],
      };
    }
    case "jwks": {
      const rsa = generateSigningKey("RS256", "soak-rsa");
      const ec = generateSigningKey("ES256", "soak-ec");
      const jwks = {
        keys: [
          publicJwk(rsa.publicKey, { kid: "soak-rsa", alg: "RS256", use: "sig" }),
          publicJwk(ec.publicKey, { kid: "soak-ec", alg: "ES256", use: "sig" }),
        ],
      };
      return {
        id,
        env: { ...common, JWT_JWKS_FILE: file("jwks.json", JSON.stringify(jwks)) },
        alg: "RS256",
        key: rsa.privateKey,
        kid: "soak-rsa",
        trusted: [rsa.publicKey, ec.publicKey],
      };
    }
  }
}

/** The attacker's own keys: never trusted by any setup. */
interface Attacker {
  rsa: SigningKey;
  ps: SigningKey;
  ec: SigningKey;
  ed: SigningKey;
}

/** What a kind must be answered with. */
type Expect = "unauthenticated" | "permission_denied" | "transport";

interface Kind {
  name: string;
  expect: Expect;
  /**
   * How it is sent: by grpc-js with others on one connection (default), or "alone", on a connection of its own (a
   * header block over the server's limit ends the whole connection, and must not take other calls with it).
   * (Two authorization headers cannot be sent: grpc-js and node:http2 both refuse; auth.test.ts covers the kit.)
   */
  via?: "alone";
  /** The authorization header values to send (none, one, or several). */
  headers: string[];
}

const now = () => Math.floor(Date.now() / 1000);

function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    sub: "soak-attacker",
    roles: ["admin"],
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now(),
    exp: now() + 600,
  };
  // undefined removes a claim.
  return Object.fromEntries(Object.entries({ ...base, ...over }).filter(([, value]) => value !== undefined));
}

/** Claims as JSON text with extra members appended, so a key can appear twice. */
function withDuplicates(over: Record<string, unknown>, duplicates: string): string {
  return `${JSON.stringify(claims(over)).slice(0, -1)},${duplicates}}`;
}

/** Every hostile kind for one setup. */
function kinds(setup: Setup, attacker: Attacker): Kind[] {
  const header = (extra: Record<string, unknown> = {}) => ({
    alg: setup.alg,
    typ: "JWT",
    ...(setup.kid ? { kid: setup.kid } : {}),
    ...extra,
  });
  const real = (payload: Record<string, unknown> | string, extra: Record<string, unknown> = {}) =>
    forge(header(extra), payload, setup.alg, setup.key);
  const valid = real(claims());
  const validUser = real(claims({ roles: ["user"], sub: "soak-user" }));
  const [vHeader, vPayload, vSignature] = valid.split(".") as [string, string, string];
  const same =
    setup.alg === "HS256" ? undefined : [attacker.rsa, attacker.ec, attacker.ed].find((k) => k.alg === setup.alg);
  const k = (name: string, expect: Expect, token: string | string[]): Kind => ({
    name,
    expect,
    headers: (Array.isArray(token) ? token : [token]).map((t) => (t.startsWith("!") ? t.slice(1) : `Bearer ${t}`)),
  });
  const un = (name: string, token: string | string[]) => k(name, "unauthenticated", token);
  const byAttacker = (
    key: SigningKey,
    payload: Record<string, unknown> | string,
    extra: Record<string, unknown> = {},
  ) => forge({ alg: key.alg, typ: "JWT", ...extra }, payload, key.alg, key.privateKey);

  // HMAC keyed with what the attacker can know: the public key (PEM, DER, JWK) or, for a secret setup, guesses.
  const confusionSecrets: [string, string | Uint8Array][] =
    setup.trusted.length > 0
      ? setup.trusted.flatMap((key, i) => [
          [`public key ${i} PEM`, publicPem(key)] as [string, string],
          [`public key ${i} DER`, key.export({ type: "spki", format: "der" })] as [string, Uint8Array],
          [`public key ${i} JWK`, JSON.stringify(publicJwk(key))] as [string, string],
        ])
      : [
          ["guessed secret 'secret'", "secret"],
          ["empty secret", ""],
          ["the issuer name", ISSUER],
        ];
  const confusion = confusionSecrets.flatMap(([what, secret]) =>
    ["HS256", "HS384", "HS512"].map((alg) =>
      un(`${alg} keyed with the ${what}`, forge({ alg, typ: "JWT" }, claims(), alg, secret)),
    ),
  );

  const lookalikes: [string, unknown][] = [
    ["__proto__", ["__proto__"]],
    ["constructor", ["constructor"]],
    ["toString", ["toString"]],
    ["hasOwnProperty", ["hasOwnProperty"]],
    ["prototype", ["prototype"]],
    ["Cyrillic a (\u0430dmin)", ["\u0430dmin"]],
    ["fullwidth admin", ["\uff41\uff44\uff4d\uff49\uff4e"]],
    ["admin + zero-width space", ["admin\u200b"]],
    ["dotless i (adm\u0131n)", ["adm\u0131n"]],
    ["ADMIN", ["ADMIN"]],
    ["'admin ' (trailing space)", ["admin "]],
    ["a permission as a role (users:*)", ["users:*"]],
    ["*", ["*"]],
    ["empty list", []],
    ["null", null],
    ["absent", undefined],
  ];
  const payloadProto = `${JSON.stringify(claims({ roles: [] })).slice(0, -1)},"__proto__":{"roles":["admin"]}}`;

  return [
    // The header's shape.
    { name: "no authorization header", expect: "unauthenticated", headers: [] },
    un("'Bearer' without a token", "!Bearer"),
    un("'Bearer ' with an empty token", "!Bearer "),
    un("Basic credentials", "!Basic c29hazpzb2Fr"),
    un("another scheme with a valid token", `!Token ${valid}`),
    un("two tokens in one header", `${valid} ${valid}`),
    // alg none and algorithm games.
    ...["none", "None", "NONE", "nOnE"].map((alg) =>
      un(`alg ${alg}`, forge({ alg, typ: "JWT" }, claims(), alg, undefined)),
    ),
    un("alg none with a valid token's signature", `${b64url('{"alg":"none"}')}.${vPayload}.${vSignature}`),
    un("alg none, two segments", `${b64url('{"alg":"none"}')}.${vPayload}`),
    un("no alg, signed", forge({ typ: "JWT" }, claims(), setup.alg, setup.key)),
    un("alg empty, signed", forge({ alg: "", typ: "JWT" }, claims(), setup.alg, setup.key)),
    un("alg a number", forge({ alg: 256, typ: "JWT" }, claims(), setup.alg, setup.key)),
    ...confusion,
    un("RS256 by the attacker's key", byAttacker(attacker.rsa, claims())),
    un("PS256 by the attacker's key", byAttacker(attacker.ps, claims())),
    un("ES256 by the attacker's key", byAttacker(attacker.ec, claims())),
    un("EdDSA by the attacker's key", byAttacker(attacker.ed, claims())),
    ...(same
      ? [
          un(
            `${setup.alg} by another key of the same type, trusted kid`,
            byAttacker(same, claims(), setup.kid ? { kid: setup.kid } : {}),
          ),
        ]
      : []),
    // Header parameters that point at keys.
    un(
      "kid path traversal, HS256 with an empty key",
      forge({ alg: "HS256", kid: "../../../../../../dev/null" }, claims(), "HS256", ""),
    ),
    un(
      "kid SQL injection, HS256",
      forge({ alg: "HS256", kid: "x' UNION SELECT 'secret' --" }, claims(), "HS256", "secret"),
    ),
    un("kid /etc/passwd, attacker key", byAttacker(attacker.rsa, claims(), { kid: "/etc/passwd" })),
    un("kid of a trusted key, attacker's RS256", byAttacker(attacker.rsa, claims(), { kid: setup.kid ?? "soak-rsa" })),
    un("kid of a trusted key, attacker's ES256", byAttacker(attacker.ec, claims(), { kid: "soak-ec" })),
    un(
      "jku to the attacker's JWKS",
      byAttacker(attacker.rsa, claims(), { jku: "http://127.0.0.1:9/jwks.json", kid: "a" }),
    ),
    un("x5u to the attacker's certificate", byAttacker(attacker.rsa, claims(), { x5u: "http://127.0.0.1:9/cert.pem" })),
    un(
      "embedded jwk of the attacker's key",
      byAttacker(attacker.rsa, claims(), { jwk: publicJwk(attacker.rsa.publicKey) }),
    ),
    un("embedded jwk (EC)", byAttacker(attacker.ec, claims(), { jwk: publicJwk(attacker.ec.publicKey) })),
    un(
      "x5c with garbage",
      byAttacker(attacker.rsa, claims(), { x5c: ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"] }),
    ),
    un("crit exp, signed by the issuer", real(claims(), { crit: ["exp"] })),
    un("crit b64=false, signed by the issuer", real(claims(), { crit: ["b64"], b64: false })),
    un("crit unknown extension, signed by the issuer", real(claims(), { crit: ["x-soak"], "x-soak": 1 })),
    // Shapes of the compact form.
    un("header a JSON array", `${b64url("[]")}.${vPayload}.${vSignature}`),
    un("header not JSON", `${b64url("alg=HS256")}.${vPayload}.${vSignature}`),
    un("header not base64url", `!!!.${vPayload}.${vSignature}`),
    un("payload not JSON, signed", real("sub=admin")),
    un("payload a JSON array, signed", real("[]")),
    un("payload a JSON string, signed", real('"admin"')),
    un("payload null, signed", real("null")),
    un(
      "payload roles changed to admin, user's signature",
      `${validUser.split(".")[0]}.${vPayload}.${validUser.split(".")[2]}`,
    ),
    un("signature truncated", valid.slice(0, -4)),
    un("signature with one bit flipped", `${vHeader}.${vPayload}.${flipLast(vSignature)}`),
    un("signature empty", `${vHeader}.${vPayload}.`),
    un("signature not base64url", `${vHeader}.${vPayload}.${vSignature.slice(0, -2)}+/`),
    un("payload padded with =", `${vHeader}.${vPayload}==.${vSignature}`),
    un("two segments", `${vHeader}.${vPayload}`),
    un("four segments", `${valid}.${vSignature}`),
    un(
      "JWE-shaped (five segments)",
      `${b64url('{"alg":"dir","enc":"A256GCM"}')}..${b64url("iv")}.${vPayload}.${b64url("tag")}`,
    ),
    un("one segment", vPayload),
    un("dots only", ".."),
    // Claims the issuer signed but the kit must refuse.
    un("expired an hour ago", real(claims({ exp: now() - 3600 }))),
    un("expired beyond the clock skew", real(claims({ exp: now() - 45 }))),
    un("exp 0", real(claims({ exp: 0 }))),
    un("exp negative", real(claims({ exp: -1 }))),
    un("exp missing", real(claims({ exp: undefined }))),
    un("exp a string", real(claims({ exp: String(now() + 600) }))),
    un("nbf in an hour", real(claims({ nbf: now() + 3600 }))),
    un("nbf beyond the clock skew", real(claims({ nbf: now() + 120 }))),
    un("nbf a string", real(claims({ nbf: String(now()) }))),
    un("iat a string", real(claims({ iat: "yesterday" }))),
    un("wrong issuer", real(claims({ iss: "evil-issuer" }))),
    un("issuer missing", real(claims({ iss: undefined }))),
    un("issuer as a list", real(claims({ iss: [ISSUER] }))),
    un("issuer in other case", real(claims({ iss: ISSUER.toUpperCase() }))),
    un("issuer with a trailing space", real(claims({ iss: `${ISSUER} ` }))),
    un("wrong audience", real(claims({ aud: "someone-else" }))),
    un("audience missing", real(claims({ aud: undefined }))),
    un("audience list without ours", real(claims({ aud: ["a", "b"] }))),
    un("audience in other case", real(claims({ aud: AUDIENCE.toUpperCase() }))),
    un("subject missing", real(claims({ sub: undefined }))),
    un("subject empty", real(claims({ sub: "" }))),
    un("subject a number", real(claims({ sub: 42 }))),
    un("subject an object", real(claims({ sub: { id: "x" } }))),
    un("subject a list", real(claims({ sub: ["a"] }))),
    un("roles a string", real(claims({ roles: "admin" }))),
    un("roles an object", real(claims({ roles: { 0: "admin" } }))),
    un("roles [1]", real(claims({ roles: [1] }))),
    un("roles nested list", real(claims({ roles: [["admin"]] }))),
    un("roles a list of objects", real(claims({ roles: [{ name: "admin" }] }))),
    un("roles [null]", real(claims({ roles: [null] }))),
    un("roles true", real(claims({ roles: true }))),
    un("duplicate iss (last one wrong)", real(withDuplicates({}, '"iss":"evil-issuer"'))),
    un("duplicate exp (last one expired)", real(withDuplicates({}, `"exp":${now() - 3600}`))),
    un("duplicate aud (last one wrong)", real(withDuplicates({}, '"aud":"someone-else"'))),
    un("duplicate sub (last one empty)", real(withDuplicates({}, '"sub":""'))),
    un("duplicate roles (last one a string)", real(withDuplicates({ roles: ["user"] }, '"roles":"admin"'))),
    un(
      "duplicate roles, attacker's key",
      byAttacker(attacker.rsa, withDuplicates({ roles: ["user"] }, '"roles":["admin"]')),
    ),
    un("__proto__ payload member, attacker's key", byAttacker(attacker.rsa, payloadProto)),
    ...lookalikes.map(([what, roles]) =>
      un(`roles ${what}, attacker's key`, byAttacker(attacker.ec, claims({ roles }))),
    ),
    // Size.
    {
      ...un("4 KB token, attacker's key", byAttacker(attacker.rsa, claims({ pad: "x".repeat(3 * 1024) }))),
      via: "alone",
    },
    {
      ...k(
        "16 KB token, attacker's key",
        "transport",
        byAttacker(attacker.rsa, claims({ pad: "x".repeat(12 * 1024) })),
      ),
      via: "alone",
    },
    {
      ...k(
        "60 KB token, attacker's key",
        "transport",
        byAttacker(attacker.rsa, claims({ pad: "x".repeat(60 * 1024) })),
      ),
      via: "alone",
    },
    {
      ...k(
        "1 MB token, attacker's key",
        "transport",
        byAttacker(attacker.rsa, claims({ pad: "x".repeat(HUGE_TOKEN_BYTES) })),
      ),
      via: "alone",
    },
    // Signed by the issuer, roles that grant nothing: a valid identity without permissions.
    ...lookalikes.map(([what, roles]) =>
      k(`roles ${what}, signed by the issuer`, "permission_denied", real(claims({ roles }))),
    ),
    k("__proto__ payload member granting admin, signed by the issuer", "permission_denied", real(payloadProto)),
  ];
}

function flipLast(signature: string): string {
  const bytes = Buffer.from(signature, "base64url");
  bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 1;
  return bytes.toString("base64url");
}

/** The two calls every kind is sent as: a read of each service. */
const CALLS = [
  {
    service: "users",
    path: "/orderly.user.v1.UserService/GetUser",
    body: GetUserRequest.encode({ id: "usr_soak_missing" }).finish(),
  },
  {
    service: "orders",
    path: "/orderly.order.v1.OrderService/GetOrder",
    body: GetOrderRequest.encode({ id: "ord_soak_missing", includeEvents: false }).finish(),
  },
] as const;

// grpc-js shares one connection among clients of the same target unless told otherwise.
const OWN_CONNECTION = { "grpc.use_local_subchannel_pool": 1 };

const TOKEN_REASONS = new Set(["TOKEN_MISSING", "TOKEN_INVALID", "TOKEN_EXPIRED"]);

/** Whether the answer is the refusal `expect` asks for. */
function refusedAsExpected(expect: Expect, answer: Answer): boolean {
  if (expect === "unauthenticated")
    return answer.code === Code.UNAUTHENTICATED && TOKEN_REASONS.has(answer.reason) && answer.message.length > 0;
  if (expect === "permission_denied")
    return answer.code === Code.PERMISSION_DENIED && answer.reason === "PERMISSION_DENIED";
  return answer.code !== Code.OK && answer.code !== Code.NOT_FOUND;
}

async function run({ smoke, workDir, log }: ScenarioOptions): Promise<ScenarioResult> {
  const keyDir = mkdtempSync(join(tmpdir(), "orderly-soak-keys-"));
  const attacker: Attacker = {
    rsa: generateSigningKey("RS256"),
    ps: generateSigningKey("PS256"),
    ec: generateSigningKey("ES256"),
    ed: generateSigningKey("EdDSA"),
  };
  const failures: string[] = [];
  const outcomes = new Map<string, number>();
  const transportCodes = new Map<string, string>();
  let calls = 0;
  let accepted = 0;
  let kindCount = 0;
  let leaks = 0;
  const setupIds = smoke ? SETUPS_SMOKE : SETUPS_FULL;
  for (const id of setupIds) {
    const setup = makeSetup(id, keyDir);
    const serviceToken = forge(
      { alg: setup.alg, typ: "JWT", ...(setup.kid ? { kid: setup.kid } : {}) },
      claims({ sub: "svc-orders", roles: ["service"], exp: now() + 3600 }),
      setup.alg,
      setup.key,
    );
    const tokenFile = join(keyDir, `${id}-svc-orders.token`);
    writeFileSync(tokenFile, serviceToken, { mode: 0o600 });
    const pair = await startPair({ ...setup.env, SERVICE_TOKEN_FILE: tokenFile });
    const list = kinds(setup, attacker);
    kindCount = Math.max(kindCount, list.length);
    const secrets = new Set<string>([serviceToken]);
    try {
      const control = forge(
        { alg: setup.alg, typ: "JWT", ...(setup.kid ? { kid: setup.kid } : {}) },
        claims(),
        setup.alg,
        setup.key,
      );
      secrets.add(control);
      for (const call of CALLS) {
        const address = call.service === "users" ? pair.users.address : pair.orders.address;
        const client = rawClient(address, OWN_CONNECTION);
        const controlBefore = await rawUnary(
          client,
          call.path,
          call.body,
          metadataOf([["authorization", `Bearer ${control}`]]),
        );
        if (controlBefore.code !== Code.NOT_FOUND)
          failures.push(`${id} ${call.service}: a valid token was not accepted (${outcomeName(controlBefore)})`);
        const shared = list.filter((kind) => kind.via === undefined);
        const send = async (kind: Kind): Promise<Answer> => {
          const metadata = metadataOf(kind.headers.map((h) => ["authorization", h] as const));
          const own = rawClient(address, OWN_CONNECTION);
          try {
            return await rawUnary(own, call.path, call.body, metadata);
          } finally {
            own.close();
          }
        };
        const judge = (kind: Kind, answer: Answer) => {
          calls++;
          for (const header of kind.headers) secrets.add(header.replace(/^\S+ ?/, ""));
          const outcome = outcomeName(answer);
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          if (answer.code === Code.OK || answer.code === Code.NOT_FOUND) accepted++;
          if (kind.expect === "transport") transportCodes.set(kind.name, `${outcome}: ${answer.message.slice(0, 80)}`);
          if (!refusedAsExpected(kind.expect, answer))
            failures.push(
              `${id} ${call.service} "${kind.name}": expected ${kind.expect}, got ${outcome} (${answer.message.slice(0, 80)})`,
            );
        };
        for (let i = 0; i < shared.length; i += 8) {
          const batch = shared.slice(i, i + 8);
          const answers = await Promise.all(
            batch.map((kind) =>
              rawUnary(
                client,
                call.path,
                call.body,
                metadataOf(kind.headers.map((h) => ["authorization", h] as const)),
              ),
            ),
          );
          batch.forEach((kind, j) => judge(kind, answers[j] as Answer));
        }
        for (const kind of list.filter((kind) => kind.via !== undefined)) judge(kind, await send(kind));
        const controlAfter = await rawUnary(
          client,
          call.path,
          call.body,
          metadataOf([["authorization", `Bearer ${control}`]]),
        );
        if (controlAfter.code !== Code.NOT_FOUND)
          failures.push(
            `${id} ${call.service}: after the hostile tokens a valid one was not accepted (${outcomeName(controlAfter)})`,
          );
        client.close();
      }
    } finally {
      await pair.stop();
    }
    const output = pair.output();
    for (const secret of secrets)
      for (const part of [secret, ...secret.split(".")])
        if (part.length >= 16 && output.includes(part)) {
          leaks++;
          failures.push(`${id}: token text (${part.length} characters) appears in a service's output`);
          break;
        }
    if (failures.length > 0) pair.saveLogs(workDir, id);
    log(`${id}: ${list.length} kinds x 2 services sent; ${failures.length} failures so far`);
  }
  const fmt = (n: number) => n.toLocaleString("en-US");
  const byOutcome = [...outcomes].map(([o, n]) => `${o} ${fmt(n)}`).join(", ");
  const huge = transportCodes.get("1 MB token, attacker's key") ?? "not sent";
  return {
    passed: failures.length === 0,
    figures: {
      kinds: kindCount,
      keySetups: setupIds.join(","),
      calls,
      accepted,
      outcomes: byOutcome,
      hugeToken: huge,
      sixteenKbToken: transportCodes.get("16 KB token, attacker's key") ?? "not sent",
      sixtyKbToken: transportCodes.get("60 KB token, attacker's key") ?? "not sent",
      tokenTextInOutput: leaks,
    },
    summary:
      `${fmt(kindCount)} kinds x ${setupIds.length} key setups (${setupIds.join(", ")}) x 2 services = ${fmt(calls)} calls, ` +
      `${fmt(accepted)} accepted: ${byOutcome}; 1 MB token: ${huge}; token text in output: ${leaks}`,
    failures: failures.slice(0, 40),
  };
}
