// Readers that stop reading: WatchOrders watchers and StreamUsers readers that take one message and then pause (grpc-js
// stops reading, so HTTP/2 flow control pushes back on the server), while orders keep being written and other
// callers keep calling GetUser. The servers' memory must stay bounded (each paused stream may hold what its
// flow-control window and one batch hold; a watcher is ended with WATCH_TOO_SLOW the moment its queue overflows),
// and the other callers must keep their latency.
import { credentials, Metadata, type ClientReadableStream } from "@grpc/grpc-js";
import pg from "pg";
import { createOrderClient, createUserClient } from "@orderly/clients";
import { OrderServiceClient } from "@orderly/proto/orderly/order/v1/order_service";
import { UserServiceClient } from "@orderly/proto/orderly/user/v1/user_service";
import type { Scenario, ScenarioOptions, ScenarioResult } from "../scenario.js";
import { onPrivatePostgres, type Deployment } from "../lib/deployment.js";
import { runWorkers } from "../lib/load.js";
import { markedOrder } from "../lib/orders.js";
import { roundRobin } from "../lib/pick.js";
import { sampleRss } from "../lib/rss.js";
import { sleep, waitUntil } from "../lib/time.js";

// users: made through the API (GetUser reads them); bulkUsers: inserted with SQL, so each StreamUsers reader has a
// few MB to send (far more than its windows hold): a server that ignored the pushback would buffer all of it per
// reader.
const FULL = {
  consumers: 200,
  users: 200,
  bulkUsers: 30_000,
  queueLimit: 1_000,
  orders: 3_000,
  baselineMs: 5_000,
  connections: 10,
};
const SMOKE = {
  consumers: 40,
  users: 50,
  bulkUsers: 10_000,
  queueLimit: 50,
  orders: 400,
  baselineMs: 2_000,
  connections: 4,
};
/** The paused consumers' HTTP/2 windows (grpc-node.flow_control_window): tiny, so pushback comes at once. */
const CONSUMER_WINDOW_BYTES = 1_024;
/**
 * What a paused StreamUsers reader may cost UserService, at most: one store batch of 500 users held in its three shapes
 * (PostgreSQL rows, domain users, protobuf messages: about 1.5 MB) plus grpc-js's write buffer (16 messages) and the
 * HTTP/2 window; never the rest of the table. A paused watcher costs at most its queue, and is ended when it overflows.
 */
const PER_STREAM_BOUND_MB = 2.5;
/** Fixed headroom over the RSS before the consumers came (V8 heap growth under the writes and reads). */
const HEADROOM_MB = 96;
/** GetUser p99 while the consumers are paused must stay under this. */
const P99_LIMIT_MS = 250;

/** The slow consumers row. */
export const slowConsumers: Scenario = {
  id: "slow-consumers",
  title:
    "Paused WatchOrders watchers and StreamUsers readers (they stop reading) while orders are written and GetUser is called",
  criterion:
    `each server's RSS stays under its RSS before + ${HEADROOM_MB} MB + ${PER_STREAM_BOUND_MB} MB per paused stream of ` +
    "its own (one store batch, not the table); every paused " +
    "watcher is ended by the server with RESOURCE_EXHAUSTED WATCH_TOO_SLOW while still paused (its queue overflowed); " +
    `GetUser from other callers keeps answering, p99 under ${P99_LIMIT_MS} ms (before and during reported)`,
  run,
};

