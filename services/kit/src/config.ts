// Every setting an Orderly service reads, in one typed schema (zod): the environment, over an optional JSON file
// (CONFIG_FILE), checked at start-up so a mistake stops the process with one message naming the variable, instead of
// surfacing as NaN on the first call. This is the only module that reads process.env (test/architecture.test.ts holds
// that); the README's "Configuration" tables are checked against SETTINGS (test/config.e2e.test.ts).
import { readFileSync } from "node:fs";
import { z } from "zod";
import { DEV_PAGE_TOKEN_SECRET } from "./paging.js";
import { ROLE_PERMISSIONS } from "./permissions.js";
import { parseRateLimits, type RateLimit } from "./rate-limit.js";
import { DEV_JWT_SECRET } from "./token-verifier.js";

/** OTEL_TRACES_SAMPLER's values (the OpenTelemetry specification's, minus the Jaeger and X-Ray ones). */
export const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** Raw settings as the environment gives them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** What a setting's metadata says: its meaning, a default to show where the schema has none, and whether to hide it. */
interface SettingMeta {
  /** The README's "meaning" column. */
  description: string;
  /** The README's default when the schema has none (e.g. "a development secret"). */
  shownDefault?: string;
  /** Never echoed in an error message (keys, URLs with passwords). */
  secret?: boolean;
  /** Read from the environment only, never from CONFIG_FILE. */
  envOnly?: boolean;
}

const wholeNumber = (unit: string, min = 0) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number of ${unit}`)
    .transform(Number)
    .refine((n) => n >= min && Number.isSafeInteger(n), `must be a whole number of ${unit}, at least ${min}`);

const PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/;
const hostPort = (what: string) =>
  z
    .string()
    .refine(
      (value) => value.startsWith("unix:") || Number(PORT.exec(value)?.[1] ?? NaN) <= 65_535,
      `must be ${what}: host:port (e.g. 127.0.0.1:50051, 0.0.0.0:50051, [::]:50051; port 0 picks one) or unix:/path`,
    );

const dbSchema = z.string().regex(/^[a-z_][a-z0-9_]*$/, "must be a lower-case SQL identifier (a-z, 0-9, _)");

const list = (what: string, item: RegExp) =>
  z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean),
    )
    .refine(
      (items) => items.length > 0 && items.every((i) => item.test(i)),
      `must be a comma-separated list of ${what}`,
    );

// "<identity>=<role>[+<role>...]"; the identity is a URI SAN (spiffe://...) or a CN, without "=" or ",".
const PEER_ROLE = /^[^=,\s]+=[a-z]+(?:\+[a-z]+)*$/;

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Settings every service reads. */
const common = {
  CONFIG_FILE: z.string().optional().meta({
    description: 'a JSON file of settings (`{"LOG_LEVEL": "debug"}`); the environment overrides it',
    envOnly: true,
  }),
  NODE_ENV: z.string().default("development").meta({
    description: "`production` refuses the development secrets and requires their replacements",
    envOnly: true,
  }),
  LOG_LEVEL: z
    .enum(LOG_LEVELS)
    .default("info")
    .meta({ description: `pino level: ${LOG_LEVELS.join(", ")}` }),
  LOG_FORMAT: z.enum(["auto", "json", "pretty"]).default("auto").meta({
    description:
      "`auto`: pino-pretty when stdout is a terminal and NODE_ENV is development, else one JSON object a line",
  }),
  DATA_DIR: z.string().default("data").meta({ description: "where the embedded SQLite files live" }),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(?:ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional()
    .meta({
      description: "PostgreSQL connection URL; when set, the service stores there instead of SQLite",
      secret: true,
    }),
  JWT_SECRET: z.string().optional().meta({
    description: "HS256 key (at least 32 bytes). Refused in production when unset",
    shownDefault: "a development secret",
    secret: true,
  }),
  JWT_PUBLIC_KEY_FILE: z.string().optional().meta({ description: "PEM public key (RS256, ES256 or EdDSA)" }),
  JWT_JWKS_FILE: z.string().optional().meta({ description: "a JWKS JSON file (wins over the two above)" }),
  JWT_ALGORITHMS: list("algorithm names (HS256, RS256, ES256, EdDSA, ...)", /^[A-Za-z0-9]+$/)
    .optional()
    .meta({ description: "comma-separated allow-list", shownDefault: "per key" }),
  JWT_ISSUER: z.string().default("orderly-dev").meta({ description: "the `iss` every token must carry" }),
  JWT_AUDIENCE: z.string().default("orderly").meta({ description: "the `aud` every token must include" }),
  JWT_CLOCK_SKEW_SECONDS: wholeNumber("seconds").default(30).meta({ description: "tolerance on `exp` / `nbf`" }),
  PAGE_TOKEN_SECRET: z.string().optional().meta({
    description: "HMAC key of page tokens; replicas must share it. In production required, at least 32 bytes",
    shownDefault: "a development secret",
    secret: true,
  }),
  SHUTDOWN_DRAIN_MS: wholeNumber("milliseconds").default(1_000).meta({
    description: "on SIGTERM/SIGINT, how long the server keeps serving after health turns NOT_SERVING",
  }),
  SHUTDOWN_GRACE_MS: wholeNumber("milliseconds", 1).default(10_000).meta({
    description: "the longest a stop takes, from the signal to the exit (drain included)",
  }),
  // Observability and rate limiting (metrics.ts, tracing.ts, rate-limit.ts): all off unless set.
  METRICS_ADDRESS: hostPort("an address for the metrics endpoint")
    .refine((value) => !value.startsWith("unix:"), "must be host:port: Prometheus scrapes over TCP")
    .optional()
    .meta({ description: "where Prometheus metrics are served (http://ADDRESS/metrics); off when unset" }),
  RATE_LIMITS: z
    .string()
    .transform((spec, ctx): RateLimit[] => {
      try {
        return parseRateLimits(spec);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    })
    .optional()
    .meta({ description: "token buckets per caller and method, e.g. `*=100/s,CreateOrder=5/s:10`; off when unset" }),
  // OpenTelemetry's standard variables (their names and meanings are the specification's), passed to the SDK.
  OTEL_TRACES_EXPORTER: z
    .enum(["otlp", "console", "none"])
    .default("none")
    .meta({ description: "where spans go: `otlp` (OTLP/HTTP), `console` (stdout) or `none` (tracing off)" }),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .regex(/^https?:\/\/\S+$/, "must be an http:// or https:// URL")
    .optional()
    .meta({
      description: "the OTLP/HTTP collector; spans go to its /v1/traces",
      shownDefault: "`http://localhost:4318`",
    }),
  OTEL_SERVICE_NAME: z
    .string()
    .optional()
    .meta({ description: "the spans' service.name", shownDefault: "`users` / `orders`" }),
  OTEL_TRACES_SAMPLER: z
    .enum(SAMPLERS)
    .default("parentbased_always_on")
    .meta({ description: "which traces are recorded: `parentbased_*` follow the caller's sampled flag" }),
  OTEL_TRACES_SAMPLER_ARG: z
    .string()
    .regex(/^(?:0(?:\.\d+)?|1(?:\.0+)?)$/, "must be a ratio from 0 to 1")
    .transform(Number)
    .default(1)
    .meta({ description: "the ratio of the `traceidratio` samplers" }),
};

