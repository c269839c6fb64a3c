// SIGTERM to one of two OrderService replicas under load, as an orchestrator stops a pod. Unary workers (CreateOrder
// and GetOrder over both replicas: half through the typed client as shipped, half with its retries off, so a call the
// server dropped cannot hide behind a client retry) keep calling; WatchOrders streams are open on both replicas, some
// pinned to the stopping one. A separate client polls grpc.health.v1 Check on the stopping replica and a TCP probe
// tries to connect to it, so the order "health NOT_SERVING, then the listener closes" is measured from outside.
import { randomUUID } from "node:crypto";
import { credentials, Metadata } from "@grpc/grpc-js";
import { Code, createOrderClient, createUserClient, OrderlyError } from "@orderly/clients";
import { HealthCheckResponse_ServingStatus, HealthClient } from "@orderly/proto/grpc/health/v1/health";
import type { Scenario, ScenarioOptions, ScenarioResult } from "../scenario.js";
import { startDeployment, type Deployment, type ServiceProcess } from "../lib/deployment.js";
import { runWorkers } from "../lib/load.js";
import { countRows, createUsers, markedOrder, storedEvents, storedOrders } from "../lib/orders.js";
import { outcomeOf, Tally } from "../lib/outcomes.js";
import { accepts } from "../lib/net.js";
import { startPrivatePostgres } from "../lib/private-postgres.js";
import { sleep, waitUntil } from "../lib/time.js";
import { allSynced, checkWatchers, startWatcher, totals, type Watcher } from "../lib/watchers.js";

const GRACE_MS = 5_000;
const DRAIN_MS = 500;
const FULL = { workers: 16, watchers: 10, pinned: 4, warmUpMs: 3_000, afterMs: 5_000 };
const SMOKE = { workers: 6, watchers: 4, pinned: 2, warmUpMs: 1_000, afterMs: 2_000 };

/** The graceful shutdown row. */
export const gracefulShutdown: Scenario = {
  id: "graceful-shutdown",
  title: "SIGTERM to one of 2 OrderService replicas (PostgreSQL) under unary load and open WatchOrders",
  criterion:
    `0 failed unary calls (also without client retries), every call in flight on the stopping replica answered OK; its open streams end ` +
    `with UNAVAILABLE SERVER_SHUTTING_DOWN (RetryInfo) and resume on the other replica with nothing missed or twice; health NOT_SERVING ` +
    `before the listener refuses connections; exit 0 within SHUTDOWN_GRACE_MS (${GRACE_MS} ms; SHUTDOWN_DRAIN_MS ${DRAIN_MS})`,
  run,
};

async function run({ smoke, log }: ScenarioOptions): Promise<ScenarioResult> {
  const database = await startPrivatePostgres();
  let deployment: Deployment | undefined;
  try {
    deployment = await startDeployment({
      databaseUrl: database.url,
      usersReplicas: 1,
      ordersReplicas: 2,
      ordersEnv: { SHUTDOWN_GRACE_MS: String(GRACE_MS), SHUTDOWN_DRAIN_MS: String(DRAIN_MS) },
    });
    log(`PostgreSQL on ${database.port}; orders ${deployment.orders.map((o) => o.address).join(", ")} (the first is stopped)`);
    return await underLoad(deployment, database.url, smoke ? SMOKE : FULL, log);
  } finally {
    await deployment?.stop();
    await database.destroy();
  }
}

/** When things happened, in ms after SIGTERM (NaN: never seen). */
interface Timeline {
  notServing: number;
  refused: number;
  exited: number;
}

