// How big the benchmark is: the full run (figures for the README) or the smoke run CI uses so the benchmark cannot
// rot (seconds, tiny counts, one run; figures are printed, never asserted). Parsed from the command line.
import { parseArgs } from "node:util";

/** One WatchOrders fan-out: streams over connections, order changes a second for a while. */
export interface WatchLoad {
  streams: number;
  connections: number;
  changesPerSecond: number;
  durationSeconds: number;
  /** Changes at the same rate before the measured window, reported apart (the first events are far slower). */
  warmupSeconds: number;
}

/** Sizes and durations of one benchmark session. */
export interface Profile {
  name: "full" | "smoke";
  /** Users seeded into SQLite (and streamed by StreamUsers). */
  users: number;
  /** h2load against GetUser: connections x streams per connection, warm-up and measured seconds. */
  h2load: { clients: number; streamsPerClient: number; warmupSeconds: number; durationSeconds: number };
  /** The Node load generator (GetUser and CreateOrder). */
  unary: { concurrency: number; warmupSeconds: number; durationSeconds: number };
  /** WatchOrders fan-outs, each measured on its own: the target's 1,000 streams and a wide one. */
  watch: WatchLoad[];
  /** The interceptor microbenchmark, per case. */
  micro: { warmupMs: number; budgetMs: number };
  /** GetUser under callgrind: calls before counting (uncounted), calls per sample, samples per server and run. */
  instructions: { warmupCalls: number; calls: number; samples: number };
  /** Cold starts per service and run (start to SERVING, idle RSS). */
  starts: number;
}

const FULL: Profile = {
  name: "full",
  users: 1_000_000,
  h2load: { clients: 16, streamsPerClient: 8, warmupSeconds: 3, durationSeconds: 10 },
  unary: { concurrency: 32, warmupSeconds: 3, durationSeconds: 10 },
  // The same 50,000 deliveries a second both times: 1,000 streams x 50 changes, then 10,000 streams x 5 changes (at
  // most 1,000 streams per connection, GRPC_MAX_CONCURRENT_STREAMS).
  watch: [
    { streams: 1_000, connections: 10, changesPerSecond: 50, durationSeconds: 10, warmupSeconds: 2 },
    { streams: 10_000, connections: 20, changesPerSecond: 5, durationSeconds: 10, warmupSeconds: 2 },
  ],
  micro: { warmupMs: 500, budgetMs: 1_000 },
  instructions: { warmupCalls: 10_000, calls: 1_000, samples: 3 },
  starts: 3,
};

const SMOKE: Profile = {
  name: "smoke",
  users: 10_000,
  h2load: { clients: 4, streamsPerClient: 4, warmupSeconds: 0.3, durationSeconds: 1 },
  unary: { concurrency: 8, warmupSeconds: 0.3, durationSeconds: 1 },
  watch: [
    { streams: 20, connections: 2, changesPerSecond: 20, durationSeconds: 1, warmupSeconds: 0.5 },
    { streams: 200, connections: 2, changesPerSecond: 5, durationSeconds: 1, warmupSeconds: 0.5 },
  ],
  micro: { warmupMs: 50, budgetMs: 100 },
  instructions: { warmupCalls: 300, calls: 50, samples: 1 },
  starts: 1,
};

/** The suites, in the order they run. */
export const SUITES = [
  "getuser",
  "instructions",
  "startup",
  "stream",
  "createorder",
  "createorderpg",
  "watch",
  "interceptors",
] as const;
/** One of SUITES. */
export type SuiteName = (typeof SUITES)[number];

/** What the command line asked for. */
export interface Options {
  profile: Profile;
  runs: number;
  only: SuiteName[];
  cpuProf: boolean;
}

export const USAGE = `usage: tsx bench/run.ts [--smoke] [--runs N] [--only ${SUITES.join(",")}] [--cpu-prof]
  --smoke     CI mode: tiny counts, one run, a few seconds per benchmark; figures are printed, not judged
  --runs N    runs per benchmark (default 3; 1 with --smoke); the table shows median [min–max]
  --only      a comma list of benchmarks to run
  --cpu-prof  write a V8 CPU profile of every server process to bench/results/profiles/`;

/** Parses argv; throws with USAGE on a mistake. */
export function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      smoke: { type: "boolean", default: false },
      runs: { type: "string" },
      only: { type: "string" },
      "cpu-prof": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new Error(USAGE);
  const profile = values.smoke ? SMOKE : FULL;
  const runs = values.runs === undefined ? (values.smoke ? 1 : 3) : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number\n${USAGE}`);
  const only = values.only === undefined ? [...SUITES] : values.only.split(",").map((s) => s.trim());
  const unknown = only.filter((name) => !(SUITES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(", ")}\n${USAGE}`);
  return { profile, runs, only: only as SuiteName[], cpuProf: values["cpu-prof"] };
}