/** Settings of UserService only. */
const users = {
  USERS_ADDRESS: hostPort("an address to listen on")
    .default("127.0.0.1:50051")
    .meta({ description: 'where UserService listens (see "Listening beyond 127.0.0.1")' }),
  USERS_DB_SCHEMA: dbSchema.default("users").meta({ description: "UserService's PostgreSQL schema" }),
};

/** Settings of OrderService only. */
const orders = {
  ORDERS_ADDRESS: hostPort("an address to listen on")
    .default("127.0.0.1:50052")
    .meta({ description: "where OrderService listens" }),
  ORDERS_DB_SCHEMA: dbSchema.default("orders").meta({ description: "OrderService's PostgreSQL schema" }),
  USERS_TARGET: list("host:port addresses", PORT)
    .default(["127.0.0.1:50051"])
    .meta({ description: "UserService address(es); a comma list is load-balanced round-robin" }),
  SERVICE_TOKEN_FILE: z.string().optional().meta({
    description:
      "OrderService's own token (role `service`) for UserService; required unless USERS_TLS_CERT_FILE is set",
    shownDefault: "written by `npm start` in development",
  }),
  CURRENCIES: list("CODE:EXPONENT entries (ISO 4217, exponent 0-4), e.g. USD:2,JPY:0", /^[A-Za-z]{3}:[0-4]$/)
    .default(["USD:2", "EUR:2", "GBP:2"])
    .meta({ description: "accepted ISO 4217 codes with their minor-unit exponents" }),
  WATCH_HEARTBEAT_MS: wholeNumber("milliseconds", 1)
    .default(30_000)
    .meta({ description: "WatchOrders heartbeat interval while idle" }),
  // Slow consumers (soak row slow-consumers): how far a watcher may fall behind before it is ended.
  WATCH_QUEUE_LIMIT: wholeNumber("events", 1).default(1_000).meta({
    description:
      "live events buffered per WatchOrders stream for a reader that is not keeping up; one more ends it with WATCH_TOO_SLOW",
  }),
  // TLS to UserService (tls.ts clientCredentialsOf): on when USERS_TLS_CA_FILE is set.
  USERS_TLS_CA_FILE: z.string().optional().meta({
    description: "PEM CA bundle UserService's certificate must chain to; setting it turns TLS on for the call",
  }),
  USERS_TLS_CERT_FILE: z.string().optional().meta({
    description: "OrderService's client certificate (PEM chain) for mTLS to UserService; its identity is a caller",
  }),
  USERS_TLS_KEY_FILE: z.string().optional().meta({ description: "the private key (PEM) of USERS_TLS_CERT_FILE" }),
  USERS_TLS_SERVER_NAME: z
    .string()
    .optional()
    .meta({ description: "the name UserService's certificate must carry, when USERS_TARGET's host is not it" }),
};

