// WatchOrders as a long-lived consumer sees it: the typed client's watch (which resumes from its last revision when a
// stream breaks), recording every event, every sync marker (one per stream it opened, so syncs - 1 = resumptions)
// and how it ended; then checked against the store's event log: every committed event in scope, in order, once.
import type { OrderClient } from "@orderly/clients";
import type { StoredEvent } from "./orders.js";
import { waitUntil } from "./time.js";

/** One running watch and what it has seen. */
export interface Watcher {
  /** Sent as x-request-id on every stream it opens, so server log lines can be matched to it. */
  readonly id: string;
  readonly userId: string | undefined;
  /** Revisions received, in order of receipt. */
  readonly revisions: bigint[];
  /** For each event received: when it was committed and how long it took to arrive (ms, wall clock). */
  readonly deliveries: { committedAt: number; latencyMs: number }[];
  /** The head of its first sync marker: it must see every event after it. */
  readonly base: bigint | undefined;
  /** Sync markers received: 1 + the streams it resumed on. */
  readonly syncs: number;
  /** Why it ended on its own, if it did (a non-retryable error). */
  readonly error: unknown;
  /** With `firstOn`: how its first stream ended (undefined while it is open), and when (performance.now()). */
  readonly firstEnd: { error: unknown; at: number } | undefined;
  /** Ends it and waits until it has. */
  stop(): Promise<void>;
}

/**
 * Starts a watch of everything (userId undefined) or of one user's orders through `client`. With `firstOn`, its first
 * stream goes through that client instead (e.g. pinned to one replica) without reconnecting, and when that stream
 * ends the watch resumes through `client` from the last revision it saw, as a caller would.
 */
export function startWatcher(client: OrderClient, id: string, userId?: string, firstOn?: OrderClient): Watcher {
  const controller = new AbortController();
  const state = {
    revisions: [] as bigint[],
    deliveries: [] as Watcher["deliveries"],
    base: undefined as bigint | undefined,
    syncs: 0,
    error: undefined as unknown,
  };
  let firstEnd: Watcher["firstEnd"];
  let lastRevision = 0n;
  const follow = async (through: OrderClient, reconnect: boolean) => {
    const watch = through.watch({
      ...(userId ? { userId } : {}),
      sinceRevision: lastRevision,
      signal: controller.signal,
      requestId: id,
      reconnect,
    });
    for await (const item of watch) {
      if (item.kind === "event") {
        state.revisions.push(item.event.revision);
        const committedAt = item.event.time?.getTime() ?? Number.NaN;
        state.deliveries.push({ committedAt, latencyMs: Date.now() - committedAt });
      } else if (item.kind === "sync") {
        state.syncs++;
        state.base ??= item.headRevision;
      }
      lastRevision = watch.lastRevision;
    }
  };
  const done = (async () => {
    try {
      if (firstOn) {
        try {
          await follow(firstOn, false);
          firstEnd = { error: undefined, at: performance.now() };
        } catch (error) {
          if (controller.signal.aborted) return;
          firstEnd = { error, at: performance.now() };
        }
      }
      await follow(client, true);
    } catch (error) {
      if (!controller.signal.aborted) state.error = error;
    }
  })();
  return {
    id,
    userId,
    get revisions() {
      return state.revisions;
    },
    get deliveries() {
      return state.deliveries;
    },
    get base() {
      return state.base;
    },
    get syncs() {
      return state.syncs;
    },
    get error() {
      return state.error;
    },
    get firstEnd() {
      return firstEnd;
    },
    async stop() {
      controller.abort();
      await done;
    },
  };
}

/** Waits until every watcher has its first sync marker (it is then live); false on timeout. */
export function allSynced(watchers: readonly Watcher[], timeoutMs: number): Promise<boolean> {
  return waitUntil(() => watchers.every((w) => w.base !== undefined || w.error !== undefined), timeoutMs);
}

/** How a watch compares with the log. */
export interface WatchCheck {
  expected: number;
  received: number;
  missing: number;
  /** Received but not in the log after its base or not in its scope. */
  unexpected: number;
  duplicates: number;
  outOfOrder: number;
}

/** The events of `log` a watcher must have seen: after its base, in its scope. */
export function expectedFor(watcher: Watcher, log: readonly StoredEvent[]): bigint[] {
  const base = watcher.base ?? 0n;
  return log
    .filter((e) => e.revision > base && (!watcher.userId || e.userId === watcher.userId))
    .map((e) => e.revision);
}

/** Waits (bounded) until every watcher has received at least what the log says it should, then compares. */
export async function checkWatchers(
  watchers: readonly Watcher[],
  log: readonly StoredEvent[],
  timeoutMs: number,
): Promise<WatchCheck[]> {
  await waitUntil(
    () => watchers.every((w) => w.error !== undefined || new Set(w.revisions).size >= expectedFor(w, log).length),
    timeoutMs,
  );
  return watchers.map((watcher) => {
    const expected = expectedFor(watcher, log);
    const got = watcher.revisions;
    const seen = new Set(got);
    const wanted = new Set(expected);
    let outOfOrder = 0;
    let previous: bigint | undefined;
    for (const revision of got) {
      if (previous !== undefined && revision <= previous) outOfOrder++;
      previous = revision;
    }
    return {
      expected: expected.length,
      received: got.length,
      missing: expected.filter((r) => !seen.has(r)).length,
      unexpected: [...seen].filter((r) => !wanted.has(r)).length,
      duplicates: got.length - seen.size,
      outOfOrder,
    };
  });
}

/** The checks of several watchers added up. */
export function totals(checks: readonly WatchCheck[]): WatchCheck {
  const sum = (key: keyof WatchCheck) => checks.reduce((s, c) => s + c[key], 0);
  return {
    expected: sum("expected"),
    received: sum("received"),
    missing: sum("missing"),
    unexpected: sum("unexpected"),
    duplicates: sum("duplicates"),
    outOfOrder: sum("outOfOrder"),
  };
}
