// WatchOrders without the transport: replay from the store's log, a SYNC marker, then live events from the EventFeed,
// with heartbeats while idle. Ordering rests on one fact: revisions only grow. The watch subscribes before it reads the
// head, replays up to that head, and from then on drops any event at or below the last revision it has passed, so an
// event that is both replayed and queued live is delivered once, and none falls between the two.
import { DomainError, invalidArgument, mayAccess, throwIfAborted, type Access, type Gauges } from "@orderly/kit/domain";
import type { EventFeed } from "./event-feed.js";
import type { OrderEvent } from "./model.js";
import type { OrderStore } from "./order-store.js";

/** One message of a watch: an event, the end of the replay, or an idle heartbeat. */
export type WatchItem =
  | { kind: "event"; event: OrderEvent }
  /** Everything up to headRevision in scope has been sent; live events follow. */
  | { kind: "sync"; headRevision: number }
  /** Nothing new in scope up to headRevision; a client may resume from it. */
  | { kind: "heartbeat"; headRevision: number };

/** What a watch watches; absent (or empty) filters match everything the caller may see. */
export interface WatchRequest {
  orderId?: string;
  userId?: string;
  /** Replay events after this revision first; 0 means start at the head without replay. */
  sinceRevision: number;
}

/** What watchOrders needs; clock exists so tests can pin the replay horizon. */
export interface WatchDeps {
  store: Pick<OrderStore, "eventsAfter" | "headRevision" | "firstRevisionSince">;
  feed: Pick<EventFeed, "subscribe" | "head">;
  clock?: () => Date;
  /** Idle time before a heartbeat. */
  heartbeatMs?: number;
  /** Events older than this are not replayed (List is for that). */
  replayRetentionMs?: number;
  /** Live events buffered for a consumer that is not pulling; more ends the watch with WATCH_TOO_SLOW. */
  queueLimit?: number;
  /**
   * Told, with the WATCH_TOO_SLOW error, the moment a live watch's queue overflows. A consumer that stopped reading
   * may never pull again (its transport waits for the peer's flow-control window), so the pull that would throw never
   * comes; the transport ends the call with this error at once instead (the handler aborts the call with it).
   */
  onOverflow?: (error: DomainError) => void;
  /** Events per store read during replay. */
  replayBatchSize?: number;
  /** Where open watches are counted for metrics. */
  stats?: WatchStats;
}

/** The open watches and the live events queued for them, counted for metrics (read when scraped, never per event). */
export class WatchStats {
  private readonly queues = new Set<{ size(): number }>();

  /** Watches open now. */
  get openWatches(): number {
    return this.queues.size;
  }

  /** Live events waiting in the open watches' queues, summed. */
  queuedEvents(): number {
    let queued = 0;
    for (const queue of this.queues) queued += queue.size();
    return queued;
  }

  /** Registers both figures as gauges. */
  report(gauges: Gauges): void {
    gauges.add("orderly_watch_open_streams", "WatchOrders streams open in this process.", () => this.openWatches);
    gauges.add(
      "orderly_watch_queued_events",
      "Live order events queued for open WatchOrders streams, not yet sent.",
      () => this.queuedEvents(),
    );
  }

  /** Counts a watch's queue in, until close(queue). */
  open(queue: { size(): number }): void {
    this.queues.add(queue);
  }

  close(queue: { size(): number }): void {
    this.queues.delete(queue);
  }
}

/** The reasons a watch fails with. */
export const WatchReason = {
  REVISION_OUT_OF_RANGE: "REVISION_OUT_OF_RANGE",
  REVISION_AHEAD: "REVISION_AHEAD",
  WATCH_TOO_SLOW: "WATCH_TOO_SLOW",
} as const;

/** Defaults of WatchDeps. */
export const WATCH_DEFAULTS = {
  heartbeatMs: 30_000,
  replayRetentionMs: 7 * 24 * 60 * 60 * 1000,
  queueLimit: 1_000,
  replayBatchSize: 500,
} as const;

/** How long a client told WATCH_TOO_SLOW should wait before resuming. */
export const WATCH_RETRY_AFTER_MS = 1_000;

/** How often a replay may restart after live events overflowed the queue meanwhile, before the watch gives up. */
const MAX_CATCH_UP_ROUNDS = 3;