/**
 * Connection limits of every server (grpc-js server options; connection.ts maps them). 0 turns a timer off. Only
 * options grpc-js's server reads are here: it has no ping-abuse policy (grpc.http2.min_ping_interval_without_data_ms,
 * grpc.keepalive_permit_without_calls and grpc.http2.max_pings_without_data are client options or unread).
 */
const connection = {
  GRPC_MAX_RECEIVE_MESSAGE_BYTES: wholeNumber("bytes", 1)
    .default(4 * 1024 * 1024)
    .meta({ description: "largest request message; a bigger one is refused with RESOURCE_EXHAUSTED" }),
  GRPC_MAX_SEND_MESSAGE_BYTES: wholeNumber("bytes", 1)
    .default(4 * 1024 * 1024)
    .meta({ description: "largest response message; a bigger one fails the call with RESOURCE_EXHAUSTED" }),
  GRPC_MAX_CONCURRENT_STREAMS: wholeNumber("streams", 1)
    .default(1_000)
    .meta({ description: "calls open at once on one connection (HTTP/2 SETTINGS); a client queues the rest" }),
  GRPC_KEEPALIVE_TIME_MS: wholeNumber("milliseconds")
    .default(60_000)
    .meta({ description: "the server pings each connection this often, to find dead peers (0: never)" }),
  GRPC_KEEPALIVE_TIMEOUT_MS: wholeNumber("milliseconds", 1)
    .default(20_000)
    .meta({ description: "a ping unanswered this long closes the connection" }),
  GRPC_MAX_CONNECTION_IDLE_MS: wholeNumber("milliseconds")
    .default(300_000)
    .meta({ description: "a connection without calls this long gets a GOAWAY and is closed (0: never)" }),
  GRPC_MAX_CONNECTION_AGE_MS: wholeNumber("milliseconds")
    .default(1_800_000)
    .meta({ description: "a connection this old (+-10% jitter) gets a GOAWAY, so clients rebalance (0: never)" }),
  GRPC_MAX_CONNECTION_AGE_GRACE_MS: wholeNumber("milliseconds").default(60_000).meta({
    description: "after the age GOAWAY, how long calls still open may run before the connection is cut (0: no limit)",
  }),
};

/** TLS of every server (tls.ts). Without TLS_CERT_FILE a server speaks plaintext (loopback or a trusted network). */
const tls = {
  TLS_CERT_FILE: z.string().optional().meta({
    description: "PEM certificate chain the server presents; with TLS_KEY_FILE, the server speaks TLS only",
  }),
  TLS_KEY_FILE: z.string().optional().meta({ description: "the private key (PEM) of TLS_CERT_FILE" }),
  TLS_CA_FILE: z
    .string()
    .optional()
    .meta({ description: "PEM CA bundle client certificates must chain to (mTLS); needed by TLS_CLIENT_AUTH" }),
  TLS_CLIENT_AUTH: z.enum(["none", "request", "require"]).default("none").meta({
    description:
      "client certificates: `none` not asked for; `request` asked for, checked when sent; `require` no connection without one",
  }),
  TLS_RELOAD_MS: wholeNumber("milliseconds").default(60_000).meta({
    description:
      "how often the TLS files are read again, so rotated certificates are served without a restart (0: never)",
  }),
  TLS_PEER_ROLES: list("identity=role entries (roles joined with +), e.g. spiffe://orderly/orders=service", PEER_ROLE)
    .optional()
    .meta({
      description:
        "the caller a verified client certificate's identity (URI SAN, else CN) is, for calls without a token",
    }),
};

