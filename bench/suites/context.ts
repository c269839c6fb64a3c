// What every benchmark suite gets from the runner, and the processes they share: the real UserService and
// OrderService (their main.ts, as shipped) and the bare baseline server.
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Profile } from "../lib/profile.js";
import { SERVICE_NODE_FLAGS, USERS_NODE_FLAGS } from "../../services/node-flags.mjs";
import { startServer, type RunningServer, type StartOptions } from "../lib/processes.js";

/** Shared state of one benchmark session. */
export interface SuiteContext {
  profile: Profile;
  runs: number;
  /** Temporary working directory (data files); removed at the end. */
  workDir: string;
  /** Where server logs go (kept after the run). */
  logDir: string;
  /** DATA_DIR holding users.sqlite seeded with profile.users fixture users. */
  usersDataDir: string;
  /** An admin token the servers accept (testToken with TEST_AUTH). */
  token: string;
  /** JWT_SECRET / JWT_ISSUER / JWT_AUDIENCE matching TEST_AUTH. */
  authEnv: Record<string, string>;
  /** Progress output (stderr). */
  progress(message: string): void;
}

const COMMON_ENV = { SHUTDOWN_GRACE_MS: "2000" };

/** The real UserService process (services/users/src/main.ts, bundled as npm run build does) on the seeded data. */
export function startUsers(ctx: SuiteContext, logName: string, options?: StartOptions): Promise<RunningServer> {
  return startServer(
    "users",
    "bench/results/dist/users.mjs",
    {
      ...ctx.authEnv,
      ...COMMON_ENV,
      DATA_DIR: ctx.usersDataDir,
      USERS_ADDRESS: "127.0.0.1:0",
    },
    join(ctx.logDir, `${logName}.log`),
    { ...options, nodeFlags: USERS_NODE_FLAGS },
  );
}

/** The real OrderService process (services/orders/src/main.ts, bundled) on a fresh data directory, calling `users`. */
export function startOrders(ctx: SuiteContext, users: RunningServer, logName: string): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(ctx.workDir, "orders-"));
  return startServer(
    "orders",
    "bench/results/dist/orders.mjs",
    {
      ...ctx.authEnv,
      ...COMMON_ENV,
      DATA_DIR: dataDir,
      ORDERS_ADDRESS: "127.0.0.1:0",
      USERS_TARGET: users.address,
    },
    join(ctx.logDir, `${logName}.log`),
    { nodeFlags: SERVICE_NODE_FLAGS },
  );
}

/**
 * The bare grpc-js baseline (bench/servers/bare-users.ts, bundled the same way); with `sqlite`, GetUser reads the
 * seeded users.sqlite as Orderly does instead of an in-memory Map.
 */
export function startBareUsers(
  ctx: SuiteContext,
  logName: string,
  streamUsers: number,
  options: StartOptions & { sqlite?: boolean } = {},
): Promise<RunningServer> {
  return startServer(
    "bare",
    "bench/results/dist/bare-users.mjs",
    {
      BARE_STREAM_USERS: String(streamUsers),
      ...(options.sqlite ? { BARE_USERS_DB: join(ctx.usersDataDir, "users.sqlite") } : {}),
    },
    join(ctx.logDir, `${logName}.log`),
    options,
  );
}

/** The bare grpc-js WatchOrders baseline (bench/servers/bare-orders.ts, bundled the same way). */
export function startBareOrders(ctx: SuiteContext, logName: string): Promise<RunningServer> {
  return startServer("bare-orders", "bench/results/dist/bare-orders.mjs", {}, join(ctx.logDir, `${logName}.log`));
}

/** Counts the per-call log lines of an Orderly process by status code (read after it stopped, so all are flushed). */
export function callsByCode(logFile: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of readFileSync(logFile, "utf8").matchAll(/"code":"([A-Z_]+)"[^\n]*"msg":"call"/g)) {
    counts[match[1]!] = (counts[match[1]!] ?? 0) + 1;
  }
  return counts;
}

/** Throws unless every logged call of the process ended OK: load generators must not count failures as work. */
export function requireAllOk(server: RunningServer): number {
  const counts = callsByCode(server.logFile);
  const failed = Object.entries(counts).filter(([code]) => code !== "OK");
  if (failed.length > 0)
    throw new Error(`${server.name} logged failed calls: ${JSON.stringify(counts)} (see ${server.logFile})`);
  return counts.OK ?? 0;
}

/** Makes a directory (and parents). */
export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}