async function run({ smoke, workDir, log }: ScenarioOptions): Promise<ScenarioResult> {
  const size = smoke ? SMOKE : FULL;
  return onPrivatePostgres(
    { usersReplicas: 1, ordersReplicas: 1, ordersEnv: { WATCH_QUEUE_LIMIT: String(size.queueLimit) } },
    workDir,
    async (deployment, database) => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query(
        `INSERT INTO users.users (id, email, first_name, last_name, create_time, update_time, etag)
         SELECT 'usr_bulk' || lpad(g::text, 8, '0'), 'soak-bulk-' || g || '@example.com', 'Bulk', 'Reader ' || g,
                now(), now(), 'e' || g
         FROM generate_series(1, $1::int) AS g`,
        [size.bulkUsers],
      );
      await client.end();
      return slow(deployment, size, log);
    },
  );
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function slow(deployment: Deployment, size: typeof FULL, log: (line: string) => void): Promise<ScenarioResult> {
  const token = deployment.adminToken;
  const usersProcess = roundRobin(deployment.users, 0);
  const ordersProcess = roundRobin(deployment.orders, 0);
  const users = createUserClient({ address: usersProcess.address, token });
  const orders = createOrderClient({ address: ordersProcess.address, token });
  const ids: string[] = [];
  let made = 0;
  await runWorkers(16, async () => {
    while (made < size.users) {
      const n = made++;
      ids.push((await users.create({ email: `soak-slow-${n}@example.com`, profile: { firstName: "Slow" } })).id);
    }
  });
  log(`${ids.length} users made`);

  // GetUser from other callers, latency recorded per phase.
  const latencies = { before: [] as number[], during: [] as number[] };
  const state: { phase: "before" | "during" | "done" } = { phase: "before" };
  const phaseNow = () => state.phase;
  let getFailures = 0;
  const getters = runWorkers(4, async (w) => {
    for (let i = w; ; i += 4) {
      if (phaseNow() === "done") return;
      const started = performance.now();
      try {
        await users.get(roundRobin(ids, i), { deadlineMs: 5_000 });
      } catch {
        getFailures++;
      }
      const phase = phaseNow();
      if (phase !== "done") latencies[phase].push(performance.now() - started);
    }
  });
  await sleep(size.baselineMs);
  const before = { users: sampleRss(usersProcess.child), orders: sampleRss(ordersProcess.child) };
  await sleep(300);
  const rssBefore = { users: before.users.stop(), orders: before.orders.stop() };
  state.phase = "during";
  const during = { users: sampleRss(usersProcess.child), orders: sampleRss(ordersProcess.child) };

  // The paused consumers: half watchers, half readers, spread over their own connections.
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  const own = { "grpc.use_local_subchannel_pool": 1, "grpc-node.flow_control_window": CONSUMER_WINDOW_BYTES };
  const orderClients = Array.from(
    { length: size.connections },
    () => new OrderServiceClient(ordersProcess.address, credentials.createInsecure(), own),
  );
  const userClients = Array.from(
    { length: size.connections },
    () => new UserServiceClient(usersProcess.address, credentials.createInsecure(), own),
  );
  const streams: ClientReadableStream<unknown>[] = [];
  const endings = new Map<string, number>();
  const pauseAfterFirst = (stream: ClientReadableStream<unknown>) =>
    new Promise<void>((resolve) => {
      stream.on("error", (error: { code?: number; details?: string }) =>
        endings.set(String(error.code), (endings.get(String(error.code)) ?? 0) + 1),
      );
      stream.once("data", () => {
        stream.pause(); // never resumed: the client stops reading
        resolve();
      });
    });
  const half = size.consumers / 2;
  for (let i = 0; i < half; i++) {
    const watch = roundRobin(orderClients, i).watchOrders({ orderId: "", userId: "", sinceRevision: 0n }, metadata);
    const read = roundRobin(userClients, i).streamUsers({ filter: { emailContains: "" } }, metadata);
    streams.push(watch, read);
  }
  await Promise.all(streams.map(pauseAfterFirst));
  log(`${streams.length} consumers paused after their first message`);

  // Orders written while they are paused: more than any watcher's queue and windows hold.
  let written = 0;
  let writeFailures = 0;
  await runWorkers(16, async (w) => {
    while (written < size.orders) {
      written++;
      try {
        await orders.create(markedOrder(roundRobin(ids, w), `SLOW-${written}`));
      } catch {
        writeFailures++;
      }
    }
  });
  const watchEnds = () =>
    ordersProcess.logs.filter(
      (l) => l["msg"] === "call" && String(l["method"]).endsWith("/WatchOrders") && l["reason"] === "WATCH_TOO_SLOW",
    ).length;
  await waitUntil(() => watchEnds() >= half, 10_000);
  const endedWhilePaused = watchEnds();
  await sleep(1_000);
  state.phase = "done";
  await getters;
  const peak = { users: during.users.stop(), orders: during.orders.stop() };
  for (const stream of streams) stream.cancel();
  for (const c of [...orderClients, ...userClients]) c.close();
  users.close();
  orders.close();

  const failures: string[] = [];
  const bound = (s: "users" | "orders") => Math.round(rssBefore[s].last + HEADROOM_MB + PER_STREAM_BOUND_MB * half);
  for (const s of ["users", "orders"] as const)
    if (!(peak[s].max <= bound(s)))
      failures.push(`${s} RSS peaked at ${peak[s].max} MB, over its bound of ${bound(s)} MB`);
  if (endedWhilePaused < half)
    failures.push(`${endedWhilePaused} of ${half} paused watchers were ended by the server with WATCH_TOO_SLOW`);
  const p99 = { before: percentile(latencies.before, 99), during: percentile(latencies.during, 99) };
  const p50 = { before: percentile(latencies.before, 50), during: percentile(latencies.during, 50) };
  if (!(p99.during < P99_LIMIT_MS)) failures.push(`GetUser p99 during was ${p99.during.toFixed(1)} ms`);
  if (getFailures > 0) failures.push(`${getFailures} GetUser calls failed`);
  if (writeFailures > 0) failures.push(`${writeFailures} CreateOrder calls failed`);
  for (const s of ["users", "orders"] as const)
    if (deployment[s].some((p) => p.child.exitCode !== null)) failures.push(`${s} exited`);

  const ms = (n: number) => `${n.toFixed(1)} ms`;
  const mem = (s: "users" | "orders") => `${s} ${rssBefore[s].last} -> peak ${peak[s].max} MB (bound ${bound(s)})`;
  return {
    passed: failures.length === 0,
    figures: {
      consumers: streams.length,
      watchers: half,
      readers: half,
      users: ids.length + size.bulkUsers,
      ordersWritten: written,
      queueLimit: size.queueLimit,
      watchersEndedWatchTooSlow: endedWhilePaused,
      getUserCalls: `${latencies.before.length} before, ${latencies.during.length} during`,
      getUserP50: `${ms(p50.before)} before, ${ms(p50.during)} during`,
      getUserP99: `${ms(p99.before)} before, ${ms(p99.during)} during`,
      rss: `${mem("users")}; ${mem("orders")}`,
      clientSawOnCancel: [...endings].map(([c, n]) => `${c} x${n}`).join(", "),
    },
    summary:
      `${streams.length} paused consumers (${half} WatchOrders, ${half} StreamUsers of ` +
      `${(ids.length + size.bulkUsers).toLocaleString("en-US")} users, ${CONSUMER_WINDOW_BYTES} B windows) while ` +
      `${written.toLocaleString("en-US")} orders were written (WATCH_QUEUE_LIMIT ${size.queueLimit}): ${endedWhilePaused}/${half} watchers ` +
      `ended WATCH_TOO_SLOW while paused; RSS ${mem("users")}, ${mem("orders")}; GetUser p99 ${ms(p99.before)} before, ` +
      `${ms(p99.during)} during (p50 ${ms(p50.before)} / ${ms(p50.during)}); ${getFailures} GetUser failures`,
    failures,
  };
}
