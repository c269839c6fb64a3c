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

/** Where a watch sends its items: a stream that may push back. */
export interface WatchSink {
  /** Sends one item now. False once the consumer pushes back: it was taken, but send no more until whenWritable(). */
  send(item: WatchItem): boolean;
  /** Resolves once the consumer takes items again; rejects when it has gone. */
  whenWritable(): Promise<void>;
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
  /** Live events held for a consumer that pushes back; one more ends the watch with WATCH_TOO_SLOW at once. */
  queueLimit?: number;
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
 * Sends order events in scope to `sink`: replay after request.sinceRevision, a sync marker, then live events and
 * heartbeats. Live events are sent from the feed's dispatch itself, straight to a writable sink; only while the sink
 * pushes back are they queued, up to queueLimit, and one more ends the watch at once with WATCH_TOO_SLOW. The promise
 * settles only when the watch ends: rejected with that error, a store error, or `signal.reason` once it aborts (which
 * unsubscribes at once).
 */
export function watchOrders(
  deps: WatchDeps,
  request: WatchRequest,
  access: Access,
  signal: AbortSignal,
  sink: WatchSink,
): Promise<void> {
  return watch(deps, request, access, signal, sink);
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

async function watch(
  deps: WatchDeps,
  request: WatchRequest,
  access: Access,
  signal: AbortSignal,
  sink: WatchSink,
): Promise<void> {
  const { store, feed } = deps;
  const clock = deps.clock ?? (() => new Date());
  const replayBatchSize = deps.replayBatchSize ?? WATCH_DEFAULTS.replayBatchSize;
  const since = request.sinceRevision;
  if (!Number.isSafeInteger(since) || since < 0) {
    throw invalidArgument([{ field: "since_revision", description: "must be a non-negative integer" }]);
  }
  throwIfAborted(signal);

  const inScope = watchScope(request, access);
  const queue = new LiveQueue(deps.queueLimit ?? WATCH_DEFAULTS.queueLimit);
  let live: LiveWatch | undefined;
  // Subscribe before reading the head: anything committed after that read is then queued (or, once live, sent),
  // whatever the timing.
  let unsubscribe: (() => void) | undefined = feed.subscribe((event) => {
    if (!inScope(event)) return;
    if (live) live.deliver(event);
    else queue.push(event);
  });
  const stopListening = () => {
    unsubscribe?.();
    unsubscribe = undefined;
  };
  // Unsubscribed at once, not when the awaiting code below next wakes.
  const onAbort = () => {
    stopListening();
    live?.fail(signal.reason);
  };
  signal.addEventListener("abort", onAbort, { once: true });
  deps.stats?.open(queue);

  try {
    let head = Math.max(feed.head(), await store.headRevision(signal));
    throwIfAborted(signal);
    if (since > 0) await checkReplayable(deps, since, head, clock, signal);

    // Replay (position, head]. Live events that overflow the queue meanwhile are all in the log too: drop them, read a
    // newer head and replay on, rather than fail a client whose only fault was a long replay.
    let position = since > 0 ? since : head;
    const send = async (item: WatchItem) => {
      if (!sink.send(item)) await sink.whenWritable();
      throwIfAborted(signal);
    };
    for (let round = 1; ; round++) {
      replay: while (position < head) {
        const page = await store.eventsAfter(position, replayBatchSize, signal);
        throwIfAborted(signal);
        for (const event of page) {
          if (event.revision > head) break replay;
          if (event.revision <= position) continue;
          position = event.revision;
          if (inScope(event)) await send({ kind: "event", event });
        }
        if (page.length < replayBatchSize) break;
      }
      if (!queue.hasOverflowed()) break;
      if (round >= MAX_CATCH_UP_ROUNDS) throw watchTooSlow(position);
      queue.reset();
      head = Math.max(feed.head(), await store.headRevision(signal));
      throwIfAborted(signal);
    }

    await send({ kind: "sync", headRevision: head });
    live = new LiveWatch(sink, queue, feed, head, deps.heartbeatMs ?? WATCH_DEFAULTS.heartbeatMs, stopListening);
    await live.run();
  } finally {
    live?.close();
    deps.stats?.close(queue);
    signal.removeEventListener("abort", onAbort);
    stopListening();
  }
}

/**
 * The live phase of one watch. The feed calls deliver() for each event in scope, synchronously, and it goes straight
 * to the sink while the sink takes it. Once the sink pushes back, events queue until it is writable again; an
 * overflowing queue ends the watch with WATCH_TOO_SLOW at once (a consumer that stopped reading may never read
 * again). The heartbeat is one timer per watch, re-armed only when it fires, not per event.
 */
class LiveWatch {
  private writable = true;
  private waitingForDrain = false;
  private lastSent = performance.now();
  private heartbeat: NodeJS.Timeout | undefined;
  private settle: { resolve: () => void; reject: (reason: unknown) => void } | undefined;
  private failure: { reason: unknown } | undefined;

  constructor(
    private readonly sink: WatchSink,
    private readonly queue: LiveQueue,
    private readonly feed: Pick<EventFeed, "head">,
    /** The last revision passed (replayed, skipped or sent): where a client told WATCH_TOO_SLOW resumes. */
    private position: number,
    private readonly heartbeatMs: number,
    private readonly stopListening: () => void,
  ) {}

  /** Sends what queued during the replay, then settles when the watch ends (it never ends without a failure). */
  run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failure) {
        reject(this.failure.reason);
        return;
      }
      this.settle = { resolve, reject };
      if (this.queue.hasOverflowed()) {
        this.fail(watchTooSlow(this.position));
        return;
      }
      this.flush();
      this.armHeartbeat(this.heartbeatMs);
    });
  }

  deliver(event: OrderEvent): void {
    if (this.failure) return;
    if (this.writable && this.queue.size() === 0) {
      this.sendEvent(event);
      return;
    }
    this.queue.push(event);
    if (this.queue.hasOverflowed()) this.fail(watchTooSlow(this.position));
  }

  /** Ends the watch with `reason` (at most once). */
  fail(reason: unknown): void {
    if (this.failure) return;
    this.failure = { reason };
    this.stopListening();
    this.close();
    this.settle?.reject(reason);
  }

  /** Stops the heartbeat and drops the queue. */
  close(): void {
    clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
    this.queue.reset();
  }

  private sendEvent(event: OrderEvent): void {
    if (event.revision <= this.position) return; // already replayed
    this.position = event.revision;
    this.sendItem({ kind: "event", event });
  }

  private sendItem(item: WatchItem): void {
    this.lastSent = performance.now();
    if (this.sink.send(item)) return;
    this.writable = false;
    if (this.waitingForDrain) return;
    this.waitingForDrain = true;
    this.sink.whenWritable().then(
      () => {
        this.waitingForDrain = false;
        this.writable = true;
        this.flush();
      },
      // The consumer has gone: the call's end aborts the watch's signal, which fails it.
      () => {
        this.waitingForDrain = false;
      },
    );
  }

  /** Sends queued events while the sink takes them. */
  private flush(): void {
    while (this.writable && !this.failure) {
      const event = this.queue.shift();
      if (!event) return;
      this.sendEvent(event);
    }
  }

  private armHeartbeat(ms: number): void {
    this.heartbeat = setTimeout(() => this.onHeartbeatTimer(), ms);
  }

  private onHeartbeatTimer(): void {
    if (this.failure) return;
    const idle = performance.now() - this.lastSent;
    if (idle < this.heartbeatMs) {
      this.armHeartbeat(this.heartbeatMs - idle);
      return;
    }
    // A consumer that pushes back has items in flight; nothing is owed. Otherwise the queue is empty and the feed
    // dispatches synchronously, so nothing in scope up to its head is unsent.
    if (this.writable && this.queue.size() === 0) {
      this.position = Math.max(this.position, this.feed.head());
      this.sendItem({ kind: "heartbeat", headRevision: this.position });
    }
    this.armHeartbeat(this.heartbeatMs);
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

/** Live events not yet sent, bounded: an overflow empties it and drops everything until reset(). */
class LiveQueue {
  private items: OrderEvent[] = [];
  private first = 0;
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
    if (this.overflowed) return;
    if (this.items.length - this.first >= this.limit) {
      this.overflowed = true;
      this.clear();
    } else {
      this.items.push(event);
    }
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

  private clear(): void {
    this.items = [];
    this.first = 0;
  }

  private compact(): void {
    this.items = this.items.slice(this.first);
    this.first = 0;
  }
}