async function underLoad(deployment: Deployment, databaseUrl: string, size: typeof FULL, log: (line: string) => void): Promise<ScenarioResult> {
  const token = deployment.adminToken;
  const [stopping] = deployment.orders as [ServiceProcess, ServiceProcess];
  const addresses = deployment.orders.map((o) => o.address);
  const users = createUserClient({ address: deployment.users.map((u) => u.address), token });
  const userIds = await createUsers(users, "graceful", 2);
  users.close();
  const shipped = createOrderClient({ address: addresses, token });
  const noRetries = createOrderClient({ address: addresses, token, retry: false });
  const pinnedClient = createOrderClient({ address: stopping.address, token });
  const known: string[] = [(await shipped.create(markedOrder(userIds[0]!, "GS-SEED"))).id];

  const watchers: Watcher[] = [
    ...Array.from({ length: size.watchers }, (_, i) => startWatcher(shipped, `gs-watch-${i}`, i % 2 ? userIds[i % userIds.length] : undefined)),
    ...Array.from({ length: size.pinned }, (_, i) => startWatcher(shipped, `gs-pinned-${i}`, i % 2 ? userIds[i % userIds.length] : undefined, pinnedClient)),
  ];
  if (!(await allSynced(watchers, 15_000))) throw new Error("the watches did not reach their sync marker within 15 s");

  const answers = new Tally();
  const sent = new Set<string>();
  const acknowledged = new Map<string, string>();
  let sigterm = Number.NaN;
  const inFlightOutcomes = new Tally();
  let loading = true;
  const load = runWorkers(size.workers, async (worker) => {
    const client = worker % 2 ? noRetries : shipped;
    for (let round = 0; loading; round++) {
      const startedAt = performance.now();
      let error: unknown;
      try {
        if (round % 2) await client.get(known[Math.floor(Math.random() * known.length)]!);
        else {
          const marker = `GS-${worker}-${round}`;
          sent.add(marker);
          const order = await client.create(markedOrder(userIds[round % userIds.length]!, marker), { requestId: randomUUID() });
          acknowledged.set(marker, order.id);
          known.push(order.id);
        }
      } catch (failure) {
        error = failure;
      }
      answers.add(error);
      if (startedAt < sigterm) inFlightOutcomes.add(error);
    }
  });

  await sleep(size.warmUpMs);
  const health = new HealthClient(stopping.address, credentials.createInsecure());
  const timeline: Timeline = { notServing: Number.NaN, refused: Number.NaN, exited: Number.NaN };
  let probing = true;
  const probes = Promise.all([
    (async () => {
      while (probing && Number.isNaN(timeline.notServing)) {
        const status = await new Promise<number | undefined>((resolve) =>
          health.check({ service: "" }, new Metadata(), { deadline: Date.now() + 500 }, (error, reply) => resolve(error ? undefined : reply.status)),
        );
        if (status === HealthCheckResponse_ServingStatus.NOT_SERVING) timeline.notServing = performance.now() - sigterm;
        else await sleep(5);
      }
    })(),
    (async () => {
      while (probing && Number.isNaN(timeline.refused)) {
        if (!(await accepts(stopping.port, 500)) && !Number.isNaN(sigterm)) timeline.refused = performance.now() - sigterm;
        else await sleep(5);
      }
    })(),
  ]);
  await sleep(100);
  sigterm = performance.now();
  const exitCode = stopping.stop().then((code) => {
    timeline.exited = performance.now() - sigterm;
    return code;
  });
  log(`SIGTERM sent to ${stopping.address} (pid ${stopping.child.pid})`);
  const exitedInTime = await waitUntil(() => !Number.isNaN(timeline.exited), GRACE_MS + 10_000);
  log(`it exited ${Math.round(timeline.exited)} ms after SIGTERM with code ${exitedInTime ? await exitCode : "(still running)"}`);
  await sleep(size.afterMs);
  loading = false;
  probing = false;
  await Promise.all([load, probes]);
  health.close();
  const inFlightAtSigterm = inFlightOutcomes.total;

  const eventLog = await storedEvents(databaseUrl, 0n);
  const checks = await checkWatchers(watchers, eventLog, 15_000);
  await Promise.all(watchers.map((w) => w.stop()));
  for (const client of [shipped, noRetries, pinnedClient]) client.close();
  const rows = countRows(await storedOrders(databaseUrl), sent, acknowledged);

  const failures: string[] = [];
  if (answers.failed > 0) failures.push(`${answers.failed} unary calls failed: ${answers.failures().map(([o, n]) => `${o} x${n}`).join(", ")}`);
  if (inFlightOutcomes.failed > 0) failures.push(`${inFlightOutcomes.failed} of ${inFlightAtSigterm} calls in flight at SIGTERM failed`);
  if (rows.lost.length + rows.duplicates > 0) failures.push(`${rows.lost.length} acknowledged orders lost, ${rows.duplicates} duplicate rows`);

  const stoppingLog = stopping.logs;
  const shutdownAt = stoppingLog.findIndex((l) => l.msg === "shutting down");
  const afterSignal = shutdownAt < 0 ? [] : stoppingLog.slice(shutdownAt).filter((l) => l.msg === "call" || l.msg === "call failed");
  const unaryAfter = afterSignal.filter((l) => !String(l.method).endsWith("/WatchOrders"));
  const unaryAfterFailed = unaryAfter.filter((l) => l.code !== "OK");
  if (unaryAfterFailed.length > 0) failures.push(`the stopping replica answered ${unaryAfterFailed.length} unary calls after SIGTERM with ${[...new Set(unaryAfterFailed.map((l) => l.code))].join(", ")}`);
  const streamEnds = afterSignal.filter((l) => String(l.method).endsWith("/WatchOrders"));
  const badStreamEnds = streamEnds.filter((l) => l.code !== "UNAVAILABLE" || l.reason !== "SERVER_SHUTTING_DOWN");
  if (badStreamEnds.length > 0) failures.push(`${badStreamEnds.length} of its streams ended with ${[...new Set(badStreamEnds.map((l) => `${l.code}/${l.reason ?? ""}`))].join(", ")} instead of UNAVAILABLE/SERVER_SHUTTING_DOWN`);

  const pinned = watchers.filter((w) => w.id.startsWith("gs-pinned-"));
  const pinnedEnds = new Tally();
  for (const watcher of pinned) pinnedEnds.add(watcher.firstEnd?.error ?? new OrderlyError(Code.OK, "the stream never ended"));
  const goodEnd = "UNAVAILABLE/SERVER_SHUTTING_DOWN+RetryInfo";
  if (pinnedEnds.count(goodEnd) !== pinned.length) failures.push(`pinned streams on the stopping replica ended with ${pinnedEnds} (want ${goodEnd})`);
  const streamEndMs = pinned.map((w) => (w.firstEnd ? Math.round(w.firstEnd.at - sigterm) : Number.NaN));
  const onStopping = new Set(streamEnds.map((l) => String(l.requestId)));
  const notResumed = watchers.filter((w) => onStopping.has(w.id) && w.syncs < 2);
  if (notResumed.length > 0) failures.push(`${notResumed.length} watches that were on the stopping replica did not resume`);
  const watchErrors = watchers.filter((w) => w.error !== undefined);
  if (watchErrors.length > 0) failures.push(`${watchErrors.length} watches ended with ${outcomeOf(watchErrors[0]!.error)}`);
  const watched = totals(checks);
  if (watched.missing + watched.unexpected + watched.duplicates + watched.outOfOrder > 0) {
    failures.push(`watches: ${watched.missing} events missing, ${watched.unexpected} unexpected, ${watched.duplicates} twice, ${watched.outOfOrder} out of order`);
  }

  if (Number.isNaN(timeline.notServing)) failures.push("health never answered NOT_SERVING");
  if (Number.isNaN(timeline.refused)) failures.push("the listener never refused a connection");
  if (!(timeline.notServing < timeline.refused)) failures.push(`health NOT_SERVING at ${ms(timeline.notServing)}, not before the listener closed at ${ms(timeline.refused)}`);
  if (!(timeline.exited <= GRACE_MS)) failures.push(`exited ${ms(timeline.exited)} after SIGTERM (grace ${GRACE_MS} ms)`);
  const code = exitedInTime ? await exitCode : undefined;
  if (code !== 0) failures.push(`exit code ${code ?? "none (still running)"}`);

  const resumed = watchers.filter((w) => w.syncs >= 2).length;
  return {
    passed: failures.length === 0,
    figures: {
      unaryCalls: answers.total,
      answers: answers.toString(),
      inFlightAtSigterm,
      answeredByStoppingAfterSigterm: unaryAfter.length,
      streamsEndedOnStopping: streamEnds.length,
      streamEnds: [...new Set(streamEnds.map((l) => `${l.code}/${l.reason ?? ""}`))].join(", "),
      pinnedStreamEnds: pinnedEnds.toString(),
      pinnedStreamEndMs: streamEndMs.join(", "),
      watchesResumed: `${resumed} of ${watchers.length}`,
      watchEventsExpected: watched.expected,
      watchEventsMissing: watched.missing,
      watchEventsDuplicated: watched.duplicates,
      notServingMs: Math.round(timeline.notServing),
      listenerClosedMs: Math.round(timeline.refused),
      exitMs: Math.round(timeline.exited),
      exitCode: code ?? "none",
    },
    summary:
      `${answers.total.toLocaleString("en-US")} unary calls, ${answers.failed} failed (${inFlightAtSigterm} in flight at SIGTERM, ${unaryAfter.length} answered by the stopping replica after it); ` +
      `its ${streamEnds.length} streams ended ${[...new Set(streamEnds.map((l) => `${l.code}/${l.reason ?? ""}`))].join(", ") || "-"}, ${resumed} watches resumed, ` +
      `${watched.missing} events missing, ${watched.duplicates} twice; NOT_SERVING at ${ms(timeline.notServing)}, listener closed at ${ms(timeline.refused)}, ` +
      `exit ${code ?? "-"} at ${ms(timeline.exited)}`,
    failures,
  };
}

function ms(value: number): string {
  return Number.isNaN(value) ? "never" : `${Math.round(value)} ms`;
}
