// Running h2load (Debian: nghttp2-client) against a gRPC method and reading its summary.
import { execFile, execFileSync } from "node:child_process";
import { PINNING } from "./processes.js";

/** What one h2load run reports. */
export interface H2loadResult {
  requestsPerSecond: number;
  succeeded: number;
  failed: number;
  /** Latency of a request, milliseconds. */
  meanMs: number;
  maxMs: number;
}

/** How hard h2load pushes: connections, streams per connection, and how long (or how many requests). */
export type H2loadLoad = { clients: number; streamsPerClient: number } & (
  { durationSeconds: number } | { requests: number }
);

/** Throws an actionable error when h2load is missing. */
export function requireH2load(): void {
  try {
    execFileSync("h2load", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error(
      "h2load is missing: install it with `apt-get install -y nghttp2-client` (Debian/Ubuntu), then run again",
    );
  }
}

/** POSTs `body` to http://address/path (HTTP/2 with prior knowledge) for the given time or count, on the load core. */
export async function h2load(
  address: string,
  path: string,
  headers: Record<string, string>,
  bodyFile: string,
  load: H2loadLoad,
): Promise<H2loadResult> {
  const args = [
    ...("requests" in load ? ["-n", String(load.requests)] : ["-D", `${Math.round(load.durationSeconds * 1000)}ms`]),
    "-c",
    String(load.clients),
    "-m",
    String(load.streamsPerClient),
    "-t",
    "1",
    "-d",
    bodyFile,
    ...Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
    `http://${address}${path}`,
  ];
  const [cmd, fullArgs] = PINNING ? ["taskset", ["-c", PINNING.load, "h2load", ...args]] : ["h2load", args];
  const output = await new Promise<string>((resolve, reject) =>
    execFile(cmd, fullArgs, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`h2load failed: ${error.message}\n${stderr}\n${stdout}`)) : resolve(stdout),
    ),
  );
  return parseH2load(output);
}

/** Parses h2load's summary; throws when a line it needs is missing. */
export function parseH2load(output: string): H2loadResult {
  const rps = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(output);
  const requests =
    /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      output,
    );
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(output);
  const latency = /time for request:\s+([\d.]+\w+)\s+([\d.]+\w+)\s+([\d.]+\w+)/.exec(output);
  if (!rps || !requests || !status || !latency) throw new Error(`cannot read h2load's output:\n${output}`);
  const succeeded = Number(requests[1]);
  const non2xx = Number(status[2]) + Number(status[3]) + Number(status[4]);
  return {
    requestsPerSecond: Number(rps[1]),
    succeeded,
    failed: Number(requests[2]) + Number(requests[3]) + Number(requests[4]) + non2xx,
    meanMs: toMs(latency[3]!),
    maxMs: toMs(latency[2]!),
  };
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value);
  if (!match) throw new Error(`unknown h2load time "${value}"`);
  const n = Number(match[1]);
  return match[2] === "us" ? n / 1000 : match[2] === "ms" ? n : n * 1000;
}
