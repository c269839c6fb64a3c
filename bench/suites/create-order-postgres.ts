// 3b. CreateOrder with OrderService on PostgreSQL, two replicas sharing a fresh database, against GetUser on SQLite,
// both in the same run. UserService is the real process on the seeded SQLite file (as in row 3); the two OrderService
// replicas are real processes with DATABASE_URL pointing at a database created for the run and dropped after it (also
// when the run fails). The Node load generator splits its callers evenly over the two replicas (caller k always calls
// replica k mod 2, one connection per replica). PostgreSQL is required: unreachable fails the suite, never skips it.
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import type { UnaryResult } from "../load/unary.js";
import { fixtureUserId } from "../lib/fixture.js";
import {
  backendCpuUsed,
  benchPostgresUrl,
  createBenchDatabase,
  markBackends,
  postgresPids,
  sampleActivity,
  type ActivityCounts,
} from "../lib/postgres.js";
import { cpuPercent, foreignPercent, markCpu } from "../lib/proc-stats.js";
import { runLoad, startServer, type RunningServer } from "../lib/processes.js";
import { detail, type SuiteReport } from "../lib/report.js";
import { spread } from "../lib/stats.js";
import { requireAllOk, startUsers, type SuiteContext } from "./context.js";
import { SERVICE_NODE_FLAGS } from "../../services/node-flags.mjs";

const REPLICAS = 2;

interface Phase {
  load: UnaryResult;
  /** Server CPU in the measured window, % of one core, by process name (orders-a, orders-b, users). */
  serverCpuPercent: Record<string, number>;
  /** Other processes' use of the server core during the window, % (PostgreSQL included when it ran there). */
  foreignPercent: number;
  /** CPU of the run database's PostgreSQL backends in the window, % of one core (NaN when not found in /proc). */
  postgresCpuPercent: number;
  /** CPU of the cluster's walwriter, checkpointer and background writer in the window, % (shared with all). */
  postgresBackgroundCpuPercent: number;
  /** Backends of the run database seen at the end of the window, and how many of those seen at the start had gone. */
  postgresBackends: number;
  postgresBackendsLost: number;
  /** What the run database's client backends were doing, sampled every 50 ms in the window. */
  activity: ActivityCounts;
}

/** One OrderService replica (services/orders/src/main.ts, bundled) on PostgreSQL `databaseUrl`, calling `users`. */
function startOrdersOnPostgres(
  ctx: SuiteContext,
  users: RunningServer,
  databaseUrl: string,
  name: string,
): Promise<RunningServer> {
  return startServer(
    name,
    "bench/results/dist/orders.mjs",
    {
      ...ctx.authEnv,
      SHUTDOWN_GRACE_MS: "2000",
      DATA_DIR: mkdtempSync(join(ctx.workDir, "orders-pg-")),
      DATABASE_URL: databaseUrl,
      ORDERS_ADDRESS: "127.0.0.1:0",
      USERS_TARGET: users.address,
    },
    join(ctx.logDir, `createorderpg-${name}.log`),
    { nodeFlags: SERVICE_NODE_FLAGS },
  );
}

