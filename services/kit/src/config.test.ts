import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, SETTINGS } from "./config.js";

const dir = mkdtempSync(join(tmpdir(), "orderly-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A CONFIG_FILE holding `settings`. */
function configFile(settings: unknown): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(settings));
  return path;
}

const errorOf = (load: () => unknown): string => {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("loadConfig did not throw");
};

describe("loadConfig", () => {
  it("needs nothing for the development defaults of UserService", () => {
    expect(loadConfig("users", {})).toMatchObject({
      NODE_ENV: "development",
      LOG_LEVEL: "info",
      DATA_DIR: "data",
      USERS_ADDRESS: "127.0.0.1:50051",
      USERS_DB_SCHEMA: "users",
      SHUTDOWN_GRACE_MS: 10_000,
      SHUTDOWN_DRAIN_MS: 1_000,
      JWT_CLOCK_SKEW_SECONDS: 30,
    });
  });

  it("parses typed values: numbers, lists, trimmed strings; empty counts as unset", () => {
    const config = loadConfig("orders", {
      SERVICE_TOKEN_FILE: " /run/secrets/svc.token ",
      USERS_TARGET: "10.0.0.1:50051, [::1]:50061",
      CURRENCIES: "usd:2,JPY:0",
      WATCH_HEARTBEAT_MS: "250",
      LOG_LEVEL: "",
    });
    expect(config).toMatchObject({
      SERVICE_TOKEN_FILE: "/run/secrets/svc.token",
      USERS_TARGET: ["10.0.0.1:50051", "[::1]:50061"],
      CURRENCIES: ["usd:2", "JPY:0"],
      WATCH_HEARTBEAT_MS: 250,
      LOG_LEVEL: "info",
    });
  });

  it("reads only the scope's settings: a bad OrderService setting does not stop UserService", () => {
    expect(() => loadConfig("users", { WATCH_HEARTBEAT_MS: "soon" })).not.toThrow();
    expect(errorOf(() => loadConfig("orders", { SERVICE_TOKEN_FILE: "t", WATCH_HEARTBEAT_MS: "soon" }))).toBe(
      'invalid configuration: WATCH_HEARTBEAT_MS="soon" (environment): must be a whole number of milliseconds',
    );
  });

  it("names every bad variable, where it came from and what is wrong, in one message", () => {
    const message = errorOf(() =>
      loadConfig("users", { LOG_LEVEL: "loud", USERS_ADDRESS: "localhost", SHUTDOWN_GRACE_MS: "0" }),
    );
    expect(message).toMatch(/^invalid configuration: /);
    expect(message).toContain('LOG_LEVEL="loud" (environment): ');
    expect(message).toContain('USERS_ADDRESS="localhost" (environment): must be an address to listen on: host:port');
    expect(message).toContain(
      'SHUTDOWN_GRACE_MS="0" (environment): must be a whole number of milliseconds, at least 1',
    );
  });

  it("requires SERVICE_TOKEN_FILE of OrderService instead of minting a token from the signing secret", () => {
    expect(errorOf(() => loadConfig("orders", { JWT_SECRET: "a-shared-secret-of-at-least-32-bytes!!" }))).toMatch(
      /^invalid configuration: SERVICE_TOKEN_FILE: is not set: OrderService needs a token of its own/,
    );
  });

  it("never echoes a secret's value", () => {
    const secret = "postgres://orderly:hunter2@db";
    const message = errorOf(() => loadConfig("common", { DATABASE_URL: secret.replace("postgres", "mysql") }));
    expect(message).toBe(
      "invalid configuration: DATABASE_URL (environment): must be a postgres:// or postgresql:// URL",
    );
    const production = errorOf(() =>
      loadConfig("common", { NODE_ENV: "production", JWT_SECRET: "j".repeat(32), PAGE_TOKEN_SECRET: "hunter2" }),
    );
    expect(production).toBe(
      "invalid configuration: PAGE_TOKEN_SECRET (environment): must be at least 32 bytes in production",
    );
  });

  it("in production refuses the development secrets", () => {
    const message = errorOf(() => loadConfig("common", { NODE_ENV: "production" }));
    expect(message).toContain("JWT_SECRET: NODE_ENV=production but no token key is configured");
    expect(message).toContain("PAGE_TOKEN_SECRET: NODE_ENV=production but PAGE_TOKEN_SECRET is not set");
    const strong = { NODE_ENV: "production", JWT_SECRET: "j".repeat(32), PAGE_TOKEN_SECRET: "p".repeat(32) };
    expect(loadConfig("common", strong).NODE_ENV).toBe("production");
  });
});

