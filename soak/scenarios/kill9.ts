// kill -9 of an OrderService replica in the middle of 10,000 CreateOrders. Two replicas and one UserService share a
// private PostgreSQL; the typed client (@orderly/clients, both addresses, its own retries of the IDEMPOTENT method)
// sends every order with its own idempotency key, 32 at a time. A quarter of the way in, one replica dies without a
// word and is started again on its old port. A call that still ends with a retryable code is re-driven by the harness
// with the same idempotency key, as a real caller would. Then the rows are counted, per intended order (each has a
// unique SKU): every acknowledged order is stored exactly once, under the id the caller was given, and nothing else.
import { randomUUID } from "node:crypto";
import { Code, createOrderClient, createUserClient } from "@orderly/clients";
import type { Scenario, ScenarioOptions, ScenarioResult } from "../scenario.js";
import { onPrivatePostgres, type Deployment, type ServiceProcess } from "../lib/deployment.js";
import { redrive, runWorkers } from "../lib/load.js";
import { countRows, createUsers, markedOrder, storedOrders } from "../lib/orders.js";
import { outcomeOf, Tally } from "../lib/outcomes.js";
import { roundRobin } from "../lib/pick.js";
import { sampleRss } from "../lib/rss.js";
import { msSince, sleep } from "../lib/time.js";

const FULL = { orders: 10_000, concurrency: 32, downMs: 1_000 };
const SMOKE = { orders: 400, concurrency: 8, downMs: 200 };
/** Re-drives per request before the harness gives up on it (each re-drive is itself up to 4 client attempts). */
const MAX_REDRIVES = 5;
/** How long orders go on after the run until the restarted replica has served one. */
const TAIL_MS = 10_000;
const CLEAR_CODES = new Set<number>([Code.OK, Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED]);

/** CreateOrders a replica answered OK, from its call log lines. */
const servedBy = (replica: ServiceProcess): number =>
  replica.logs.filter((l) => l.msg === "call" && String(l.method).endsWith("/CreateOrder") && l.code === "OK").length;

/** The kill -9 row. */
export const kill9: Scenario = {
  id: "kill9",
  title: "kill -9 of one of 2 OrderService replicas (PostgreSQL) during 10,000 CreateOrders",
  criterion:
    "typed client, own idempotency key per order, retryable failures re-driven with the same key (up to 5 times): every order acknowledged, " +
    "0 acknowledged orders lost, 0 duplicate rows, no row nobody was told of; every answer OK, UNAVAILABLE or DEADLINE_EXCEEDED " +
    "(never INTERNAL/UNKNOWN); the replica restarted on its port serves again",
  run,
};

async function run({ smoke, workDir, log }: ScenarioOptions): Promise<ScenarioResult> {
  return onPrivatePostgres({ usersReplicas: 1, ordersReplicas: 2 }, workDir, (deployment, database) => {
    log(
      `PostgreSQL on ${database.port}; users ${deployment.users.map((u) => u.address).join(", ")}; orders ${deployment.orders.map((o) => o.address).join(", ")}`,
    );
    return underLoad(deployment, database.url, smoke ? SMOKE : FULL, log);
  });
}

