// 1. Unary GetUser through Orderly's whole chain (JWT auth, logging, deadlines, error mapping, SQLite read) against the
// bare grpc-js server doing the same SQLite read, both driven by h2load with the same gRPC-framed body and headers.
// Before any load, one answer from each server is read with node:http2: its grpc-status must be 0 and its message
// byte-identical to the seeded user, because h2load counts HTTP 200 as success whatever grpc-status says. Afterwards
// Orderly's call log must show only OK calls.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GetUserRequest, GetUserResponse } from "@orderly/proto/orderly/user/v1/user_service";
import { fixtureUser } from "../lib/fixture.js";
import { callOnce, grpcFrame } from "../lib/grpc-frame.js";
import { h2load, type H2loadResult } from "../lib/h2load.js";
import { cpuUsed, foreignPercent, markCpu } from "../lib/proc-stats.js";
import type { RunningServer } from "../lib/processes.js";
import { detail, type SuiteReport } from "../lib/report.js";
import { spread } from "../lib/stats.js";
import { requireAllOk, startBareUsers, startUsers, type SuiteContext } from "./context.js";

const PATH = "/orderly.user.v1.UserService/GetUser";
/** What the whole chain may cost per call above bare grpc-js doing the same SQLite read: server CPU, µs. */
const CPU_ABOVE_BARE_TARGET_US = 20;
/** Issue 11 restates the throughput target as that budget's consequence: >= 0.7x bare grpc-js req/s. */
const RPS_RATIO_TARGET = 0.7;
/** The seeded user every request asks for. */
const USER_INDEX = 42;

interface Measured extends H2loadResult {
  cpuPercent: number;
  cpuUsPerRequest: number;
  peakRssMb: number;
  startRssMb: number;
  /** Other processes' use of the server core during the window, %. */
  foreignPercent: number;
}

/** Runs the GetUser comparison ctx.runs times, alternating which server goes first. */
export async function getUserSuite(ctx: SuiteContext): Promise<SuiteReport> {
  const user = fixtureUser(USER_INDEX);
  const body = grpcFrame(GetUserRequest.encode({ id: user.id }).finish());
  const bodyFile = join(ctx.workDir, "get-user.body");
  writeFileSync(bodyFile, body);
  const expected = Buffer.from(GetUserResponse.encode({ user }).finish());
  const headers = { "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${ctx.token}` };

  const measure = async (server: RunningServer): Promise<Measured> => {
    const answer = await callOnce(server.address, PATH, headers, body);
    if (answer.httpStatus !== 200 || answer.grpcStatus !== "0") {
      throw new Error(
        `${server.name} GetUser check failed: HTTP ${answer.httpStatus}, grpc-status ${answer.grpcStatus} (${answer.grpcMessage})`,
      );
    }
    if (!answer.message.equals(expected))
      throw new Error(`${server.name} GetUser answered a different message than the seeded user`);
    const load = ctx.profile.h2load;
    await h2load(server.address, PATH, headers, bodyFile, { ...load, durationSeconds: load.warmupSeconds });
    const before = markCpu([server.pid]);
    const result = await h2load(server.address, PATH, headers, bodyFile, load);
    const after = markCpu([server.pid]);
    if (result.failed > 0 || result.succeeded === 0)
      throw new Error(`h2load against ${server.name}: ${result.failed} failed, ${result.succeeded} succeeded`);
    const cpu = cpuUsed(before, after, server.pid);
    return {
      ...result,
      cpuPercent: (cpu / ((after.at - before.at) / 1000)) * 100,
      cpuUsPerRequest: (cpu * 1e6) / result.succeeded,
      peakRssMb: server.peakRssMb(),
      startRssMb: server.startRssMb,
      foreignPercent: foreignPercent(before, after, [server.pid]),
    };
  };

  const runs: { orderly: Measured; bare: Measured }[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    const measured: Partial<Record<"orderly" | "bare", Measured>> = {};
    for (const kind of run % 2 === 0 ? (["bare", "orderly"] as const) : (["orderly", "bare"] as const)) {
      ctx.progress(`GetUser run ${run + 1}/${ctx.runs}: ${kind}`);
      const server =
        kind === "orderly"
          ? await startUsers(ctx, "getuser-orderly")
          : await startBareUsers(ctx, "getuser-bare", 1000, { sqlite: true });
      try {
        measured[kind] = await measure(server);
      } finally {
        await server.stop();
      }
      if (kind === "orderly") requireAllOk(server);
    }
    runs.push({ orderly: measured.orderly!, bare: measured.bare! });
  }

  const of = (kind: "orderly" | "bare", pick: (m: Measured) => number) => spread(runs.map((r) => pick(r[kind])));
  const ratio = spread(runs.map((r) => r.orderly.requestsPerSecond / r.bare.requestsPerSecond));
  const above = spread(runs.map((r) => r.orderly.cpuUsPerRequest - r.bare.cpuUsPerRequest));
  const load = ctx.profile.h2load;
  const line = (kind: "orderly" | "bare") =>
    [
      detail(
        "mean latency",
        of(kind, (m) => m.meanMs),
        " ms",
      ),
      detail(
        "max",
        of(kind, (m) => m.maxMs),
        " ms",
        0,
      ),
      `${detail(
        "server CPU",
        of(kind, (m) => m.cpuPercent),
        "%",
        0,
      )} (${detail(
        "",
        of(kind, (m) => m.cpuUsPerRequest),
        " µs/req",
        0,
      ).trim()})`,
      `${detail(
        "peak RSS",
        of(kind, (m) => m.peakRssMb),
        " MB",
        0,
      )} (${detail(
        "",
        of(kind, (m) => m.startRssMb),
        " MB",
        0,
      ).trim()} at start)`,
      detail(
        "others on server CPU",
        of(kind, (m) => m.foreignPercent),
        "%",
        0,
      ),
    ].join(", ");
  return {
    name: "getuser",
    rows: [
      {
        benchmark: "1. GetUser, whole chain vs bare grpc-js (h2load)",
        unit: "req/s",
        orderly: of("orderly", (m) => m.requestsPerSecond),
        baseline: of("bare", (m) => m.requestsPerSecond),
        ratio,
        target: `>= ${RPS_RATIO_TARGET}x`,
        met: ratio.median >= RPS_RATIO_TARGET,
      },
      {
        benchmark: "1a. GetUser server CPU per call above bare (h2load)",
        unit: "µs",
        orderly: above,
        target: `<= ${CPU_ABOVE_BARE_TARGET_US} µs`,
        met: above.median <= CPU_ABOVE_BARE_TARGET_US,
        digits: 1,
      },
    ],
    details: [
      `GetUser (h2load -c ${load.clients} -m ${load.streamsPerClient}, ${load.durationSeconds} s after ${load.warmupSeconds} s warm-up; one answer per server checked: grpc-status 0, message = seeded user):`,
      `  Orderly: ${line("orderly")}`,
      `  bare:    ${line("bare")}`,
    ],
    data: { load, runs },
  };
}