describe("observability and rate-limit settings", () => {
  it("are off by default", () => {
    const config = loadConfig("common", {});
    expect(config.METRICS_ADDRESS).toBeUndefined();
    expect(config.RATE_LIMITS).toBeUndefined();
    expect(config.OTEL_TRACES_EXPORTER).toBe("none");
    expect(config.OTEL_TRACES_SAMPLER).toBe("parentbased_always_on");
    expect(config.OTEL_TRACES_SAMPLER_ARG).toBe(1);
  });

  it("parse RATE_LIMITS into limits and the sampler ratio into a number", () => {
    const config = loadConfig("common", { RATE_LIMITS: "*=100/s,CreateOrder=5/m:10", OTEL_TRACES_SAMPLER_ARG: "0.25" });
    expect(config.RATE_LIMITS?.map((l) => [l.method, l.spec])).toEqual([
      ["*", "100/s"],
      ["CreateOrder", "5/m:10"],
    ]);
    expect(config.OTEL_TRACES_SAMPLER_ARG).toBe(0.25);
  });

  it("name each bad one", () => {
    const message = errorOf(() =>
      loadConfig("common", {
        RATE_LIMITS: "GetUser=5",
        METRICS_ADDRESS: "unix:/tmp/metrics.sock",
        OTEL_TRACES_EXPORTER: "jaeger",
        OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318",
        OTEL_TRACES_SAMPLER_ARG: "1.5",
      }),
    );
    expect(message).toContain('RATE_LIMITS="GetUser=5" (environment): "GetUser=5" is not METHOD=COUNT/UNIT[:BURST]');
    expect(message).toContain("METRICS_ADDRESS");
    expect(message).toContain("Prometheus scrapes over TCP");
    expect(message).toContain('OTEL_TRACES_EXPORTER="jaeger"');
    expect(message).toContain("OTEL_EXPORTER_OTLP_ENDPOINT");
    expect(message).toContain("OTEL_TRACES_SAMPLER_ARG");
  });
});

describe("CONFIG_FILE", () => {
  it("supplies settings the environment does not set; the environment wins", () => {
    const file = configFile({ LOG_LEVEL: "debug", SHUTDOWN_DRAIN_MS: 250, USERS_TARGET: ["a:1", "b:2"] });
    expect(loadConfig("orders", { CONFIG_FILE: file, SERVICE_TOKEN_FILE: "t" })).toMatchObject({
      LOG_LEVEL: "debug",
      SHUTDOWN_DRAIN_MS: 250,
      USERS_TARGET: ["a:1", "b:2"],
    });
    expect(loadConfig("users", { CONFIG_FILE: file, LOG_LEVEL: "warn" }).LOG_LEVEL).toBe("warn");
  });

  it("says which file a bad value came from", () => {
    const file = configFile({ SHUTDOWN_DRAIN_MS: -5 });
    expect(errorOf(() => loadConfig("users", { CONFIG_FILE: file }))).toBe(
      `invalid configuration: SHUTDOWN_DRAIN_MS="-5" (CONFIG_FILE ${file}): must be a whole number of milliseconds`,
    );
    // The environment's good value hides the file's bad one.
    expect(loadConfig("users", { CONFIG_FILE: file, SHUTDOWN_DRAIN_MS: "5" }).SHUTDOWN_DRAIN_MS).toBe(5);
  });

  it("refuses unknown names (a typo would silently do nothing), env-only settings, nesting and bad JSON", () => {
    expect(errorOf(() => loadConfig("users", { CONFIG_FILE: configFile({ LOG_LEVLE: "debug" }) }))).toMatch(
      /CONFIG_FILE .*: LOG_LEVLE is not an Orderly setting$/,
    );
    expect(errorOf(() => loadConfig("users", { CONFIG_FILE: configFile({ NODE_ENV: "production" }) }))).toMatch(
      /NODE_ENV is read from the environment only$/,
    );
    expect(errorOf(() => loadConfig("users", { CONFIG_FILE: configFile({ DATA_DIR: { path: "x" } }) }))).toMatch(
      /DATA_DIR must be a string, number, boolean or array of strings$/,
    );
    expect(errorOf(() => loadConfig("users", { CONFIG_FILE: configFile([1]) }))).toMatch(/one JSON object/);
    expect(errorOf(() => loadConfig("users", { CONFIG_FILE: join(dir, "missing.json") }))).toMatch(
      /^invalid configuration: CONFIG_FILE .*missing\.json: ENOENT/,
    );
  });
});

describe("SETTINGS", () => {
  it("describes every setting once, with a meaning", () => {
    const names = SETTINGS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const setting of SETTINGS) expect(setting.description.length, setting.name).toBeGreaterThan(10);
    expect(SETTINGS.find((s) => s.name === "WATCH_HEARTBEAT_MS")).toMatchObject({
      scope: "orders",
      shownDefault: "`30000`",
    });
  });
});
