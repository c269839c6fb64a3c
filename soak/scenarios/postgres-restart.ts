// PostgreSQL restarted under load. Two OrderService replicas and a UserService run on a private PostgreSQL instance
// (never the machine's shared cluster). Workers call CreateOrder, GetOrder and ListOrders without client retries, so
// every answer the servers give is seen; WatchOrders streams (the typed client's watch, half of everything, half of
// one user's orders) stay open throughout. Mid-run PostgreSQL is stopped (`pg_ctl stop -m fast`: every session
// terminated, as in an operator's restart), held down a few seconds, as a restart with crash recovery takes, and
// started again. The services are never restarted.
import { randomUUID } from "node:crypto";
import { createOrderClient, createUserClient, OrderlyError } from "@orderly/clients";
import type { Scenario, ScenarioOptions, ScenarioResult } from "../scenario.js";
import { onPrivatePostgres, type Deployment } from "../lib/deployment.js";
import { runWorkers } from "../lib/load.js";
import { createUsers, markedOrder, storedEvents } from "../lib/orders.js";
import { Tally } from "../lib/outcomes.js";
import { randomItem, roundRobin } from "../lib/pick.js";
import type { PrivatePostgres } from "../lib/private-postgres.js";
import { msSince, sleep } from "../lib/time.js";
import { allSynced, checkWatchers, startWatcher, totals, type Watcher } from "../lib/watchers.js";

const FULL = { workers: 8, watchers: 8, warmUpMs: 3_000, downMs: 3_000, afterMs: 10_000 };
const SMOKE = { workers: 4, watchers: 4, warmUpMs: 1_000, downMs: 1_000, afterMs: 4_000 };
/** Every call must succeed again within this long after PostgreSQL accepts connections. */
const RECOVERY_BOUND_MS = 5_000;
/** The answers allowed while the database is away: retryable, saying why, saying when to retry. */
const OUTAGE_ANSWERS = new Set([
  "UNAVAILABLE/STORE_UNAVAILABLE+RetryInfo",
  "UNAVAILABLE/USER_SERVICE_UNAVAILABLE+RetryInfo",
]);

/** The PostgreSQL restart row. */
export const postgresRestart: Scenario = {
  id: "postgres-restart",
  title:
    "PostgreSQL restarted under load (2 OrderService replicas, CreateOrder/GetOrder/ListOrders + open WatchOrders)",
  criterion:
    "while it is away only UNAVAILABLE with RetryInfo (STORE_UNAVAILABLE, or USER_SERVICE_UNAVAILABLE when UserService's own store is " +
    "away), no INTERNAL or other code; every call succeeds again within 5 s of PostgreSQL accepting connections, no service restarted; " +
    "every open watch sees every event committed, in order, none twice",
  run,
};

async function run({ smoke, workDir, log }: ScenarioOptions): Promise<ScenarioResult> {
  return onPrivatePostgres({ usersReplicas: 1, ordersReplicas: 2 }, workDir, (deployment, database) => {
    log(`PostgreSQL on ${database.port}; orders ${deployment.orders.map((o) => o.address).join(", ")}`);
    return underLoad(deployment, database, smoke ? SMOKE : FULL, log);
  });
}

/** One answer, when it arrived (ms after the load started). */
interface Answer {
  op: "create" | "get" | "list";
  at: number;
  outcome: string;
}

