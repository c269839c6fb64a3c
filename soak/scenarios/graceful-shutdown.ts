// SIGTERM to one of two OrderService replicas under load, as an orchestrator stops a pod. Unary workers (CreateOrder
// and GetOrder over both replicas: half through the typed client as shipped, half with its retries off, so a call the
// server dropped cannot hide behind a client retry) keep calling; WatchOrders streams are open on both replicas, some
// pinned to the stopping one (they resume through the round-robin client when it ends them, as a caller would). A
// separate client polls health on the stopping replica and a TCP probe tries its port (soak/lib/stop-probe.ts).
import { randomUUID } from "node:crypto";
import { Code, createOrderClient, createUserClient, OrderlyError, type OrderClient } from "@orderly/clients";
import type { Scenario, ScenarioOptions, ScenarioResult } from "../scenario.js";
import { onPrivatePostgres, type Deployment, type ServiceProcess } from "../lib/deployment.js";
import { runWorkers } from "../lib/load.js";
import { countRows, createUsers, markedOrder, storedEvents, storedOrders } from "../lib/orders.js";
import { outcomeOf, Tally } from "../lib/outcomes.js";
import { randomItem, roundRobin } from "../lib/pick.js";
import { probeStop, type StopTimeline } from "../lib/stop-probe.js";
import { sleep, waitUntil } from "../lib/time.js";
import { allSynced, checkWatchers, startWatcher, totals, type Watcher } from "../lib/watchers.js";

const GRACE_MS = 5_000;
const DRAIN_MS = 500;
const FULL = { workers: 16, watchers: 10, pinned: 4, warmUpMs: 3_000, afterMs: 5_000 };
const SMOKE = { workers: 6, watchers: 4, pinned: 2, warmUpMs: 1_000, afterMs: 2_000 };
const STREAM_END = "UNAVAILABLE/SERVER_SHUTTING_DOWN";

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

async function run({ smoke, workDir, log }: ScenarioOptions): Promise<ScenarioResult> {
  const ordersEnv = { SHUTDOWN_GRACE_MS: String(GRACE_MS), SHUTDOWN_DRAIN_MS: String(DRAIN_MS) };
  return onPrivatePostgres({ usersReplicas: 1, ordersReplicas: 2, ordersEnv }, workDir, (deployment, database) => {
    log(
      `PostgreSQL on ${database.port}; orders ${deployment.orders.map((o) => o.address).join(", ")} (the first is stopped)`,
    );
    return underLoad(deployment, database.url, smoke ? SMOKE : FULL, log);
  });
}

/** What the load saw. */
interface Load {
  answers: Tally;
  /** Answers of calls started before SIGTERM and finished after it. */
  inFlight: Tally;
  sent: Set<string>;
  acknowledged: Map<string, string>;
}

