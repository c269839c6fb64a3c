// Peak RSS of the users bundle while streaming every seeded user, over many fresh processes (issue 11 row 2 is
// bimodal: some streams promote early and old space grows). Each variant is a bundle and its node flags; variants run
// alternating (A B A B ...), each stream in a fresh process with --trace-gc, and every stream's peak, messages/s,
// GC counts and largest heap are printed (a high stream shows about 11 mark-compacts instead of 1). The seeded database
// and the servers' logs (with the --trace-gc lines) are kept in STREAM_RSS_DIR (default /tmp/stream-rss). Build the
// bundles first (npm run build) and copy each variant's dist/ under bench/results/ (externals resolve from the repo).
//
//   npx tsx bench/stream-rss.ts --streams 10 --users 1000000 \
//     --variant 'base|bench/results/dist/users.mjs|--max-semi-space-size=8' --variant '...'
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { testToken } from "@orderly/kit/testing";
import { testAuthEnv } from "../test/support/service-process.js";
import type { StreamUsersResult } from "./load/stream-users.js";
import { seedUsers } from "./lib/fixture.js";
import { cpuUsed, markCpu, peakRssMb } from "./lib/proc-stats.js";
import { pinRunner, runLoad, startServer } from "./lib/processes.js";

interface Variant {
  name: string;
  bundle: string;
  flags: string[];
}

function parseArgs(argv: string[]): { streams: number; users: number; variants: Variant[] } {
  let streams = 10;
  let users = 1_000_000;
  const variants: Variant[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = argv[++i] ?? "";
    if (arg === "--streams") streams = Number(value);
    else if (arg === "--users") users = Number(value);
    else if (arg === "--variant") {
      const [name = "", bundle = "", flags = ""] = value.split("|");
      variants.push({ name, bundle, flags: flags.split(/\s+/).filter((f) => f !== "") });
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (variants.length === 0) throw new Error("give at least one --variant 'name|bundle|flags'");
  return { streams, users, variants };
}

interface GcSummary {
  scavenges: number;
  markCompacts: number;
  firstMarkCompactMs: number | undefined;
  maxHeapMb: number;
  maxHeapAfterMb: number;
}

// "[pid:0x...]   1234 ms: Mark-Compact 30.1 (45.2) -> 20.3 (40.1) MB, ..."
function summariseGc(log: string): GcSummary {
  const summary: GcSummary = {
    scavenges: 0,
    markCompacts: 0,
    firstMarkCompactMs: undefined,
    maxHeapMb: 0,
    maxHeapAfterMb: 0,
  };
  for (const match of log.matchAll(
    /\s(\d+) ms: (Scavenge|Mark-Compact|Mark-Compact \(reduce\)|Minor Mark-Compact)[^\d]*([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/g,
  )) {
    const at = Number(match[1]);
    const kind = match[2]!;
    if (kind === "Scavenge") summary.scavenges++;
    else {
      summary.markCompacts++;
      summary.firstMarkCompactMs ??= at;
    }
    summary.maxHeapMb = Math.max(summary.maxHeapMb, Number(match[4]), Number(match[6]));
    summary.maxHeapAfterMb = Math.max(summary.maxHeapAfterMb, Number(match[5]));
  }
  return summary;
}

async function main(): Promise<void> {
  const { streams, users, variants } = parseArgs(process.argv.slice(2));
  pinRunner();
  const dir = process.env.STREAM_RSS_DIR ?? "/tmp/stream-rss";
  const dataDir = join(dir, `users-${users}`);
  const logDir = join(dir, "logs");
  mkdirSync(logDir, { recursive: true });
  if (!existsSync(join(dataDir, "users.sqlite"))) {
    mkdirSync(dataDir, { recursive: true });
    process.stderr.write(`seeding ${users} users into ${dataDir}\n`);
    await seedUsers(join(dataDir, "users.sqlite"), users);
  }
  const token = await testToken("bench-admin", ["admin"], { expiresInSeconds: 4 * 3600 });
  const authEnv = await testAuthEnv();
  for (let stream = 0; stream < streams; stream++) {
    const order = stream % 2 === 0 ? variants : [...variants].reverse();
    for (const variant of order) {
      const logFile = join(logDir, `${variant.name}-${stream}.log`);
      const server = await startServer(
        "users",
        variant.bundle,
        { ...authEnv, SHUTDOWN_GRACE_MS: "2000", DATA_DIR: dataDir, USERS_ADDRESS: "127.0.0.1:0" },
        logFile,
        { nodeFlags: [...variant.flags, "--trace-gc"] },
      );
      let line: string;
      try {
        const marks = new Map<string, ReturnType<typeof markCpu>>();
        const result = await runLoad<StreamUsersResult>(
          "bench/load/stream-users.ts",
          { address: server.address, token, expected: users },
          (name) => marks.set(name, markCpu([server.pid])),
        );
        const cpu = cpuUsed(marks.get("start")!, marks.get("end")!, server.pid);
        const peak = peakRssMb(server.pid);
        await server.stop();
        const gc = summariseGc(readFileSync(logFile, "utf8"));
        line =
          `${variant.name.padEnd(12)} #${stream} peak ${peak.toFixed(0)} MB (start ${server.startRssMb.toFixed(0)}), ` +
          `${result.messagesPerSecond.toFixed(0)} msg/s, ${((cpu * 1e6) / result.messages).toFixed(2)} µs/msg, ` +
          `scavenges ${gc.scavenges}, mark-compacts ${gc.markCompacts} (first at ${gc.firstMarkCompactMs ?? "-"} ms), heap max ${gc.maxHeapMb.toFixed(1)} MB ` +
          `(live max ${gc.maxHeapAfterMb.toFixed(1)})`;
      } finally {
        await server.stop();
      }
      process.stdout.write(`${line}\n`);
    }
  }
}

await main();
