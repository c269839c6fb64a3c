// 1b. Instructions per GetUser call, Orderly's whole chain against bare grpc-js doing the same SQLite read, counted by
// callgrind (bench/lib/callgrind.ts). Unlike CPU time this figure does not move with the machine's load, so it shows
// where the floor is and judges a trim of a few percent. Each server runs under valgrind with instrumentation off while
// it starts and warms up, then each sample counts the instructions of N calls made by h2load.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { GetUserRequest, GetUserResponse } from "@orderly/proto/orderly/user/v1/user_service";
import {
  callgrindAvailable,
  callgrindWrapper,
  countInstructions,
  instrumentationOn,
  type Dump,
  type Kind,
} from "../lib/callgrind.js";
import { fixtureUser } from "../lib/fixture.js";
import { callOnce, grpcFrame } from "../lib/grpc-frame.js";
import { h2load } from "../lib/h2load.js";
import type { RunningServer } from "../lib/processes.js";
import type { SuiteReport } from "../lib/report.js";
import { fmt, spread } from "../lib/stats.js";
import { requireAllOk, startBareUsers, startUsers, type SuiteContext } from "./context.js";

const PATH = "/orderly.user.v1.UserService/GetUser";
/** The concurrency of the counted calls: 4 connections x 4 streams. */
const LOAD = { clients: 4, streamsPerClient: 4 };
/** Node under valgrind starts in seconds, not milliseconds. */
const LISTEN_TIMEOUT_MS = 120_000;

interface Counted {
  /** Instructions per call without V8's compiler (which works in bursts after warm-up), median over the samples. */
  perCall: number;
  /** All instructions per call of each sample, in the order taken. */
  samples: number[];
  /** Per call, median over the samples of each: running the calls, garbage collection, V8 compiling. */
  byKind: Record<Kind, number>;
  /** The median sample's split by object, per call. */
  byObject: Record<string, number>;
}

function median(values: readonly number[]): number {
  return values.toSorted((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
}

/** Counts instructions per GetUser call of Orderly and of bare grpc-js (SQLite read), ctx.runs times. */
export async function instructionsSuite(ctx: SuiteContext): Promise<SuiteReport> {
  if (!callgrindAvailable()) throw new Error("valgrind is missing: install it with `apt-get install -y valgrind`");
  const user = fixtureUser(42);
  const body = grpcFrame(GetUserRequest.encode({ id: user.id }).finish());
  const bodyFile = join(ctx.workDir, "instructions.body");
  writeFileSync(bodyFile, body);
  const expected = Buffer.from(GetUserResponse.encode({ user }).finish());
  const headers = { "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${ctx.token}` };
  const { warmupCalls, calls, samples } = ctx.profile.instructions;

  const count = async (server: RunningServer, outFile: string): Promise<Counted> => {
    const answer = await callOnce(server.address, PATH, headers, body);
    if (answer.grpcStatus !== "0" || !answer.message.equals(expected))
      throw new Error(`${server.name} GetUser check failed: grpc-status ${answer.grpcStatus} (${answer.grpcMessage})`);
    const load = async (requests: number) => {
      const result = await h2load(server.address, PATH, headers, bodyFile, { ...LOAD, requests });
      if (result.failed > 0 || result.succeeded !== requests)
        throw new Error(`h2load against ${server.name}: ${result.failed} failed, ${result.succeeded} succeeded`);
    };
    await load(warmupCalls);
    await instrumentationOn(server.pid);
    const dumps: Dump[] = [];
    for (let sample = 0; sample < samples; sample++)
      dumps.push(await countInstructions(server.pid, outFile, () => load(calls)));
    const steady = (d: Dump) => (d.instructions - d.byKind.compile) / calls;
    const middle = dumps.toSorted((a, b) => steady(a) - steady(b))[Math.floor((dumps.length - 1) / 2)]!;
    const kindMedian = (kind: Kind) => median(dumps.map((d) => d.byKind[kind] / calls));
    return {
      perCall: steady(middle),
      samples: dumps.map((d) => d.instructions / calls),
      byKind: { run: kindMedian("run"), gc: kindMedian("gc"), compile: kindMedian("compile") },
      byObject: Object.fromEntries(Object.entries(middle.byObject).map(([name, ir]) => [name, ir / calls])),
    };
  };

  const runs: { orderly: Counted; bare: Counted }[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    const counted: Partial<Record<"orderly" | "bare", Counted>> = {};
    for (const kind of run % 2 === 0 ? (["bare", "orderly"] as const) : (["orderly", "bare"] as const)) {
      ctx.progress(`GetUser instructions run ${run + 1}/${ctx.runs}: ${kind} under callgrind`);
      const outFile = join(ctx.workDir, `callgrind-${kind}-${run}.out`);
      const options = { wrapper: callgrindWrapper(outFile), listenTimeoutMs: LISTEN_TIMEOUT_MS };
      const server =
        kind === "orderly"
          ? await startUsers(ctx, "instructions-orderly", options)
          : await startBareUsers(ctx, "instructions-bare", 1000, { ...options, sqlite: true });
      try {
        counted[kind] = await count(server, outFile);
      } finally {
        await server.stop();
      }
      if (kind === "orderly") requireAllOk(server);
    }
    runs.push({ orderly: counted.orderly!, bare: counted.bare! });
  }

  const thousands = (pick: (r: { orderly: Counted; bare: Counted }) => number) =>
    spread(runs.map((r) => pick(r) / 1000));
  const orderly = thousands((r) => r.orderly.perCall);
  const bare = thousands((r) => r.bare.perCall);
  const above = thousands((r) => r.orderly.perCall - r.bare.perCall);
  const middle = runs.toSorted((a, b) => a.orderly.perCall - b.orderly.perCall)[Math.floor((runs.length - 1) / 2)]!;
  const kinds = (counted: Counted) =>
    `running the calls ${fmt(counted.byKind.run / 1000, 0)}k, GC ${fmt(counted.byKind.gc / 1000, 0)}k` +
    ` (V8 compiling, not counted: ${fmt(counted.byKind.compile / 1000, 0)}k)`;
  const split = (counted: Counted) =>
    Object.entries(counted.byObject)
      .filter(([, ir]) => ir >= counted.perCall * 0.01)
      .sort((a, b) => b[1] - a[1])
      .map(([name, ir]) => `${name} ${fmt(ir / 1000, 0)}k`)
      .join(", ");
  return {
    name: "instructions",
    rows: [
      {
        benchmark: "1b. GetUser instructions per call (callgrind) vs bare grpc-js + same SQLite read",
        unit: "k instr",
        orderly,
        baseline: bare,
        ratio: spread(runs.map((r) => r.orderly.perCall / r.bare.perCall)),
        target: "-",
        digits: 0,
      },
      {
        benchmark: "1c. GetUser instructions per call above bare (Orderly - bare)",
        unit: "k instr",
        orderly: above,
        target: "-",
        digits: 0,
      },
    ],
    details: [
      `GetUser under callgrind (every thread of the server; ${fmt(warmupCalls, 0)} uncounted warm-up calls, then ${samples} sample(s) of ${calls} calls, h2load -c ${LOAD.clients} -m ${LOAD.streamsPerClient}; median sample per run; V8's optimising compiler, still at work in bursts after warm-up, is left out):`,
      `  Orderly per call (median run): ${kinds(middle.orderly)}; by object: ${split(middle.orderly)}`,
      `  bare per call (same run):      ${kinds(middle.bare)}; by object: ${split(middle.bare)}`,
    ],
    data: { warmupCalls, calls, samples, load: LOAD, runs },
  };
}