async function underLoad(
  deployment: Deployment,
  database: PrivatePostgres,
  size: typeof FULL,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const token = deployment.adminToken;
  const addresses = deployment.orders.map((o) => o.address);
  const users = createUserClient({ address: deployment.users.map((u) => u.address), token });
  const userIds = await createUsers(users, "pgrestart", 3);
  users.close();
  // No retries: the row judges each answer the servers give. The watchers' client keeps the defaults, as users do.
  const noRetries = createOrderClient({ address: addresses, token, retry: false });
  const watchClient = createOrderClient({ address: addresses, token });
  const known: string[] = [(await noRetries.create(markedOrder(roundRobin(userIds, 0), "PG-SEED"))).id];

  const watchers: Watcher[] = Array.from({ length: size.watchers }, (_, i) =>
    startWatcher(watchClient, `pg-watch-${i}`, i % 2 ? roundRobin(userIds, i) : undefined),
  );
  if (!(await allSynced(watchers, 15_000))) throw new Error("the watches did not reach their sync marker within 15 s");

  const tally = new Tally();
  const answers: Answer[] = [];
  const started = performance.now();
  const timeline = { stopIssued: Number.NaN, down: Number.NaN, startIssued: Number.NaN, up: Number.NaN };
  let loading = true;
  const call = async (op: Answer["op"], work: () => Promise<unknown>) => {
    let error: unknown;
    try {
      await work();
    } catch (failure) {
      error = failure;
    }
    answers.push({ op, at: performance.now() - started, outcome: tally.add(error) });
  };
  const load = runWorkers(size.workers, async (worker) => {
    for (let round = 0; loading; round++) {
      const userId = roundRobin(userIds, worker + round);
      if (round % 2 === 0)
        await call("create", async () => {
          const order = markedOrder(userId, `PG-${worker}-${round}`);
          known.push((await noRetries.create(order, { idempotencyKey: randomUUID() })).id);
        });
      else if (round % 4 === 1) await call("get", () => noRetries.get(randomItem(known)));
      else await call("list", () => noRetries.list({ pageSize: 10, filter: { userId } }));
    }
  });

  await sleep(size.warmUpMs);
  timeline.stopIssued = performance.now() - started;
  await database.stop();
  timeline.down = performance.now() - started;
  log(`PostgreSQL stopped (${Math.round(timeline.down - timeline.stopIssued)} ms); down for ${size.downMs} ms`);
  await sleep(size.downMs);
  timeline.startIssued = performance.now() - started;
  await database.start();
  timeline.up = performance.now() - started;
  log(`PostgreSQL accepting connections again (start took ${Math.round(timeline.up - timeline.startIssued)} ms)`);
  await sleep(size.afterMs);
  loading = false;
  await load;
  const loadSeconds = msSince(started) / 1000;

  const eventLog = await storedEvents(database.url, 0n);
  const catchUpStarted = performance.now();
  const checks = await checkWatchers(watchers, eventLog, 15_000);
  const catchUpMs = msSince(catchUpStarted);
  await Promise.all(watchers.map((w) => w.stop()));
  noRetries.close();
  watchClient.close();

  const failures: string[] = [];
  const failed = answers.filter((a) => a.outcome !== "OK");
  const unclear = tally.failures().filter(([outcome]) => !OUTAGE_ANSWERS.has(outcome));
  if (unclear.length > 0)
    failures.push(`answers other than UNAVAILABLE with RetryInfo: ${unclear.map(([o, n]) => `${o} x${n}`).join(", ")}`);
  const beforeOutage = failed.filter((a) => a.at < timeline.stopIssued);
  if (beforeOutage.length > 0) failures.push(`${beforeOutage.length} calls failed before PostgreSQL was stopped`);
  if (failed.length === 0) failures.push("no call saw the outage: the fault did not take effect");
  const lastFailure = failed.reduce((last, a) => Math.max(last, a.at), timeline.up);
  const recoveryMs = Math.round(lastFailure - timeline.up);
  if (recoveryMs > RECOVERY_BOUND_MS)
    failures.push(`calls still failed ${recoveryMs} ms after PostgreSQL was back (bound ${RECOVERY_BOUND_MS} ms)`);
  for (const op of ["create", "get", "list"] as const) {
    if (!answers.some((a) => a.op === op && a.outcome === "OK" && a.at > lastFailure))
      failures.push(`no successful ${op} after the recovery`);
  }
  const restarted = [...deployment.users, ...deployment.orders].filter(
    (p) => p.child.exitCode !== null || p.child.signalCode !== null,
  );
  if (restarted.length > 0) failures.push(`${restarted.length} service processes exited during the run`);
  const internal = [...deployment.users, ...deployment.orders]
    .flatMap((p) => p.logs)
    .filter((l) => l.code === "INTERNAL" || l.code === "UNKNOWN").length;
  if (internal > 0) failures.push(`${internal} calls logged INTERNAL/UNKNOWN by the services`);
  const watched = totals(checks);
  const watchErrors = watchers.filter((w) => w.error !== undefined);
  const [firstError] = watchErrors;
  if (firstError)
    failures.push(`${watchErrors.length} watches ended with ${OrderlyError.from(firstError.error).codeName}`);
  if (watched.missing + watched.unexpected + watched.duplicates + watched.outOfOrder > 0) {
    failures.push(
      `watches: ${watched.missing} events missing, ${watched.unexpected} unexpected, ${watched.duplicates} twice, ${watched.outOfOrder} out of order`,
    );
  }
  if (watched.expected === 0) failures.push("the watches had nothing to see");

  const outageMs = Math.round(timeline.up - timeline.stopIssued);
  // Wall-clock time of the moment PostgreSQL was back, to split watch deliveries into during/after the outage.
  const upWall = Date.now() - (performance.now() - started - timeline.up);
  const lagAfter = watchers
    .flatMap((w) => w.deliveries.filter((d) => d.committedAt > upWall).map((d) => d.latencyMs))
    .sort((a, b) => a - b);
  const lagBefore = watchers
    .flatMap((w) => w.deliveries.filter((d) => d.committedAt < upWall - outageMs).map((d) => d.latencyMs))
    .sort((a, b) => a - b);
  const firstOkAfterUp = answers.find((a) => a.outcome === "OK" && a.at > timeline.up);
  const resumed = watchers.reduce((sum, w) => sum + Math.max(0, w.syncs - 1), 0);
  const rate = Math.round(answers.length / loadSeconds);
  return {
    passed: failures.length === 0,
    figures: {
      workers: size.workers,
      calls: answers.length,
      callsPerSecond: rate,
      answers: tally.toString(),
      outageMs,
      stopMs: Math.round(timeline.down - timeline.stopIssued),
      startMs: Math.round(timeline.up - timeline.startIssued),
      recoveryMs,
      firstOkAfterUpMs: firstOkAfterUp ? Math.round(firstOkAfterUp.at - timeline.up) : -1,
      watches: watchers.length,
      watchEventsExpected: watched.expected,
      watchEventsMissing: watched.missing,
      watchEventsDuplicated: watched.duplicates,
      watchEventsOutOfOrder: watched.outOfOrder,
      watchResumptions: resumed,
      watchCatchUpMs: catchUpMs,
      watchLagBeforeMs: `p50 ${lagBefore[Math.floor(lagBefore.length / 2)] ?? "-"}, max ${lagBefore.at(-1) ?? "-"}`,
      watchLagAfterMs: `p50 ${lagAfter[Math.floor(lagAfter.length / 2)] ?? "-"}, max ${lagAfter.at(-1) ?? "-"}`,
      internalLogged: internal,
    },
    summary:
      `${answers.length.toLocaleString("en-US")} calls (${rate}/s): ${tally.toString()}; ` +
      `PostgreSQL away ${(outageMs / 1000).toFixed(1)} s, all calls OK again ${(recoveryMs / 1000).toFixed(1)} s after it was back, no restart; ` +
      `${watchers.length} watches got ${watched.received.toLocaleString("en-US")} of ${watched.expected.toLocaleString("en-US")} events, ` +
      `${watched.missing} missing, ${watched.duplicates} twice, ${watched.outOfOrder} out of order (${resumed} resumed)`,
    failures,
  };
}