async function underLoad(
  deployment: Deployment,
  databaseUrl: string,
  size: typeof FULL,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const token = deployment.adminToken;
  const [stopping] = deployment.orders as [ServiceProcess, ServiceProcess];
  const addresses = deployment.orders.map((o) => o.address);
  const users = createUserClient({ address: deployment.users.map((u) => u.address), token });
  const userIds = await createUsers(users, "graceful", 2);
  users.close();
  const shipped = createOrderClient({ address: addresses, token });
  const noRetries = createOrderClient({ address: addresses, token, retry: false });
  const pinnedClient = createOrderClient({ address: stopping.address, token });
  const known: string[] = [(await shipped.create(markedOrder(roundRobin(userIds, 0), "GS-SEED"))).id];

  const scopeOf = (i: number) => (i % 2 ? roundRobin(userIds, i) : undefined);
  const watchers: Watcher[] = [
    ...Array.from({ length: size.watchers }, (_, i) => startWatcher(shipped, `gs-watch-${i}`, scopeOf(i))),
    ...Array.from({ length: size.pinned }, (_, i) => startWatcher(shipped, `gs-pinned-${i}`, scopeOf(i), pinnedClient)),
  ];
  if (!(await allSynced(watchers, 15_000))) throw new Error("the watches did not reach their sync marker within 15 s");

  const load: Load = { answers: new Tally(), inFlight: new Tally(), sent: new Set(), acknowledged: new Map() };
  let sigterm = Number.NaN;
  let loading = true;
  const workers = runWorkers(size.workers, async (worker) => {
    const client = worker % 2 ? noRetries : shipped;
    for (let round = 0; loading; round++) {
      const startedAt = performance.now();
      let error: unknown;
      try {
        if (round % 2) await client.get(randomItem(known));
        else known.push(await createMarked(client, load, roundRobin(userIds, round), `GS-${worker}-${round}`));
      } catch (failure) {
        error = failure;
      }
      load.answers.add(error);
      if (startedAt < sigterm) load.inFlight.add(error);
    }
  });

  await sleep(size.warmUpMs);
  const probe = probeStop(stopping.port);
  await sleep(100);
  probe.mark();
  sigterm = performance.now();
  let exitedMs = Number.NaN;
  const exitCode = stopping.stop().then((code) => ((exitedMs = performance.now() - sigterm), code));
  log(`SIGTERM sent to ${stopping.address} (pid ${stopping.child.pid})`);
  const exited = await waitUntil(() => !Number.isNaN(exitedMs), GRACE_MS + 10_000);
  const code = exited ? await exitCode : undefined;
  log(`it exited ${Math.round(exitedMs)} ms after SIGTERM with code ${code ?? "(still running)"}`);
  await sleep(size.afterMs);
  loading = false;
  await Promise.all([workers, probe.stop()]);

  const checks = await checkWatchers(watchers, await storedEvents(databaseUrl, 0n), 15_000);
  await Promise.all(watchers.map((w) => w.stop()));
  for (const client of [shipped, noRetries, pinnedClient]) client.close();
  const rows = countRows(await storedOrders(databaseUrl), load.sent, load.acknowledged);
  return judge({
    load,
    rows,
    stopping,
    watchers,
    checks: totals(checks),
    timeline: probe.timeline,
    exitedMs,
    code,
    sigterm,
  });
}

async function createMarked(client: OrderClient, load: Load, userId: string, marker: string): Promise<string> {
  load.sent.add(marker);
  const order = await client.create(markedOrder(userId, marker), { idempotencyKey: randomUUID() });
  load.acknowledged.set(marker, order.id);
  return order.id;
}

/** Everything the criteria are checked on. */
interface Observed {
  load: Load;
  rows: ReturnType<typeof countRows>;
  stopping: ServiceProcess;
  watchers: Watcher[];
  checks: ReturnType<typeof totals>;
  timeline: StopTimeline;
  exitedMs: number;
  code: number | null | undefined;
  sigterm: number;
}