// RFC 7518 §3.2: an HMAC key must be at least as long as the hash; a short secret can be brute-forced offline (and
// forged page tokens would let a caller choose cursors).
const MIN_PRODUCTION_SECRET_BYTES = 32;

type CommonInput = z.output<z.ZodObject<typeof common>>;

function productionRules(config: CommonInput, ctx: z.RefinementCtx): void {
  if (config.NODE_ENV !== "production") return;
  const keyless = !config.JWT_JWKS_FILE && !config.JWT_PUBLIC_KEY_FILE;
  if (keyless && (config.JWT_SECRET === undefined || config.JWT_SECRET === DEV_JWT_SECRET)) {
    ctx.addIssue({
      code: "custom",
      path: ["JWT_SECRET"],
      message:
        "NODE_ENV=production but no token key is configured: set JWT_JWKS_FILE, JWT_PUBLIC_KEY_FILE or JWT_SECRET " +
        "(the development secret is refused in production)",
    });
  }
  const page = config.PAGE_TOKEN_SECRET;
  if (page === undefined || page === DEV_PAGE_TOKEN_SECRET) {
    ctx.addIssue({
      code: "custom",
      path: ["PAGE_TOKEN_SECRET"],
      message: "NODE_ENV=production but PAGE_TOKEN_SECRET is not set (the development secret is refused in production)",
    });
  } else if (Buffer.byteLength(page) < MIN_PRODUCTION_SECRET_BYTES) {
    ctx.addIssue({
      code: "custom",
      path: ["PAGE_TOKEN_SECRET"],
      message: `must be at least ${MIN_PRODUCTION_SECRET_BYTES} bytes in production`,
    });
  }
}

type TlsInput = z.output<z.ZodObject<typeof tls>>;

function tlsRules(config: TlsInput, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
  if (Boolean(config.TLS_CERT_FILE) !== Boolean(config.TLS_KEY_FILE))
    issue(config.TLS_CERT_FILE ? "TLS_KEY_FILE" : "TLS_CERT_FILE", "TLS_CERT_FILE and TLS_KEY_FILE go together");
  if (config.TLS_CLIENT_AUTH !== "none" && !(config.TLS_CA_FILE && config.TLS_CERT_FILE))
    issue("TLS_CLIENT_AUTH", `is ${config.TLS_CLIENT_AUTH}: client certificates need TLS_CERT_FILE and TLS_CA_FILE`);
  if (config.TLS_PEER_ROLES && config.TLS_CLIENT_AUTH === "none")
    issue("TLS_PEER_ROLES", "needs TLS_CLIENT_AUTH request or require: no client certificate is asked for");
  for (const entry of config.TLS_PEER_ROLES ?? []) {
    const unknown = entry
      .slice(entry.lastIndexOf("=") + 1)
      .split("+")
      .filter((role) => !Object.hasOwn(ROLE_PERMISSIONS, role));
    if (unknown.length > 0) issue("TLS_PEER_ROLES", `${entry}: no such role ${unknown.join(", ")}`);
  }
}

type OrdersInput = z.output<z.ZodObject<typeof orders>>;

function ordersRules(config: OrdersInput, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
  if (!config.SERVICE_TOKEN_FILE && !config.USERS_TLS_CERT_FILE)
    issue(
      "SERVICE_TOKEN_FILE",
      'is not set: OrderService needs a token of its own (role "service") to call UserService, or a client ' +
        "certificate (USERS_TLS_CERT_FILE); `npm start` provides a development token",
    );
  const usesTls = config.USERS_TLS_CERT_FILE || config.USERS_TLS_KEY_FILE || config.USERS_TLS_SERVER_NAME;
  if (usesTls && !config.USERS_TLS_CA_FILE)
    issue("USERS_TLS_CA_FILE", "is not set: TLS to UserService needs the CA its certificate chains to");
  if (Boolean(config.USERS_TLS_CERT_FILE) !== Boolean(config.USERS_TLS_KEY_FILE))
    issue(
      config.USERS_TLS_CERT_FILE ? "USERS_TLS_KEY_FILE" : "USERS_TLS_CERT_FILE",
      "USERS_TLS_CERT_FILE and USERS_TLS_KEY_FILE go together",
    );
}

