// 3. CreateOrder (its GetUser call to UserService, validation, the durable SQLite write with its audit event) against
// GetUser, both driven in the same run by the same Node load generator (generated grpc-js clients, fixed
// concurrency). UserService and OrderService are their real main.ts processes, both on the server core.
import type { UnaryResult } from "../load/unary.js";
import { fixtureUserId } from "../lib/fixture.js";
import { cpuPercent, foreignPercent, markCpu } from "../lib/proc-stats.js";
import { runLoad, type RunningServer } from "../lib/processes.js";
import { detail, type SuiteReport } from "../lib/report.js";
import { spread } from "../lib/stats.js";
import { requireAllOk, startOrders, startUsers, type SuiteContext } from "./context.js";

interface Phase extends UnaryResult {
  /** Server CPU in the measured window, % of one core, by process name. */
  serverCpuPercent: Record<string, number>;
  /** Other processes' use of the server core during the window, %. */
  foreignPercent: number;
}

/** Runs GetUser then CreateOrder against fresh processes, ctx.runs times. */
export async function createOrderSuite(ctx: SuiteContext): Promise<SuiteReport> {
  const userIds = Array.from({ length: Math.min(1000, ctx.profile.users) }, (_, i) => fixtureUserId(i));
  const phase = async (
    method: "getUser" | "createOrder",
    target: RunningServer,
    watched: RunningServer[],
  ): Promise<Phase> => {
    const marks = new Map<string, ReturnType<typeof markCpu>>();
    const pids = watched.map((s) => s.pid);
    const result = await runLoad<UnaryResult>(
      "bench/load/unary.ts",
      { method, address: target.address, token: ctx.token, userIds, ...ctx.profile.unary },
      (name) => marks.set(name, markCpu(pids)),
    );
    const [start, end] = [marks.get("start")!, marks.get("end")!];
    const serverCpuPercent = Object.fromEntries(watched.map((s) => [s.name, cpuPercent(start, end, s.pid)]));
    return { ...result, serverCpuPercent, foreignPercent: foreignPercent(start, end, pids) };
  };

  const runs: { getUser: Phase; createOrder: Phase; ordersPeakRssMb: number }[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    ctx.progress(`CreateOrder run ${run + 1}/${ctx.runs}`);
    const users = await startUsers(ctx, "createorder-users");
    let orders: RunningServer | undefined;
    try {
      orders = await startOrders(ctx, users, "createorder-orders");
      const getUser = await phase("getUser", users, [users, orders]);
      const createOrder = await phase("createOrder", orders, [orders, users]);
      runs.push({ getUser, createOrder, ordersPeakRssMb: orders.peakRssMb() });
    } finally {
      await orders?.stop();
      await users.stop();
    }
    requireAllOk(users);
    requireAllOk(orders);
  }

  const of = (pick: (r: (typeof runs)[number]) => number) => spread(runs.map(pick));
  const ratio = of((r) => r.createOrder.requestsPerSecond / r.getUser.requestsPerSecond);
  const unary = ctx.profile.unary;
  return {
    name: "createorder",
    rows: [
      {
        benchmark: "3. CreateOrder vs GetUser (Node grpc-js load)",
        unit: "req/s",
        orderly: of((r) => r.createOrder.requestsPerSecond),
        baseline: of((r) => r.getUser.requestsPerSecond),
        ratio,
        target: ">= 0.3x",
        met: ratio.median >= 0.3,
      },
    ],
    details: [
      `CreateOrder / GetUser (Node load generator, ${unary.concurrency} calls in flight, ${unary.durationSeconds} s after ${unary.warmupSeconds} s warm-up; every call a new request_id):`,
      `  GetUser:     ${detail(
        "p50",
        of((r) => r.getUser.latencyMs.p50),
        " ms",
      )}, ${detail(
        "p99",
        of((r) => r.getUser.latencyMs.p99),
        " ms",
      )}, ${detail(
        "users CPU",
        of((r) => r.getUser.serverCpuPercent.users!),
        "%",
        0,
      )}, ${detail(
        "load generator CPU",
        of((r) => r.getUser.clientCpuPercent),
        "%",
        0,
      )}, ${detail(
        "others on server CPU",
        of((r) => r.getUser.foreignPercent),
        "%",
        0,
      )}`,
      `  CreateOrder: ${detail(
        "p50",
        of((r) => r.createOrder.latencyMs.p50),
        " ms",
      )}, ${detail(
        "p99",
        of((r) => r.createOrder.latencyMs.p99),
        " ms",
      )}, ${detail(
        "orders CPU",
        of((r) => r.createOrder.serverCpuPercent.orders!),
        "%",
        0,
      )} + ${detail(
        "users CPU",
        of((r) => r.createOrder.serverCpuPercent.users!),
        "%",
        0,
      )}, ${detail(
        "load generator CPU",
        of((r) => r.createOrder.clientCpuPercent),
        "%",
        0,
      )}, ${detail(
        "orders peak RSS",
        of((r) => r.ordersPeakRssMb),
        " MB",
        0,
      )}, ${detail(
        "others on server CPU",
        of((r) => r.createOrder.foreignPercent),
        "%",
        0,
      )}`,
    ],
    data: { load: unary, runs },
  };
}