/** GetUser (SQLite), then CreateOrder over two OrderService replicas on a fresh PostgreSQL database; ctx.runs times. */
export async function createOrderPostgresSuite(ctx: SuiteContext): Promise<SuiteReport> {
  const userIds = Array.from({ length: Math.min(1000, ctx.profile.users) }, (_, i) => fixtureUserId(i));
  const unary = ctx.profile.unary;

  const measure = async (config: object, watched: RunningServer[], database: string): Promise<Phase> => {
    const pids = watched.map((s) => s.pid);
    const marks = new Map<string, { cpu: ReturnType<typeof markCpu>; pg: ReturnType<typeof postgresPids> }>();
    const backendMarks = new Map<string, { backends: Map<number, number>; background: Map<number, number> }>();
    const sampler = await sampleActivity(benchPostgresUrl(), database, 50);
    let load: UnaryResult;
    let activity: ActivityCounts;
    try {
      load = await runLoad<UnaryResult>(
        "bench/load/unary.ts",
        { token: ctx.token, userIds, ...unary, ...config },
        (name) => {
          const cpu = markCpu(pids);
          const pg = postgresPids(database);
          marks.set(name, { cpu, pg });
          backendMarks.set(name, { backends: markBackends(pg.backends), background: markBackends(pg.background) });
          if (name === "start") sampler.countFrom();
          if (name === "end") sampler.countTo();
        },
      );
    } finally {
      activity = await sampler.stop();
    }
    const [start, end] = [marks.get("start")!, marks.get("end")!];
    const seconds = (end.cpu.at - start.cpu.at) / 1000;
    const [bStart, bEnd] = [backendMarks.get("start")!, backendMarks.get("end")!];
    const backends = backendCpuUsed(bStart.backends, bEnd.backends);
    const background = backendCpuUsed(bStart.background, bEnd.background);
    return {
      load,
      serverCpuPercent: Object.fromEntries(watched.map((s) => [s.name, cpuPercent(start.cpu, end.cpu, s.pid)])),
      foreignPercent: foreignPercent(start.cpu, end.cpu, pids),
      postgresCpuPercent: backends.backends > 0 ? (backends.seconds / seconds) * 100 : Number.NaN,
      postgresBackgroundCpuPercent: background.backends > 0 ? (background.seconds / seconds) * 100 : Number.NaN,
      postgresBackends: backends.backends,
      postgresBackendsLost: backends.lost,
      activity,
    };
  };

  const runs: { getUser: Phase; createOrder: Phase; ordersPeakRssMb: number[] }[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    ctx.progress(`CreateOrder on PostgreSQL (${REPLICAS} replicas) run ${run + 1}/${ctx.runs}`);
    const database = await createBenchDatabase(benchPostgresUrl());
    const orders: RunningServer[] = [];
    let users: RunningServer | undefined;
    try {
      users = await startUsers(ctx, "createorderpg-users");
      // One after the other: the first migrates the schema (under an advisory lock either way), the second finds it.
      for (let r = 0; r < REPLICAS; r++)
        orders.push(await startOrdersOnPostgres(ctx, users, database.url, `orders-${"ab"[r]}`));
      const watched = [users, ...orders];
      const getUser = await measure({ method: "getUser", address: users.address }, watched, database.name);
      const createOrder = await measure(
        { method: "createOrder", address: orders.map((o) => o.address) },
        watched,
        database.name,
      );
      runs.push({ getUser, createOrder, ordersPeakRssMb: orders.map((o) => o.peakRssMb()) });
    } finally {
      await Promise.all(orders.map((o) => o.stop()));
      await users?.stop();
      await database.drop();
    }
    requireAllOk(users);
    for (const o of orders) requireAllOk(o);
  }

  const of = (pick: (r: (typeof runs)[number]) => number) => spread(runs.map(pick));
  const ratio = of((r) => r.createOrder.load.requestsPerSecond / r.getUser.load.requestsPerSecond);
  const pgCounted = runs.every((r) => Number.isFinite(r.createOrder.postgresCpuPercent));
  const perReplica = (r: (typeof runs)[number], name: string) => r.createOrder.serverCpuPercent[name]!;
  const perSample = (r: (typeof runs)[number], state: string) =>
    (r.createOrder.activity.byState[state] ?? 0) / Math.max(1, r.createOrder.activity.samples);
  return {
    name: "createorderpg",
    rows: [
      {
        benchmark: "3b. CreateOrder on PostgreSQL, 2 orders replicas, vs GetUser on SQLite (Node grpc-js load)",
        unit: "req/s",
        orderly: of((r) => r.createOrder.load.requestsPerSecond),
        baseline: of((r) => r.getUser.load.requestsPerSecond),
        ratio,
        target: ">= 0.3x",
        met: ratio.median >= 0.3,
      },
    ],
    details: [
      `CreateOrder on PostgreSQL (fresh database per run, 2 OrderService replicas, callers split evenly between them) / GetUser on SQLite (Node load generator, ${unary.concurrency} calls in flight, ${unary.durationSeconds} s after ${unary.warmupSeconds} s warm-up; every call a new request_id):`,
      `  GetUser:     ${[
        detail(
          "p50",
          of((r) => r.getUser.load.latencyMs.p50),
          " ms",
        ),
        detail(
          "p99",
          of((r) => r.getUser.load.latencyMs.p99),
          " ms",
        ),
        detail(
          "users CPU",
          of((r) => r.getUser.serverCpuPercent.users!),
          "%",
          0,
        ),
        detail(
          "load generator CPU",
          of((r) => r.getUser.load.clientCpuPercent),
          "%",
          0,
        ),
        detail(
          "others on server CPU",
          of((r) => r.getUser.foreignPercent),
          "%",
          0,
        ),
      ].join(", ")}`,
      `  CreateOrder: ${[
        detail(
          "p50",
          of((r) => r.createOrder.load.latencyMs.p50),
          " ms",
        ),
        detail(
          "p99",
          of((r) => r.createOrder.load.latencyMs.p99),
          " ms",
        ),
        detail(
          "orders-a CPU",
          of((r) => perReplica(r, "orders-a")),
          "%",
          0,
        ),
        detail(
          "orders-b CPU",
          of((r) => perReplica(r, "orders-b")),
          "%",
          0,
        ),
        detail(
          "users CPU",
          of((r) => r.createOrder.serverCpuPercent.users!),
          "%",
          0,
        ),
        detail(
          "load generator CPU",
          of((r) => r.createOrder.load.clientCpuPercent),
          "%",
          0,
        ),
      ].join(", ")}`,
      pgCounted
        ? `               ${[
            detail(
              "postgres backends CPU",
              of((r) => r.createOrder.postgresCpuPercent),
              "%",
              0,
            ),
            detail(
              "backends",
              of((r) => r.createOrder.postgresBackends),
              "",
              0,
            ),
            detail(
              "walwriter+checkpointer+bgwriter CPU (whole cluster, shared)",
              of((r) => r.createOrder.postgresBackgroundCpuPercent),
              "%",
              0,
            ),
            detail(
              "others on server CPU (postgres included when it ran there)",
              of((r) => r.createOrder.foreignPercent),
              "%",
              0,
            ),
          ].join(", ")}`
        : `               postgres CPU not counted (its processes were not found in /proc by title); ${detail(
            "others on server CPU",
            of((r) => r.createOrder.foreignPercent),
            "%",
            0,
          )}`,
      `               backends of the run database, average number per pg_stat_activity sample (every 50 ms): ${[
        detail(
          "waiting for a row lock",
          of((r) => perSample(r, "Lock/transactionid") + perSample(r, "Lock/tuple")),
          "",
          1,
        ),
        detail(
          "idle in transaction (waiting for the orders process)",
          of((r) => perSample(r, "idle in transaction")),
          "",
          1,
        ),
        detail(
          "running a statement",
          of((r) => perSample(r, "active")),
          "",
          1,
        ),
        detail(
          "flushing WAL",
          of((r) => perSample(r, "IO/WALSync") + perSample(r, "IO/WALWrite")),
          "",
          1,
        ),
        detail(
          "idle",
          of((r) => perSample(r, "idle")),
          "",
          1,
        ),
      ].join(", ")}`,
      `               ${[
        detail(
          "calls to orders-a",
          of((r) => Object.values(r.createOrder.load.callsByAddress)[0]!),
          "",
          0,
        ),
        detail(
          "to orders-b",
          of((r) => Object.values(r.createOrder.load.callsByAddress)[1]!),
          "",
          0,
        ),
        detail(
          "orders peak RSS (larger replica)",
          of((r) => Math.max(...r.ordersPeakRssMb)),
          " MB",
          0,
        ),
      ].join(", ")}; postgres is not pinned (it runs on either core)`,
    ],
    data: { load: unary, replicas: REPLICAS, runs },
  };
}