/**
 * Streams order events in scope: replay after request.sinceRevision, a sync marker, then live events and heartbeats.
 * One item per next(); a consumer that stops pulling lets live events queue up to queueLimit, then the next pull throws
 * WATCH_TOO_SLOW (and deps.onOverflow is told at once). Aborting `signal` rejects a pending next() with signal.reason
 * and unsubscribes at once.
 */
export function watchOrders(
  deps: WatchDeps,
  request: WatchRequest,
  access: Access,
  signal: AbortSignal,
): AsyncGenerator<WatchItem, void, undefined> {
  return watch(deps, request, access, signal);
}

/** The events a caller sees: the request's filters, and only their own when their permission is ":own". */
export function watchScope(
  request: Pick<WatchRequest, "orderId" | "userId">,
  access: Access,
): (event: OrderEvent) => boolean {
  const { orderId, userId } = request;
  return (event) =>
    (!orderId || event.orderId === orderId) && (!userId || event.userId === userId) && mayAccess(access, event.userId);
}

async function* watch(
  deps: WatchDeps,
  request: WatchRequest,
  access: Access,
  signal: AbortSignal,
): AsyncGenerator<WatchItem, void, undefined> {
  const { store, feed } = deps;
  const clock = deps.clock ?? (() => new Date());
  const heartbeatMs = deps.heartbeatMs ?? WATCH_DEFAULTS.heartbeatMs;
  const replayBatchSize = deps.replayBatchSize ?? WATCH_DEFAULTS.replayBatchSize;
  const since = request.sinceRevision;
  if (!Number.isSafeInteger(since) || since < 0) {
    throw invalidArgument([{ field: "since_revision", description: "must be a non-negative integer" }]);
  }
  throwIfAborted(signal);

  const inScope = watchScope(request, access);
  const queue = new LiveQueue(deps.queueLimit ?? WATCH_DEFAULTS.queueLimit);
  let live = false;
  // The last revision passed (replayed, skipped or sent): where a client told WATCH_TOO_SLOW resumes.
  let position = since;
  // Subscribe before reading the head: anything committed after that read is then queued, whatever the timing.
  let unsubscribe: (() => void) | undefined = feed.subscribe((event) => {
    if (!inScope(event)) return;
    queue.push(event);
    // Once live, an overflow is final: stop listening now so an abandoned stream holds nothing, and end the watch
    // now rather than on a next pull that a stalled consumer may never make.
    if (queue.hasOverflowed() && live && unsubscribe) {
      stopListening();
      deps.onOverflow?.(watchTooSlow(position));
    }
  });
  const stopListening = () => {
    unsubscribe?.();
    unsubscribe = undefined;
  };
  const onAbort = () => {
    stopListening();
    queue.fail(signal.reason);
  };
  signal.addEventListener("abort", onAbort, { once: true });
  deps.stats?.open(queue);

  try {
    let head = Math.max(feed.head(), await store.headRevision(signal));
    throwIfAborted(signal);
    if (since > 0) await checkReplayable(deps, since, head, clock, signal);

    // Replay (position, head]. Live events that overflow the queue meanwhile are all in the log too: drop them, read a
    // newer head and replay on, rather than fail a client whose only fault was a long replay.
    position = since > 0 ? since : head;
    for (let round = 1; ; round++) {
      replay: while (position < head) {
        const page = await store.eventsAfter(position, replayBatchSize, signal);
        throwIfAborted(signal);
        for (const event of page) {
          if (event.revision > head) break replay;
          if (event.revision <= position) continue;
          position = event.revision;
          if (inScope(event)) yield { kind: "event", event };
        }
        if (page.length < replayBatchSize) break;
      }
      if (!queue.hasOverflowed()) break;
      if (round >= MAX_CATCH_UP_ROUNDS) throw watchTooSlow(position);
      queue.reset();
      head = Math.max(feed.head(), await store.headRevision(signal));
      throwIfAborted(signal);
    }

    position = head;
    live = true;
    yield { kind: "sync", headRevision: head };

    let lastYield = performance.now();
    for (;;) {
      throwIfAborted(signal);
      if (queue.hasOverflowed()) throw watchTooSlow(position);
      const event = queue.shift();
      if (event) {
        if (event.revision <= position) continue; // already replayed
        position = event.revision;
        yield { kind: "event", event };
        lastYield = performance.now();
        continue;
      }
      const idleLeft = lastYield + heartbeatMs - performance.now();
      if (idleLeft > 0) {
        await queue.wait(idleLeft);
        continue;
      }
      // The queue is empty and the feed dispatches synchronously, so nothing in scope up to its head is unsent.
      position = Math.max(position, feed.head());
      yield { kind: "heartbeat", headRevision: position };
      lastYield = performance.now();
    }
  } finally {
    deps.stats?.close(queue);
    signal.removeEventListener("abort", onAbort);
    stopListening();
    queue.fail(undefined);
  }
}

