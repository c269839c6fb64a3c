// 6. Cold start and idle memory per service: the time from spawning the bundle `npm start` runs (plain node, after
// `npm run build`) to its first health check answering SERVING, on a fresh data directory (the store is created and
// migrated, as on a first start); then the resident memory after a second of idling.
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { callOnce, grpcFrame } from "../lib/grpc-frame.js";
import { startServer } from "../lib/processes.js";
import { rssMb } from "../lib/proc-stats.js";
import type { Row, SuiteReport } from "../lib/report.js";
import { spread } from "../lib/stats.js";
import type { SuiteContext } from "./context.js";
import { nodeFlagsOf } from "../../services/node-flags.mjs";

const SERVICES = ["users", "orders"] as const;
/** HealthCheckResponse { status: SERVING } on the wire. */
const SERVING = Buffer.from([0x08, 0x01]);
const HEALTH = "/grpc.health.v1.Health/Check";
const TARGET_MS = 1000;
const IDLE_MS = 1000;

interface Start {
  servingMs: number;
  idleRssMb: number;
}

/** Starts each service ctx.profile.starts times per run; one row for start-to-SERVING, one for idle RSS. */
export async function startupSuite(ctx: SuiteContext): Promise<SuiteReport> {
  const starts: Record<string, Start[]> = { users: [], orders: [] };
  const rounds = ctx.runs * ctx.profile.starts;
  for (let round = 0; round < rounds; round++) {
    for (const service of SERVICES) {
      ctx.progress(`cold start ${round + 1}/${rounds}: ${service}`);
      starts[service]!.push(await coldStart(ctx, service));
    }
  }
  const rows: Row[] = SERVICES.flatMap((service): Row[] => {
    const serving = spread(starts[service]!.map((s) => s.servingMs));
    return [
      {
        benchmark: `6. ${service}: cold start to SERVING (node dist/${service}.mjs)`,
        unit: "ms",
        orderly: serving,
        target: `< ${TARGET_MS} ms`,
        met: serving.median < TARGET_MS,
        digits: 0,
      },
      {
        benchmark: `6. ${service}: idle RSS (${IDLE_MS / 1000} s after SERVING)`,
        unit: "MB",
        orderly: spread(starts[service]!.map((s) => s.idleRssMb)),
        target: "-",
        digits: 0,
      },
    ];
  });
  return {
    name: "startup",
    rows,
    details: [
      `Cold starts (${rounds} per service, fresh DATA_DIR each: the SQLite file is created and migrated; SERVING = the first`,
      `  grpc.health.v1 Check answering SERVING, polled over HTTP/2 every 5 ms from the moment of spawning; npm start's`,
      `  bundling step (npm run build) comes before this and is not counted)`,
    ],
    data: starts,
  };
}

async function coldStart(ctx: SuiteContext, service: (typeof SERVICES)[number]): Promise<Start> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(ctx.workDir, `start-${service}-`));
  const env: Record<string, string> = {
    ...ctx.authEnv,
    DATA_DIR: dataDir,
    ...(service === "users" ? { USERS_ADDRESS: address } : { ORDERS_ADDRESS: address, USERS_TARGET: "127.0.0.1:1" }),
  };
  const spawned = performance.now();
  const serving = untilServing(address);
  const server = await startServer(
    service,
    `bench/results/dist/${service}.mjs`,
    env,
    join(ctx.logDir, `start-${service}.log`),
    { nodeFlags: nodeFlagsOf(service) },
  );
  try {
    const servingMs = (await serving) - spawned;
    await sleep(IDLE_MS);
    return { servingMs, idleRssMb: rssMb(server.pid) };
  } finally {
    await server.stop();
  }
}

/** Resolves with performance.now() at the first health check that answers SERVING (gives up after 30 s). */
async function untilServing(address: string): Promise<number> {
  const body = grpcFrame(new Uint8Array());
  const started = performance.now();
  while (performance.now() - started < 30_000) {
    try {
      const answer = await callOnce(address, HEALTH, { "content-type": "application/grpc", te: "trailers" }, body);
      if (answer.grpcStatus === "0" && answer.message.equals(SERVING)) return performance.now();
    } catch {
      // Not listening yet.
    }
    await sleep(5);
  }
  throw new Error(`${address} did not answer SERVING within 30 s`);
}

/** A port nothing listens on right now (the kernel's pick for port 0, released at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}
