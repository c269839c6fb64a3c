// 2. StreamUsers of every seeded user (1,000,000 in the full run) from Orderly's SQLite store against a bare grpc-js
// stream of the same messages, read by the same grpc-js client code. Also Orderly's peak RSS, which must stay bounded
// however many users there are.
import type { StreamUsersResult } from "../load/stream-users.js";
import { fixtureUserId } from "../lib/fixture.js";
import { cpuUsed, foreignPercent, markCpu } from "../lib/proc-stats.js";
import { runLoad, type RunningServer } from "../lib/processes.js";
import { detail, fmt, type SuiteReport } from "../lib/report.js";
import { spread } from "../lib/stats.js";
import { startBareUsers, startUsers, type SuiteContext } from "./context.js";

/** The most Orderly may hold while streaming every user (issue 11). */
export const STREAM_RSS_LIMIT_MB = 100;

/** The least Orderly's StreamUsers may reach of the bare stream's messages per second (issue 11). */
export const STREAM_RATIO_TARGET = 1.0;

interface Measured extends StreamUsersResult {
  serverCpuPercent: number;
  serverCpuUsPerMessage: number;
  peakRssMb: number;
  startRssMb: number;
  /** Other processes' use of the server core during the stream, %. */
  foreignPercent: number;
}

/** Runs the StreamUsers comparison ctx.runs times, alternating which server goes first. */
export async function streamUsersSuite(ctx: SuiteContext): Promise<SuiteReport> {
  const count = ctx.profile.users;
  const measure = async (server: RunningServer): Promise<Measured> => {
    const marks = new Map<string, ReturnType<typeof markCpu>>();
    const result = await runLoad<StreamUsersResult>(
      "bench/load/stream-users.ts",
      { address: server.address, token: ctx.token, expected: count },
      (name) => marks.set(name, markCpu([server.pid])),
    );
    if (result.firstId !== fixtureUserId(0) || result.lastId !== fixtureUserId(count - 1)) {
      throw new Error(`${server.name} streamed users out of order: first ${result.firstId}, last ${result.lastId}`);
    }
    const start = marks.get("start")!;
    const end = marks.get("end")!;
    const cpu = cpuUsed(start, end, server.pid);
    return {
      ...result,
      serverCpuPercent: (cpu / ((end.at - start.at) / 1000)) * 100,
      serverCpuUsPerMessage: (cpu * 1e6) / result.messages,
      peakRssMb: server.peakRssMb(),
      startRssMb: server.startRssMb,
      foreignPercent: foreignPercent(start, end, [server.pid]),
    };
  };

  const runs: { orderly: Measured; bare: Measured }[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    const measured: Partial<Record<"orderly" | "bare", Measured>> = {};
    for (const kind of run % 2 === 0 ? (["bare", "orderly"] as const) : (["orderly", "bare"] as const)) {
      ctx.progress(`StreamUsers run ${run + 1}/${ctx.runs}: ${kind} (${fmt(count, 0)} users)`);
      const server =
        kind === "orderly" ? await startUsers(ctx, "stream-orderly") : await startBareUsers(ctx, "stream-bare", count);
      try {
        measured[kind] = await measure(server);
      } finally {
        await server.stop();
      }
    }
    runs.push({ orderly: measured.orderly!, bare: measured.bare! });
  }

  const of = (kind: "orderly" | "bare", pick: (m: Measured) => number) => spread(runs.map((r) => pick(r[kind])));
  const ratio = spread(runs.map((r) => r.orderly.messagesPerSecond / r.bare.messagesPerSecond));
  const rss = of("orderly", (m) => m.peakRssMb);
  const line = (kind: "orderly" | "bare") =>
    `${detail(
      "server CPU",
      of(kind, (m) => m.serverCpuPercent),
      "%",
      0,
    )} (${detail(
      "",
      of(kind, (m) => m.serverCpuUsPerMessage),
      " µs/msg",
    ).trim()}), ${detail(
      "client CPU",
      of(kind, (m) => m.clientCpuPercent),
      "%",
      0,
    )}, ${detail(
      "peak RSS",
      of(kind, (m) => m.peakRssMb),
      " MB",
      0,
    )} (${detail(
      "",
      of(kind, (m) => m.startRssMb),
      " MB",
      0,
    ).trim()} at start), ${detail(
      "others on server CPU",
      of(kind, (m) => m.foreignPercent),
      "%",
      0,
    )}`;
  return {
    name: "stream",
    rows: [
      {
        benchmark: `2. StreamUsers ${fmt(count, 0)} users vs bare stream`,
        unit: "msg/s",
        orderly: of("orderly", (m) => m.messagesPerSecond),
        baseline: of("bare", (m) => m.messagesPerSecond),
        ratio,
        target: `>= ${STREAM_RATIO_TARGET.toFixed(1)}x`,
        met: ratio.median >= STREAM_RATIO_TARGET,
      },
      {
        benchmark: "2. StreamUsers, Orderly peak RSS (max of runs)",
        unit: "MB",
        orderly: rss,
        target: `< ${STREAM_RSS_LIMIT_MB} MB`,
        met: rss.max < STREAM_RSS_LIMIT_MB,
        digits: 0,
      },
    ],
    details: [
      `StreamUsers (one stream, generated grpc-js client counting messages; same client code for both):`,
      `  Orderly: ${line("orderly")}`,
      `  bare:    ${line("bare")}`,
    ],
    data: { users: count, runs },
  };
}