/** OUT_OF_RANGE unless every event after `since` up to `head` is still in the replay horizon. */
async function checkReplayable(
  deps: WatchDeps,
  since: number,
  head: number,
  clock: () => Date,
  signal: AbortSignal,
): Promise<void> {
  if (since > head) {
    throw new DomainError(
      "out_of_range",
      WatchReason.REVISION_AHEAD,
      `since_revision ${since} is ahead of the newest revision ${head}; list again`,
      {
        metadata: { since_revision: String(since), head_revision: String(head) },
      },
    );
  }
  if (since === head) return;
  const retentionMs = deps.replayRetentionMs ?? WATCH_DEFAULTS.replayRetentionMs;
  const horizon = new Date(clock().getTime() - retentionMs);
  const oldest = (await deps.store.firstRevisionSince(horizon, signal)) ?? head + 1;
  throwIfAborted(signal);
  if (since + 1 < oldest) {
    throw new DomainError(
      "out_of_range",
      WatchReason.REVISION_OUT_OF_RANGE,
      `since_revision ${since} is older than the replayable log (oldest ${oldest}); list again`,
      {
        metadata: { since_revision: String(since), oldest_revision: String(oldest) },
      },
    );
  }
}

/** RESOURCE_EXHAUSTED: the consumer fell queueLimit events behind; it should resume from lastRevision. */
function watchTooSlow(lastRevision: number): DomainError {
  return new DomainError(
    "resource_exhausted",
    WatchReason.WATCH_TOO_SLOW,
    `the watch fell too far behind; resume from revision ${lastRevision}`,
    {
      metadata: { last_revision: String(lastRevision) },
      retryAfterMs: WATCH_RETRY_AFTER_MS,
    },
  );
}

/** Live events not yet pulled, bounded: an overflow empties it and drops everything until reset(). */
class LiveQueue {
  private items: OrderEvent[] = [];
  private first = 0;
  private waiter: { wake: () => void; fail: (reason: unknown) => void } | undefined;
  private failed = false;
  private failure: unknown;
  private overflowed = false;

  constructor(private readonly limit: number) {}

  /** True once a push found the queue full (its events were dropped); a method so each check reads it afresh. */
  hasOverflowed(): boolean {
    return this.overflowed;
  }

  /** Events queued, not yet shifted. */
  size(): number {
    return this.items.length - this.first;
  }

  push(event: OrderEvent): void {
    if (this.overflowed || this.failed) return;
    if (this.items.length - this.first >= this.limit) {
      this.overflowed = true;
      this.clear();
    } else {
      this.items.push(event);
    }
    this.waiter?.wake();
  }

  shift(): OrderEvent | undefined {
    const event = this.items[this.first];
    if (event === undefined) return undefined;
    this.first++;
    if (this.first === this.items.length) this.clear();
    else if (this.first >= 1024 && this.first * 2 >= this.items.length) this.compact();
    return event;
  }

  reset(): void {
    this.overflowed = false;
    this.clear();
  }

  /** Resolves on the next push or after ms; rejects once fail() was called with a reason. */
  wait(ms: number): Promise<void> {
    if (this.failed) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.waiter = undefined;
      };
      const timer = setTimeout(() => {
        settle();
        resolve();
      }, ms);
      this.waiter = {
        wake: () => {
          settle();
          resolve();
        },
        fail: (reason) => {
          settle();
          reject(reason);
        },
      };
    });
  }

  /** Drops everything and rejects the pending and every later wait() with reason. */
  fail(reason: unknown): void {
    this.failed = true;
    this.failure = reason;
    this.clear();
    this.waiter?.fail(reason);
  }

  private clear(): void {
    this.items = [];
    this.first = 0;
  }

  private compact(): void {
    this.items = this.items.slice(this.first);
    this.first = 0;
  }
}
