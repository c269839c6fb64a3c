// Starting what the benchmark measures as separate processes: servers pinned to one core with their logs going to a
// file, load generators pinned to the other core and speaking a tiny JSON-lines protocol (see ../load/protocol.ts).
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { peakRssMb, rssMb, serverCore } from "./proc-stats.js";

/** The repository root; every entry path is relative to it. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Where servers and load generators run: separate cores when the machine has two and taskset exists. */
export const PINNING = availableParallelism() >= 2 && hasTaskset() ? { server: "0", load: "1" } : undefined;
serverCore.id = PINNING?.server;

/** Moves this runner (all its threads) to the load core, so the server core runs only the servers (and strangers). */
export function pinRunner(): void {
  if (PINNING) execFileSync("taskset", ["-a", "-p", "-c", PINNING.load, String(process.pid)], { stdio: "ignore" });
}

/** When set, every server process writes V8 CPU profiles into a subdirectory of this (named after its log file). */
export const serverProfiling: { dir: string | undefined } = { dir: undefined };

/** Where run.ts puts the bundled servers (plain node, no tsx loader: what `npm start` runs). */
export const BUNDLE_DIR = resolve(REPO_ROOT, "bench/results/dist");

function command(
  core: string | undefined,
  entry: string,
  nodeFlags: readonly string[] = [],
  wrapper: readonly string[] = [],
): [string, string[]] {
  // Bundles (.mjs) run on plain node, as shipped; TypeScript entries need tsx.
  const node = entry.endsWith(".mjs")
    ? [...nodeFlags, resolve(REPO_ROOT, entry)]
    : [...nodeFlags, "--import", "tsx", resolve(REPO_ROOT, entry)];
  const line = [...wrapper, process.execPath, ...node];
  return core ? ["taskset", ["-c", core, ...line]] : [line[0]!, line.slice(1)];
}

/** How to start a server beyond its entry and environment. */
export interface StartOptions {
  /** A command the node process runs under (e.g. valgrind and its flags); it must exec node in the same process. */
  wrapper?: readonly string[];
  /** Node flags before the entry (an Orderly service bundle gets SERVICE_NODE_FLAGS, as npm start passes them). */
  nodeFlags?: readonly string[];
  /** How long it may take to log "listening" (default 30 s). */
  listenTimeoutMs?: number;
}

/** A server process under test. */
export interface RunningServer {
  readonly name: string;
  readonly pid: number;
  readonly address: string;
  readonly logFile: string;
  /** Resident memory right after it logged "listening", MB: what the process costs before any work. */
  readonly startRssMb: number;
  /** Peak resident memory so far (VmHWM), MB. */
  peakRssMb(): number;
  /** SIGTERM, then SIGKILL after 15 s; resolves when the process has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `entry` (e.g. services/users/src/main.ts) on the server core, stdout and stderr to logFile; waits for
 * "listening".
 */
export async function startServer(
  name: string,
  entry: string,
  env: Record<string, string>,
  logFile: string,
  options: StartOptions = {},
): Promise<RunningServer> {
  const out = openSync(logFile, "w");
  // Node 20 names profiles by pid and thread itself (tsx adds a loader thread), so each server gets its own directory.
  const profileDir = serverProfiling.dir && join(serverProfiling.dir, `${basename(logFile, ".log")}-${Date.now()}`);
  const [cmd, args] = command(
    PINNING?.server,
    entry,
    [...(options.nodeFlags ?? []), ...(profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [])],
    options.wrapper,
  );
  let child: ChildProcess;
  try {
    // LOG_LEVEL=info is what ships; the log goes to a file, as a real deployment's would, never to an unread pipe.
    child = spawn(cmd, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: "info", ...env },
      stdio: ["ignore", out, out],
    });
  } finally {
    closeSync(out);
  }
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const port = await waitForListening(child, logFile, name, options.listenTimeoutMs ?? 30_000);
  return {
    name,
    pid: child.pid!,
    address: `127.0.0.1:${port}`,
    logFile,
    startRssMb: rssMb(child.pid!),
    peakRssMb: () => peakRssMb(child.pid!),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForListening(
  child: ChildProcess,
  logFile: string,
  name: string,
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    const text = readFileSync(logFile, "utf8").slice(0, 256 * 1024);
    for (const line of text.split("\n")) {
      if (!line.includes('"listening"')) continue;
      const port = (JSON.parse(line) as { port?: number }).port;
      if (typeof port === "number") return port;
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before listening:\n${text.slice(-2000)}`);
    }
    if (Date.now() - started > timeoutMs) {
      child.kill("SIGKILL");
      throw new Error(`${name} did not log "listening" within ${timeoutMs / 1000} s:\n${text.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs a script (bench/load/*.ts) with `config`, on the load core unless told; calls onMark for each mark it prints.
 */
export async function runLoad<R>(
  entry: string,
  config: unknown,
  onMark: (name: string) => void = () => {},
  core = PINNING?.load,
): Promise<R> {
  const [cmd, args] = command(core, entry);
  const child = spawn(cmd, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, BENCH_CONFIG: JSON.stringify(config) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  let result: R | undefined;
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    const message = JSON.parse(line) as { mark?: string; result?: R };
    if (message.mark !== undefined) onMark(message.mark);
    if (message.result !== undefined) result = message.result;
  });
  const code = await new Promise<number | null>((done) => child.once("close", (exitCode) => done(exitCode)));
  if (code !== 0 || result === undefined) throw new Error(`${entry} failed (exit ${code}):\n${stderr}`);
  return result;
}