const server = { ...common, ...connection, ...tls };
const schemas = {
  common: z.object(server).superRefine(productionRules).superRefine(tlsRules),
  users: z
    .object({ ...server, ...users })
    .superRefine(productionRules)
    .superRefine(tlsRules),
  orders: z
    .object({ ...server, ...orders })
    .superRefine(productionRules)
    .superRefine(tlsRules)
    .superRefine(ordersRules),
};

/** Whose settings: "common" (what every service reads), or one service's (common plus its own). */
export type ConfigScope = keyof typeof schemas;
/** The typed, validated settings of a scope, named as their environment variables. */
export type Config<S extends ConfigScope = "common"> = z.output<(typeof schemas)[S]>;

/** One setting, as the README's configuration tables list it. */
export interface Setting {
  readonly name: string;
  /** "common" for every service, else the one service that reads it. */
  readonly scope: ConfigScope;
  readonly description: string;
  /** The default as the README shows it ("" for none). */
  readonly shownDefault: string;
  readonly secret: boolean;
  readonly envOnly: boolean;
}

/** A default or file value as the environment would spell it: lists comma-joined, numbers and booleans as text. */
function scalar(value: unknown): string {
  if (Array.isArray(value)) return value.map(scalar).join(",");
  return typeof value === "string" ? value : JSON.stringify(value);
}

function settingsOf(scope: ConfigScope, shape: Record<string, z.ZodType>): Setting[] {
  return Object.entries(shape).map(([name, schema]) => {
    const meta = schema.meta() as unknown as SettingMeta;
    const def = schema.def as { type: string; defaultValue?: unknown };
    const value = def.type === "default" ? def.defaultValue : undefined;
    const shown = value === undefined ? undefined : scalar(value);
    return {
      name,
      scope,
      description: meta.description,
      shownDefault: meta.shownDefault ?? (shown === undefined ? "" : `\`${shown}\``),
      secret: meta.secret === true,
      envOnly: meta.envOnly === true,
    };
  });
}

/** Every setting, in the order the README lists them. */
export const SETTINGS: readonly Setting[] = [
  ...settingsOf("common", common),
  ...settingsOf("common", connection),
  ...settingsOf("common", tls),
  ...settingsOf("users", users),
  ...settingsOf("orders", orders),
];

/** A setting was missing or malformed; the message names each variable, where it came from and what is wrong. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * The settings of `scope`, from `env` over the JSON file CONFIG_FILE names; throws ConfigError listing every problem.
 * Empty values count as unset, and values are trimmed.
 */
export function loadConfig<S extends ConfigScope = "common">(
  scope: S = "common" as S,
  env: Env = process.env,
): Config<S> {
  const fromEnv: Record<string, string> = {};
  for (const { name } of SETTINGS) {
    const value = env[name]?.trim();
    if (value) fromEnv[name] = value;
  }
  const file = fromEnv.CONFIG_FILE;
  const fromFile = file === undefined ? {} : readSettingsFile(file);
  const result = schemas[scope].safeParse({ ...fromFile, ...fromEnv });
  if (result.success) return result.data as Config<S>;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? "");
    const setting = SETTINGS.find((s) => s.name === name);
    const raw = fromEnv[name] ?? fromFile[name];
    const source = name in fromEnv ? "environment" : name in fromFile ? `CONFIG_FILE ${file ?? ""}` : undefined;
    const shown = raw === undefined || setting?.secret ? "" : `=${JSON.stringify(raw)}`;
    return `${name}${shown}${source ? ` (${source})` : ""}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
}

function readSettingsFile(path: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError(`invalid configuration: CONFIG_FILE ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new ConfigError(`invalid configuration: CONFIG_FILE ${path}: must hold one JSON object of settings`);
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    const setting = SETTINGS.find((s) => s.name === name);
    const problem = !setting
      ? "is not an Orderly setting"
      : setting.envOnly
        ? "is read from the environment only"
        : !["string", "number", "boolean"].includes(typeof value) &&
            !(Array.isArray(value) && value.every((v) => typeof v === "string"))
          ? "must be a string, number, boolean or array of strings"
          : undefined;
    if (problem) throw new ConfigError(`invalid configuration: CONFIG_FILE ${path}: ${name} ${problem}`);
    settings[name] = scalar(value);
  }
  return settings;
}

/** loadConfig for a service's start-up: on a ConfigError prints it to stderr and exits with status 1. */
export function loadConfigOrExit<S extends ConfigScope>(scope: S): Config<S> {
  try {
    return loadConfig(scope);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${scope}: ${error.message}\n`);
    process.exit(1);
  }
}