function judge({
  load,
  rows,
  stopping,
  watchers,
  checks,
  timeline,
  exitedMs,
  code,
  sigterm,
}: Observed): ScenarioResult {
  const failures: string[] = [];
  const { answers, inFlight } = load;
  if (answers.failed > 0)
    failures.push(
      `${answers.failed} unary calls failed: ${answers
        .failures()
        .map(([o, n]) => `${o} x${n}`)
        .join(", ")}`,
    );
  if (inFlight.failed > 0) failures.push(`${inFlight.failed} of ${inFlight.total} calls in flight at SIGTERM failed`);
  if (rows.lost.length + rows.duplicates > 0)
    failures.push(`${rows.lost.length} acknowledged orders lost, ${rows.duplicates} duplicate rows`);

  // The stopping replica's own account: one log line per call, written when the call ended.
  const logged = stopping.logs;
  const signalled = logged.findIndex((l) => l.msg === "shutting down");
  const afterSignal =
    signalled < 0 ? [] : logged.slice(signalled).filter((l) => l.msg === "call" || l.msg === "call failed");
  const unaryAfter = afterSignal.filter((l) => !String(l.method).endsWith("/WatchOrders"));
  const unaryFailed = unaryAfter.filter((l) => l.code !== "OK");
  if (unaryFailed.length > 0)
    failures.push(
      `the stopping replica answered ${unaryFailed.length} unary calls after SIGTERM with ${[...new Set(unaryFailed.map((l) => l.code))].join(", ")}`,
    );
  const streamEnds = afterSignal.filter((l) => String(l.method).endsWith("/WatchOrders"));
  const endOf = (line: Record<string, unknown>) =>
    `${String(line.code)}/${typeof line.reason === "string" ? line.reason : ""}`;
  const endKinds = [...new Set(streamEnds.map(endOf))].join(", ") || "-";
  const badEnds = streamEnds.filter((l) => endOf(l) !== STREAM_END);
  if (badEnds.length > 0)
    failures.push(`${badEnds.length} of its streams ended with ${endKinds} instead of ${STREAM_END}`);

  // The clients' account: how the pinned streams ended, and whether every watch that was there resumed.
  const pinned = watchers.filter((w) => w.id.startsWith("gs-pinned-"));
  const pinnedEnds = new Tally();
  for (const watcher of pinned)
    pinnedEnds.add(watcher.firstEnd?.error ?? new OrderlyError(Code.OK, "the stream never ended"));
  if (pinnedEnds.count(`${STREAM_END}+RetryInfo`) !== pinned.length)
    failures.push(`pinned streams ended with ${pinnedEnds.toString()} (want ${STREAM_END}+RetryInfo)`);
  const onStopping = new Set(streamEnds.map((l) => String(l.requestId)));
  const notResumed = watchers.filter((w) => onStopping.has(w.id) && w.syncs < 2);
  if (notResumed.length > 0)
    failures.push(`${notResumed.length} watches that were on the stopping replica did not resume`);
  const broken = watchers.filter((w) => w.error !== undefined);
  const [firstBroken] = broken;
  if (firstBroken) failures.push(`${broken.length} watches ended with ${outcomeOf(firstBroken.error)}`);
  if (checks.missing + checks.unexpected + checks.duplicates + checks.outOfOrder > 0) {
    failures.push(
      `watches: ${checks.missing} events missing, ${checks.unexpected} unexpected, ${checks.duplicates} twice, ${checks.outOfOrder} out of order`,
    );
  }

  if (!(timeline.notServingMs < timeline.refusedMs))
    failures.push(
      `health NOT_SERVING at ${ms(timeline.notServingMs)}, listener closed at ${ms(timeline.refusedMs)}: not in that order`,
    );
  if (!(exitedMs <= GRACE_MS)) failures.push(`exited ${ms(exitedMs)} after SIGTERM (grace ${GRACE_MS} ms)`);
  if (code !== 0) failures.push(`exit code ${code ?? "none (still running)"}`);

  const resumed = watchers.filter((w) => w.syncs >= 2).length;
  const pinnedEndMs = pinned.map((w) => (w.firstEnd ? Math.round(w.firstEnd.at - sigterm) : Number.NaN));
  return {
    passed: failures.length === 0,
    figures: {
      unaryCalls: answers.total,
      answers: answers.toString(),
      inFlightAtSigterm: inFlight.total,
      answeredByStoppingAfterSigterm: unaryAfter.length,
      streamsEndedOnStopping: streamEnds.length,
      streamEnds: endKinds,
      pinnedStreamEnds: pinnedEnds.toString(),
      pinnedStreamEndMs: pinnedEndMs.join(", "),
      watchesResumed: `${resumed} of ${watchers.length}`,
      watchEventsExpected: checks.expected,
      watchEventsMissing: checks.missing,
      watchEventsDuplicated: checks.duplicates,
      notServingMs: Math.round(timeline.notServingMs),
      listenerClosedMs: Math.round(timeline.refusedMs),
      exitMs: Math.round(exitedMs),
      exitCode: code ?? "none",
    },
    summary:
      `${answers.total.toLocaleString("en-US")} unary calls, ${answers.failed} failed (${inFlight.total} in flight at SIGTERM, ` +
      `${unaryAfter.length} answered by the stopping replica after it); its ${streamEnds.length} streams ended ${endKinds}, ` +
      `${resumed} watches resumed, ${checks.missing} events missing, ${checks.duplicates} twice; ` +
      `NOT_SERVING at ${ms(timeline.notServingMs)}, listener closed at ${ms(timeline.refusedMs)}, exit ${code ?? "-"} at ${ms(exitedMs)}`,
    failures,
  };
}

function ms(value: number): string {
  return Number.isNaN(value) ? "never" : `${Math.round(value)} ms`;
}
