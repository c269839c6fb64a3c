// 4. WatchOrders fan-outs: many open watch streams on the real OrderService while orders change at a steady rate;
// delivery latency from commit (event.time) to receipt, over every delivery to every stream, and the orders CPU per
// delivery. The profile has two: the target's 1,000 streams and 10,000 at the same 50,000 deliveries a second. The
// watch client (bench/load/watch-orders.ts) reads the streams with node:http2 directly, the same for Orderly and the
// bare baseline, so that its own per-message cost stays well below the server's and its queueing does not dominate
// the latency it measures.
import type { WatchResult } from "../load/watch-orders.js";
import type { WatchLoad } from "../lib/profile.js";
import { fixtureUserId } from "../lib/fixture.js";
import { cpuPercent, cpuUsed, foreignPercent, markCpu, rssMb } from "../lib/proc-stats.js";
import { runLoad, type RunningServer } from "../lib/processes.js";
import { detail, fmt, type SuiteReport } from "../lib/report.js";
import { spread } from "../lib/stats.js";
import { startBareOrders, startOrders, startUsers, type SuiteContext } from "./context.js";

/** The p99 delivery latency the fan-out must stay under. */
export const WATCH_P99_TARGET_MS = 50;

interface Measured extends WatchResult {
  ordersCpuPercent: number;
  /** Orders CPU time in the window divided by the deliveries: what one delivery costs the server, changes included. */
  ordersCpuMicrosPerDelivery: number;
  ordersPeakRssMb: number;
  /** Resident memory right after it started listening, and once every watch stream was open (before any change). */
  ordersIdleRssMb: number;
  ordersStreamsOpenRssMb: number;
  /** Other processes' use of the server core during the window, %. */
  foreignPercent: number;
}

/** Runs each fan-out of the profile ctx.runs times against fresh processes. */
export async function watchOrdersSuite(ctx: SuiteContext): Promise<SuiteReport> {
  const reports = [];
  for (const load of ctx.profile.watch) reports.push(await fanOut(ctx, load));
  return {
    name: "watch",
    rows: reports.flatMap((r) => r.rows),
    details: reports.flatMap((r) => r.details),
    data: reports.map((r) => r.data),
  };
}

/** One fan-out load against one server process (and UserService, which Orderly's OrderService calls). */
async function measure(
  ctx: SuiteContext,
  load: WatchLoad,
  userIds: string[],
  server: RunningServer,
  others: RunningServer[],
): Promise<Measured> {
  const pids = [server.pid, ...others.map((o) => o.pid)];
  const marks = new Map<string, ReturnType<typeof markCpu>>();
  let streamsOpenRssMb = Number.NaN;
  const result = await runLoad<WatchResult>(
    "bench/load/watch-orders.ts",
    { address: server.address, token: ctx.token, userIds, ...load },
    (name) => {
      marks.set(name, markCpu(pids));
      // "synced" comes once every stream has its SYNC, before the first change; "start" after the warm-up.
      if (name === "synced") streamsOpenRssMb = rssMb(server.pid);
    },
  );
  const [start, end] = [marks.get("start")!, marks.get("end")!];
  return {
    ...result,
    ordersCpuPercent: cpuPercent(start, end, server.pid),
    ordersCpuMicrosPerDelivery: (cpuUsed(start, end, server.pid) / result.deliveries) * 1e6,
    ordersPeakRssMb: server.peakRssMb(),
    ordersIdleRssMb: server.startRssMb,
    ordersStreamsOpenRssMb: streamsOpenRssMb,
    foreignPercent: foreignPercent(start, end, pids),
  };
}

