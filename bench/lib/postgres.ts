// PostgreSQL for the benchmark: a throwaway database per run on the machine's cluster (the one the tests use), dropped
// afterwards even when the run failed, and the CPU of the server processes (backends) serving that database, read from
// /proc by their pids. The benchmark needs PostgreSQL for the rows that say so: unreachable is an error, never a skip.
import { readdirSync, readFileSync } from "node:fs";
import pg from "pg";
import { cpuSeconds } from "./proc-stats.js";

/** The cluster the benchmark uses: ORDERLY_TEST_DATABASE_URL (as the tests), or the local default cluster. */
export function benchPostgresUrl(): string {
  return process.env["ORDERLY_TEST_DATABASE_URL"] || "postgres://postgres@127.0.0.1:5432/postgres";
}

/** A database created for one benchmark run. */
export interface BenchDatabase {
  readonly name: string;
  /** The connection string of the new database (the cluster's URL with its database replaced). */
  readonly url: string;
  /** Drops the database, terminating any connection still open; safe to call twice. */
  drop(): Promise<void>;
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw new Error(
      `PostgreSQL is required for this benchmark and is not reachable at ${redact(url)} (${
        error instanceof Error ? error.message : String(error)
      }); start it with pg_ctlcluster <version> main start, or set ORDERLY_TEST_DATABASE_URL`,
      { cause: error },
    );
  }
  return client;
}

let counter = 0;

/** The benchmark process that created `name` (its pid is in the name), or undefined for a name not of that form. */
export function benchDatabaseOwner(name: string): number | undefined {
  const match = /^orderly_bench_(\d+)_[0-9a-z]+_\d+$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
  }
}

/**
 * Drops the databases of benchmark runs whose process is gone (a run killed with SIGKILL never reaches its finally).
 * A run still going, here or in another checkout, keeps its database: only a dead owner's is dropped.
 */
async function dropOrphans(admin: pg.Client): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'orderly\\_bench\\_%'",
  );
  for (const { datname } of rows) {
    const owner = benchDatabaseOwner(datname);
    if (owner === undefined || isRunning(owner)) continue;
    await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    console.error(`bench: dropped ${datname}, left behind by a run that is gone (pid ${owner})`);
  }
}

/**
 * Creates `orderly_bench_<pid>_<time>_<n>` on the cluster at `clusterUrl`, first dropping those of runs that are
 * gone; throws (loudly) when PostgreSQL is not reachable. The caller drops it in a finally.
 */
export async function createBenchDatabase(clusterUrl: string = benchPostgresUrl()): Promise<BenchDatabase> {
  counter += 1;
  const name = `orderly_bench_${process.pid}_${Date.now().toString(36)}_${counter}`;
  const admin = await connect(clusterUrl);
  try {
    await dropOrphans(admin);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      const client = await connect(clusterUrl);
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        dropped = true;
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * The cluster's processes found in /proc by their title (PostgreSQL sets it: "postgres: 15/main: <user> <database>
 * <host(port)> <state>" for a backend, "postgres: 15/main: walwriter" for a background process): the backends connected
 * to `database`, and the background processes (walwriter, checkpointer, background writer; shared by every database
 * on the cluster). Read synchronously, so it can run at the instant a load generator marks its window. Empty when
 * /proc or the titles are not available (update_process_title off).
 */
export function postgresPids(database: string): { backends: number[]; background: number[] } {
  const backends: number[] = [];
  const background: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return { backends, background };
  }
  const backend = new RegExp(`^postgres: (?:\\S+: )?\\S+ ${database} `);
  const writer = /^postgres: (?:\S+: )?(walwriter|checkpointer|background writer)\b/;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let title: string;
    try {
      title = readFileSync(`/proc/${entry}/cmdline`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    if (!title.startsWith("postgres: ")) continue;
    if (backend.test(title)) backends.push(Number(entry));
    else if (writer.test(title)) background.push(Number(entry));
  }
  return { backends, background };
}

/** CPU seconds of a set of backends at one moment, by pid (a backend that has gone reads NaN and is left out). */
export function markBackends(pids: readonly number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, cpuSeconds(pid)]).filter(([, s]) => Number.isFinite(s)) as [number, number][]);
}

/**
 * CPU seconds the backends used between two marks: for a backend seen at both, the difference; one seen only at the
 * end (connected during the window) counts all its CPU; one gone by the end is lost (the services' pools keep their
 * connections under load, so this is rare; `lost` says how many).
 */
export function backendCpuUsed(
  start: Map<number, number>,
  end: Map<number, number>,
): { seconds: number; backends: number; lost: number } {
  let seconds = 0;
  for (const [pid, at] of end) seconds += at - (start.get(pid) ?? 0);
  const lost = [...start.keys()].filter((pid) => !end.has(pid)).length;
  return { seconds, backends: end.size, lost };
}

/** What the run database's backends were doing, counted over samples of pg_stat_activity. */
export interface ActivityCounts {
  /** Samples taken (each counts every backend of the database once). */
  samples: number;
  /** Backend-samples by what they were doing: "Lock/transactionid", "idle in transaction", "active", "IO/WALSync"... */
  byState: Record<string, number>;
}

/**
 * Polls pg_stat_activity for `database` every `intervalMs` on a connection of its own (to the cluster's database, so
 * it is not one of the backends counted) until stop(); counts only the samples taken between countFrom() and
 * countTo() (synchronous, for a load generator's marks). A backend running a statement counts as "active" or as what
 * it waits for ("Lock/transactionid": a row lock held by another transaction; "IO/WALSync": its commit's flush);
 * between statements of a transaction, "idle in transaction" (waiting for its client, the orders process); outside a
 * transaction, "idle".
 */
export async function sampleActivity(
  clusterUrl: string,
  database: string,
  intervalMs = 20,
): Promise<{ countFrom(): void; countTo(): void; stop(): Promise<ActivityCounts> }> {
  const client = await connect(clusterUrl);
  let counting = false;
  let running = true;
  const counts: ActivityCounts = { samples: 0, byState: {} };
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query<{ state: string | null; wait: string | null }>(
        `SELECT state, wait_event_type || '/' || wait_event AS wait FROM pg_stat_activity
         WHERE datname = $1 AND backend_type = 'client backend'`,
        [database],
      );
      if (counting) {
        counts.samples += 1;
        for (const row of rows) {
          const state = row.state === "active" && row.wait ? row.wait : (row.state ?? "unknown");
          counts.byState[state] = (counts.byState[state] ?? 0) + 1;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })().then(
    () => undefined,
    (error: unknown) => error,
  );
  return {
    countFrom() {
      counting = true;
    },
    countTo() {
      counting = false;
    },
    async stop() {
      running = false;
      counting = false;
      const failed = await loop;
      await client.end();
      if (failed) throw new Error("sampling pg_stat_activity failed", { cause: failed });
      return counts;
    },
  };
}