async function underLoad(
  deployment: Deployment,
  databaseUrl: string,
  size: typeof FULL,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const token = deployment.adminToken;
  const users = createUserClient({ address: deployment.users.map((u) => u.address), token });
  const userIds = await createUsers(users, "kill9", 4);
  users.close();
  const [victim, survivor] = deployment.orders as [ServiceProcess, ServiceProcess];
  // A caller's channel that notices a replica back within a second (grpc-js backs off up to 120 s by default).
  const orders = createOrderClient({
    address: deployment.orders.map((o) => o.address),
    token,
    channelOptions: { "grpc.initial_reconnect_backoff_ms": 200, "grpc.max_reconnect_backoff_ms": 1_000 },
  });
  const survivorRss = sampleRss(survivor.child);

  const answers = new Tally();
  const sent = new Set<string>();
  const acknowledged = new Map<string, string>();
  const unfinished: string[] = [];
  let redriven = 0;
  let next = 0;
  let inFlight = 0;
  const killAt = Math.floor(size.orders / 4);
  let fault:
    | Promise<{
        killedAfter: number;
        inFlightAtKill: number;
        failedAround: number;
        restartMs: number;
        replica: ServiceProcess;
      }>
    | undefined;
  const killAndRestart = async () => {
    const killedAfter = acknowledged.size;
    const inFlightAtKill = inFlight;
    const failedBefore = answers.failed;
    await victim.kill();
    log(`killed replica ${victim.address} (pid ${victim.child.pid}) after ${killedAfter} acknowledged`);
    await sleep(size.downMs);
    const failedAround = answers.failed - failedBefore;
    const started = performance.now();
    const replica = await deployment.startOrders(victim.address);
    const restartMs = msSince(started);
    log(`replica restarted on ${replica.address} (pid ${replica.child.pid}) in ${restartMs} ms`);
    return { killedAfter, inFlightAtKill, failedAround, restartMs, replica };
  };

  const sendOrder = async (i: number) => {
    const marker = `K9-${i}`;
    const idempotencyKey = randomUUID();
    sent.add(marker);
    inFlight++;
    const outcome = await redrive(
      () => orders.create(markedOrder(roundRobin(userIds, i), marker), { idempotencyKey }),
      MAX_REDRIVES,
    );
    inFlight--;
    for (const answer of outcome.answers) answers.add(answer);
    if (outcome.answers.length > 1) redriven++;
    if (outcome.value) acknowledged.set(marker, outcome.value.id);
    else unfinished.push(`${marker}: ${outcomeOf(outcome.answers.at(-1))}`);
  };

  const started = performance.now();
  await runWorkers(size.concurrency, async () => {
    for (let i = next++; i < size.orders; i = next++) {
      await sendOrder(i);
      if (acknowledged.size === killAt && !fault) fault = killAndRestart();
      if (acknowledged.size > 0 && acknowledged.size % 2_000 === 0)
        log(`${acknowledged.size.toLocaleString("en-US")} acknowledged`);
    }
  });
  const killed = await fault;
  // The run can end before the caller's channel has reconnected to the restarted replica (its reconnect backoff is up
  // to a second, the smoke run's tail after the restart about as long): orders go on, a few at a time, until the
  // restarted replica has served one or TAIL_MS has passed, so "serves again" is measured rather than raced.
  const tailStarted = performance.now();
  let tailOrders = 0;
  while (killed && servedBy(killed.replica) === 0 && msSince(tailStarted) < TAIL_MS) {
    await runWorkers(2, () => sendOrder(next++));
    tailOrders += 2;
  }
  const seconds = (performance.now() - started) / 1000;
  orders.close();
  const rss = survivorRss.stop();
  // Stopped first, so every call line of the restarted replica is in its log.
  await deployment.stop();
  const servedByRestarted = killed ? servedBy(killed.replica) : 0;

  const rows = countRows(await storedOrders(databaseUrl), sent, acknowledged);
  const failed = answers.failures();
  const unclear = answers.outside(CLEAR_CODES);
  const failures: string[] = [];
  if (!killed) failures.push("the replica was never killed (too few acknowledged orders)");
  if (acknowledged.size !== sent.size)
    failures.push(
      `${sent.size - acknowledged.size} orders not acknowledged after ${MAX_REDRIVES} re-drives: ${unfinished.slice(0, 5).join("; ")}`,
    );
  if (rows.lost.length > 0)
    failures.push(`${rows.lost.length} acknowledged orders lost: ${rows.lost.slice(0, 5).join(", ")}`);
  if (rows.duplicates > 0) failures.push(`${rows.duplicates} duplicate rows`);
  if (rows.unacknowledged > 0) failures.push(`${rows.unacknowledged} rows of orders the caller was never told of`);
  if (rows.strangers > 0 || rows.unclaimed > 0)
    failures.push(`${rows.strangers} rows this run never sent, ${rows.unclaimed} rows without an idempotency key`);
  if (unclear.length > 0) failures.push(`unclear answers: ${unclear.map(([o, n]) => `${o} x${n}`).join(", ")}`);
  if (killed && servedByRestarted === 0) failures.push("the restarted replica served no CreateOrder");

  const n = (value: number) => value.toLocaleString("en-US");
  return {
    passed: failures.length === 0,
    figures: {
      orders: sent.size,
      ordersAfterTheRun: tailOrders,
      concurrency: size.concurrency,
      acknowledged: acknowledged.size,
      lost: rows.lost.length,
      duplicates: rows.duplicates,
      rows: rows.rows,
      unacknowledgedRows: rows.unacknowledged,
      answers: answers.toString(),
      redrivenOrders: redriven,
      killedAfterAcknowledged: killed?.killedAfter ?? -1,
      inFlightAtKill: killed?.inFlightAtKill ?? -1,
      failedWhileDown: killed?.failedAround ?? -1,
      restartToListeningMs: killed?.restartMs ?? -1,
      servedByRestartedReplica: servedByRestarted,
      seconds: Math.round(seconds * 10) / 10,
      ordersPerSecond: Math.round(sent.size / seconds),
      survivorRssMb: `${rss.first} -> max ${rss.max}`,
    },
    summary:
      `${n(acknowledged.size)}/${n(sent.size)} acknowledged, ${rows.lost.length} lost, ${rows.duplicates} duplicates (${n(rows.rows)} rows); ` +
      `${answers.failed} calls failed (${failed.map(([o, c]) => `${o} ${c}`).join(", ") || "none"}), ${redriven} orders re-driven; ` +
      `killed after ${n(killed?.killedAfter ?? 0)} with ${killed?.inFlightAtKill ?? 0} calls in flight, back in ${((killed?.restartMs ?? 0) / 1000).toFixed(1)} s, then served ${n(servedByRestarted)}; ` +
      `${Math.round(sent.size / seconds)} orders/s`,
    failures,
  };
}