async function fanOut(ctx: SuiteContext, load: WatchLoad): Promise<SuiteReport> {
  const userIds = Array.from({ length: Math.min(1000, ctx.profile.users) }, (_, i) => fixtureUserId(i));
  const runs: { orderly: Measured; bare: Measured }[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    ctx.progress(`WatchOrders run ${run + 1}/${ctx.runs}: ${load.streams} streams, Orderly then bare grpc-js`);
    const users = await startUsers(ctx, "watch-users");
    let orders: RunningServer | undefined;
    let orderly: Measured;
    try {
      orders = await startOrders(ctx, users, "watch-orders");
      orderly = await measure(ctx, load, userIds, orders, [users]);
    } finally {
      await orders?.stop();
      await users.stop();
    }
    const bareServer = await startBareOrders(ctx, "watch-bare");
    try {
      runs.push({ orderly, bare: await measure(ctx, load, userIds, bareServer, []) });
    } finally {
      await bareServer.stop();
    }
  }

  const of = (kind: "orderly" | "bare", pick: (m: Measured) => number) => spread(runs.map((r) => pick(r[kind])));
  const ratioOf = (pick: (m: Measured) => number) => spread(runs.map((r) => pick(r.orderly) / pick(r.bare)));
  const p99 = (m: Measured) => m.latencyMs.p99;
  const perDelivery = (m: Measured) => m.ordersCpuMicrosPerDelivery;
  const orderlyP99 = of("orderly", p99);
  const streams = fmt(load.streams, 0);
  const line = (kind: "orderly" | "bare") => [
    `  ${kind === "orderly" ? "Orderly" : "bare:  "} ${detail(
      "p50",
      of(kind, (m) => m.latencyMs.p50),
      " ms",
    )}, ${detail("p99", of(kind, p99), " ms")}, ${detail(
      "max",
      of(kind, (m) => m.latencyMs.max),
      " ms",
    )}; deliveries ${fmt(runs[0]![kind].deliveries, 0)} per run (all expected arrived); warm-up before it: ${detail(
      "p99",
      of(kind, (m) => m.warmup.latencyMs.p99),
      " ms",
    )}, ${detail(
      "max",
      of(kind, (m) => m.warmup.latencyMs.max),
      " ms",
    )}`,
    `           ${detail(
      "server CPU",
      of(kind, (m) => m.ordersCpuPercent),
      "%",
      0,
    )} (${detail("", of(kind, perDelivery), " µs/delivery", 1).trim()}), ${detail(
      "peak RSS",
      of(kind, (m) => m.ordersPeakRssMb),
      " MB",
      0,
    )} (${detail(
      "idle",
      of(kind, (m) => m.ordersIdleRssMb),
      " MB",
      0,
    )}, ${detail(
      "streams open",
      of(kind, (m) => m.ordersStreamsOpenRssMb),
      " MB",
      0,
    )}), ${detail(
      "watch client CPU",
      of(kind, (m) => m.clientCpuPercent),
      "%",
      0,
    )} (${detail(
      "",
      of(kind, (m) => m.clientCpuMicrosPerDelivery),
      " µs/delivery",
      1,
    ).trim()}), ${detail(
      "others on server CPU",
      of(kind, (m) => m.foreignPercent),
      "%",
      0,
    )}`,
  ];
  return {
    name: "watch",
    rows: [
      {
        benchmark: `4. WatchOrders ${streams} streams, delivery p99 vs bare grpc-js fan-out`,
        unit: "ms",
        orderly: orderlyP99,
        baseline: of("bare", p99),
        ratio: ratioOf(p99),
        // The target is for 1,000 watchers; wider fan-outs are stated.
        target: load.streams <= 1_000 ? `p99 < ${WATCH_P99_TARGET_MS} ms` : "-",
        ...(load.streams <= 1_000 ? { met: orderlyP99.median < WATCH_P99_TARGET_MS } : {}),
      },
      {
        benchmark: `4a. WatchOrders ${streams} streams, server CPU per delivery`,
        unit: "µs",
        orderly: of("orderly", perDelivery),
        baseline: of("bare", perDelivery),
        ratio: ratioOf(perDelivery),
        target: "-",
        digits: 1,
      },
    ],
    details: [
      `WatchOrders (${load.streams} streams over ${load.connections} connections, ${load.changesPerSecond} changes/s for ${load.durationSeconds} s after ${load.warmupSeconds} s of warm-up at that rate; latency = receipt - event.time; bare: grpc-js writing each event, encoded once, to every stream, no store;`,
      `  the same watch client for both, paired per run: node:http2 reading gRPC frames itself, every message decoded with the generated decoder and checked, no gRPC library in the read path):`,
      ...line("orderly"),
      ...line("bare"),
    ],
    data: { load, runs },
  };
}
