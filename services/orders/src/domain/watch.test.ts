import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DomainError, type Access } from "@orderly/kit/domain";
import { EventFeed } from "./event-feed.js";
import type { OrderEvent } from "./model.js";
import type { OrderStore } from "./order-store.js";
import { watchOrders, type WatchDeps, type WatchItem, type WatchRequest } from "./watch.js";

const NOW = new Date("2025-06-01T12:00:00.000Z");
const DAY = 24 * 60 * 60 * 1000;
const staff: Access = { subject: "usr_staff", ownOnly: false };
const alice: Access = { subject: "usr_alice", ownOnly: true };

/** Just the log a watch reads. `beforeRead` runs at the start of each eventsAfter, before its snapshot. */
class FakeLog implements Pick<OrderStore, "eventsAfter" | "headRevision" | "firstRevisionSince"> {
  readonly events: OrderEvent[] = [];
  beforeRead: ((afterRevision: number) => void | Promise<void>) | undefined;
  /** Runs in headRevision after the head was taken, before it is returned. */
  afterHead: (() => Promise<void>) | undefined;

  append(
    count = 1,
    { userId = "usr_alice", orderId, time = NOW }: { userId?: string; orderId?: string; time?: Date } = {},
  ): void {
    for (let i = 0; i < count; i++) {
      const revision = this.events.length + 1;
      this.events.push({
        revision,
        orderId: orderId ?? `ord_${revision}`,
        userId,
        type: "CREATED",
        fromState: undefined,
        toState: "PENDING",
        actor: userId,
        reason: "",
        time,
      });
    }
  }

  async eventsAfter(afterRevision: number, limit: number): Promise<OrderEvent[]> {
    await this.beforeRead?.(afterRevision);
    return this.events.filter((e) => e.revision > afterRevision).slice(0, limit);
  }

  async headRevision(): Promise<number> {
    const head = this.events.at(-1)?.revision ?? 0;
    await this.afterHead?.();
    return head;
  }

  async firstRevisionSince(since: Date): Promise<number | undefined> {
    return this.events.find((e) => e.time.getTime() >= since.getTime())?.revision;
  }
}

let log: FakeLog;
let feed: EventFeed;

beforeEach(async () => {
  log = new FakeLog();
  feed = new EventFeed({
    store: log,
    onError: (e) => {
      throw e;
    },
  });
  await feed.start();
});
afterEach(async () => {
  await feed.stop();
});

/** Commits events and lets the feed dispatch them, as Orders' onCommitted would. */
async function publish(count = 1, options: Parameters<FakeLog["append"]>[1] = {}): Promise<void> {
  log.append(count, options);
  feed.notify();
  await feed.idle();
}

/**
 * A watch read the way a transport reads it: send() hands an item to a reader and says false ("push back") while an
 * earlier item is still unread; whenWritable() resolves once the reader has read everything. next() and return()
 * make it an async iterator; after the watch ends, next() returns what was sent before it ended, then its error.
 */
class Reader implements AsyncIterableIterator<WatchItem> {
  private readonly unread: WatchItem[] = [];
  private pending: { resolve: (result: IteratorResult<WatchItem>) => void; reject: (e: unknown) => void } | undefined;
  private writable: (() => void)[] = [];
  private end: { error: Error | undefined } | undefined;
  private endReported = false;
  private readonly controller = new AbortController();
  /** The watch itself: settles when it ends. */
  readonly ended: Promise<void>;
  settled = false;

  constructor(deps: WatchDeps, request: WatchRequest, access: Access, signal?: AbortSignal) {
    const cancel = () => this.controller.abort(signal?.reason);
    if (signal?.aborted) cancel();
    else signal?.addEventListener("abort", cancel, { once: true });
    this.ended = watchOrders(deps, request, access, this.controller.signal, {
      send: (item) => {
        if (this.pending) {
          this.take().resolve({ done: false, value: item });
          return true;
        }
        this.unread.push(item);
        return false;
      },
      whenWritable: () =>
        this.controller.signal.aborted
          ? Promise.reject(this.controller.signal.reason as Error)
          : new Promise<void>((resolve, reject) => {
              this.writable.push(resolve);
              this.controller.signal.addEventListener("abort", () => reject(this.controller.signal.reason as Error));
            }),
    });
    this.ended.then(
      () => this.finish({ error: undefined }),
      (error: unknown) => this.finish({ error: error as Error }),
    );
  }

  next(): Promise<IteratorResult<WatchItem>> {
    const item = this.unread.shift();
    if (item) {
      if (this.unread.length === 0) for (const wake of this.writable.splice(0)) wake();
      return Promise.resolve({ done: false, value: item });
    }
    if (this.end) {
      if (this.endReported || this.end.error === undefined) return Promise.resolve({ done: true, value: undefined });
      this.endReported = true;
      return Promise.reject(this.end.error);
    }
    return new Promise((resolve, reject) => (this.pending = { resolve, reject }));
  }

  /** Breaking out: aborts the watch and waits for it to end. */
  async return(): Promise<IteratorResult<WatchItem>> {
    this.controller.abort(new Error("reader left"));
    await this.ended.catch(() => {});
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  private take() {
    const pending = this.pending!;
    this.pending = undefined;
    return pending;
  }

  private finish(end: { error: Error | undefined }): void {
    this.settled = true;
    this.end = end;
    if (!this.pending) return;
    this.endReported = true;
    if (end.error === undefined) this.take().resolve({ done: true, value: undefined });
    else this.take().reject(end.error);
  }
}

function open(request: WatchRequest, access: Access = staff, deps: Partial<WatchDeps> = {}, signal?: AbortSignal) {
  return new Reader({ store: log, feed, clock: () => NOW, heartbeatMs: 60_000, ...deps }, request, access, signal);
}

/** "e<revision>", "sync@<head>" or "hb@<head>": short enough to compare whole streams. */
function label(item: WatchItem): string {
  return item.kind === "event"
    ? `e${item.event.revision}`
    : `${item.kind === "sync" ? "sync" : "hb"}@${item.headRevision}`;
}

async function take(watch: AsyncIterator<WatchItem>, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const result = await watch.next();
    if (result.done) throw new Error(`the watch ended after ${out.join(",")}`);
    out.push(label(result.value));
  }
  return out;
}

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw error;
  return error;
}

const activeTimeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("watchOrders: replay, sync, live", () => {
  it("replays the events after sinceRevision, then sync with the head, then live events", async () => {
    await publish(5);
    const watch = open({ sinceRevision: 2 });
    expect(await take(watch, 4)).toEqual(["e3", "e4", "e5", "sync@5"]);
    await publish(2);
    expect(await take(watch, 2)).toEqual(["e6", "e7"]);
    await watch.return();
  });

  it("starts at the head without replay when sinceRevision is 0", async () => {
    await publish(3);
    const watch = open({ sinceRevision: 0 });
    expect(await take(watch, 1)).toEqual(["sync@3"]);
    await publish(1);
    expect(await take(watch, 1)).toEqual(["e4"]);
    await watch.return();
  });

  it("lets a client that reconnects with its last revision miss nothing and see nothing twice", async () => {
    await publish(2);
    const seen: number[] = [];
    let last = 1;
    for await (const item of open({ sinceRevision: last })) {
      if (item.kind === "sync") await publish(2);
      if (item.kind !== "event") continue;
      seen.push(item.event.revision);
      last = item.event.revision;
      if (last === 3) break;
    }
    expect(feed.subscriberCount).toBe(0);
    await publish(2); // 5, 6 while disconnected; 4 was queued but never read

    const watch = open({ sinceRevision: last });
    for (const item of await take(watch, 4)) if (item.startsWith("e")) seen.push(Number(item.slice(1)));
    await publish(1);
    for (const item of await take(watch, 1)) seen.push(Number(item.slice(1)));
    expect(seen).toEqual([2, 3, 4, 5, 6, 7]);
    await watch.return();
  });

  it("misses nothing and repeats nothing when the feed moved past unwatched commits without reading them", async () => {
    let reads = 0;
    log.beforeRead = () => {
      reads += 1;
    };
    // Committed and announced with their revision, as Orders and a NOTIFY announce them: nobody watches, so no read.
    const commit = async (count: number) => {
      log.append(count);
      feed.notify(log.events.length);
      await feed.idle();
    };
    await commit(3);
    expect(reads).toBe(0);
    expect(feed.head()).toBe(3);
    log.afterHead = async () => {
      log.afterHead = undefined;
      await commit(1); // 4: after the watch subscribed, before its head read returns: read and dispatched live
    };
    const seen: string[] = [];
    const watch = open({ sinceRevision: 1 });
    seen.push(...(await take(watch, 3)));
    await commit(2);
    seen.push(...(await take(watch, 3)));
    expect(seen).toEqual(["e2", "e3", "sync@3", "e4", "e5", "e6"]);
    await watch.return();
    expect(feed.subscriberCount).toBe(0);

    const before = reads;
    await commit(2); // 7, 8: unwatched again
    expect(reads).toBe(before);
    const again = open({ sinceRevision: 6 });
    expect(await take(again, 3)).toEqual(["e7", "e8", "sync@8"]);
    await commit(1);
    expect(await take(again, 1)).toEqual(["e9"]);
    await again.return();
  });

  it("neither loses nor duplicates events committed between replay pages", async () => {
    await publish(6);
    log.beforeRead = async (after) => {
      if (after !== 3) return;
      log.beforeRead = undefined;
      await publish(2); // 7, 8: after the watch read head 6, before its replay reaches 6
    };
    const watch = open({ sinceRevision: 1 }, staff, { replayBatchSize: 2 });
    expect(await take(watch, 8)).toEqual(["e2", "e3", "e4", "e5", "e6", "sync@6", "e7", "e8"]);
    await watch.return();
  });

  it("keeps an event committed while the head is being read (it subscribes first)", async () => {
    await publish(2);
    log.afterHead = async () => {
      log.afterHead = undefined;
      await publish(1); // 3: not in the head the watch got, already dispatched when it gets it
    };
    const watch = open({ sinceRevision: 1 });
    expect(await take(watch, 3)).toEqual(["e2", "sync@2", "e3"]);
    await watch.return();
  });

  it("dedupes events the store had committed before the feed dispatched them", async () => {
    await publish(1);
    log.append(2); // committed, not yet notified: the feed lags the store
    const watch = open({ sinceRevision: 1 });
    expect(await take(watch, 3)).toEqual(["e2", "e3", "sync@3"]);
    feed.notify(); // now the feed dispatches 2 and 3 into the live queue
    await feed.idle();
    await publish(1);
    expect(await take(watch, 1)).toEqual(["e4"]);
    await watch.return();
  });

  it("restarts the replay from the log instead of failing when live events overflow the queue during it", async () => {
    await publish(6);
    log.beforeRead = async (after) => {
      if (after !== 3) return;
      log.beforeRead = undefined;
      await publish(5); // 7..11 into a queue of 2
    };
    const watch = open({ sinceRevision: 1 }, staff, { replayBatchSize: 2, queueLimit: 2 });
    expect(await take(watch, 11)).toEqual(["e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9", "e10", "e11", "sync@11"]);
    await publish(1);
    expect(await take(watch, 1)).toEqual(["e12"]);
    await watch.return();
  });

  it("rejects a negative sinceRevision", async () => {
    const error = await failure(open({ sinceRevision: -1 }).next());
    expect(error).toMatchObject({ kind: "invalid_argument" });
    expect(error.fieldViolations.map((v) => v.field)).toEqual(["since_revision"]);
    expect(feed.subscriberCount).toBe(0);
  });
});

describe("watchOrders: out of range", () => {
  beforeEach(async () => {
    await publish(2, { time: new Date(NOW.getTime() - 10 * DAY) });
    await publish(2, { time: new Date(NOW.getTime() - DAY) });
  });

  it("is OUT_OF_RANGE when events after sinceRevision are older than the replay horizon", async () => {
    const error = await failure(open({ sinceRevision: 1 }).next());
    expect(error).toMatchObject({
      kind: "out_of_range",
      reason: "REVISION_OUT_OF_RANGE",
      metadata: { since_revision: "1", oldest_revision: "3" },
    });
    expect(feed.subscriberCount).toBe(0);
  });

  it("replays from just before the oldest replayable revision", async () => {
    const watch = open({ sinceRevision: 2 });
    expect(await take(watch, 3)).toEqual(["e3", "e4", "sync@4"]);
    await watch.return();
  });

  it("honours a configured retention, and accepts a client already at the head however old the log", async () => {
    const error = await failure(open({ sinceRevision: 2 }, staff, { replayRetentionMs: DAY / 2 }).next());
    expect(error).toMatchObject({ reason: "REVISION_OUT_OF_RANGE", metadata: { oldest_revision: "5" } });
    const watch = open({ sinceRevision: 4 }, staff, { replayRetentionMs: DAY / 2 });
    expect(await take(watch, 1)).toEqual(["sync@4"]);
    await watch.return();
  });

  it("is OUT_OF_RANGE (REVISION_AHEAD) when sinceRevision is past the head", async () => {
    const error = await failure(open({ sinceRevision: 5 }).next());
    expect(error).toMatchObject({
      kind: "out_of_range",
      reason: "REVISION_AHEAD",
      metadata: { since_revision: "5", head_revision: "4" },
    });
  });
});

describe("watchOrders: scope", () => {
  beforeEach(async () => {
    await publish(1, { userId: "usr_x" });
    await publish(1, { userId: "usr_alice", orderId: "ord_a" }); // 2
    await publish(1, { userId: "usr_bob", orderId: "ord_b" }); // 3
    await publish(1, { userId: "usr_alice", orderId: "ord_a2" }); // 4
  });

  it("shows an ownOnly caller only their own events, replayed and live", async () => {
    const watch = open({ sinceRevision: 1 }, alice);
    expect(await take(watch, 3)).toEqual(["e2", "e4", "sync@4"]);
    await publish(1, { userId: "usr_bob" });
    await publish(1, { userId: "usr_alice" });
    expect(await take(watch, 1)).toEqual(["e6"]);
    await watch.return();
  });

  it("gives an ownOnly caller who names another user or their order markers, never data", async () => {
    for (const request of [{ userId: "usr_bob" }, { orderId: "ord_b" }]) {
      const watch = open({ ...request, sinceRevision: 1 }, alice, { heartbeatMs: 30 });
      expect(await take(watch, 1)).toEqual([`sync@${feed.head()}`]); // nothing replayed
      await publish(1, { userId: "usr_bob", orderId: "ord_b" });
      const head = feed.head();
      expect(await take(watch, 1)).toEqual([`hb@${head}`]);
      await watch.return();
    }
  });

  it("filters staff watches by order and by user, and shows staff everything without filters", async () => {
    const byOrder = open({ orderId: "ord_a", sinceRevision: 1 });
    const byUser = open({ userId: "usr_bob", sinceRevision: 1 });
    const all = open({ sinceRevision: 1 });
    expect(await take(byOrder, 2)).toEqual(["e2", "sync@4"]);
    expect(await take(byUser, 2)).toEqual(["e3", "sync@4"]);
    expect(await take(all, 4)).toEqual(["e2", "e3", "e4", "sync@4"]);
    await publish(1, { userId: "usr_bob", orderId: "ord_b" }); // 5
    await publish(1, { userId: "usr_alice", orderId: "ord_a" }); // 6
    expect(await take(byOrder, 1)).toEqual(["e6"]);
    expect(await take(byUser, 1)).toEqual(["e5"]);
    expect(await take(all, 2)).toEqual(["e5", "e6"]);
    await Promise.all([byOrder.return(), byUser.return(), all.return()]);
    expect(feed.subscriberCount).toBe(0);
  });
});

describe("watchOrders: heartbeat, backpressure, cancellation", () => {
  it("sends a heartbeat with the feed's head after heartbeatMs without items", async () => {
    await publish(2);
    const watch = open({ sinceRevision: 0 }, alice, { heartbeatMs: 50 });
    expect(await take(watch, 1)).toEqual(["sync@2"]);
    await publish(3, { userId: "usr_bob" }); // moves the head, not in alice's scope
    const started = performance.now();
    expect(await take(watch, 1)).toEqual(["hb@5"]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(40);
    await publish(1);
    expect(await take(watch, 1)).toEqual(["e6"]);
    await watch.return();
  });

  it("buffers up to queueLimit live events for a reader that is not pulling", async () => {
    const watch = open({ sinceRevision: 0 }, staff, { queueLimit: 3 });
    expect(await take(watch, 1)).toEqual(["sync@0"]);
    await publish(3);
    expect(await take(watch, 3)).toEqual(["e1", "e2", "e3"]);
    await watch.return();
  });

  it("ends a reader that falls more than queueLimit events behind with WATCH_TOO_SLOW and stops queueing at once", async () => {
    await publish(2);
    const watch = open({ sinceRevision: 1 }, staff, { queueLimit: 3 });
    expect(await take(watch, 2)).toEqual(["e2", "sync@2"]);
    await publish(1);
    expect(await take(watch, 1)).toEqual(["e3"]);
    // Nobody reading: e4 goes to the reader (which pushes back), e5-e7 fill the queue of 3, e8 overflows it.
    await publish(5);
    expect(feed.subscriberCount).toBe(0);
    expect(watch.settled).toBe(true);
    expect(await take(watch, 1)).toEqual(["e4"]); // handed over before the overflow, as a transport would have it
    const error = await failure(watch.next());
    expect(error).toMatchObject({
      kind: "resource_exhausted",
      reason: "WATCH_TOO_SLOW",
      retryAfterMs: 1000,
      metadata: { last_revision: "4" },
    });
    expect(await watch.next()).toEqual({ done: true, value: undefined });
  });

  it("ends at once, with WATCH_TOO_SLOW, when a live queue overflows and nobody reads", async () => {
    const watch = open({ sinceRevision: 0 }, staff, { queueLimit: 3 });
    expect(await take(watch, 1)).toEqual(["sync@0"]);
    await publish(4); // one with the reader, three queued: full, not over
    expect(watch.settled).toBe(false);
    await publish(1); // nobody reads: the transport may be blocked on a write
    expect(watch.settled).toBe(true);
    expect(await failure(watch.ended)).toMatchObject({
      kind: "resource_exhausted",
      reason: "WATCH_TOO_SLOW",
      metadata: { last_revision: "1" },
    });
    expect(feed.subscriberCount).toBe(0);
  });

  it("sends queued events in order once the reader reads again, then goes back to sending directly", async () => {
    const watch = open({ sinceRevision: 0 }, staff, { queueLimit: 3 });
    expect(await take(watch, 1)).toEqual(["sync@0"]);
    await publish(4);
    expect(await take(watch, 4)).toEqual(["e1", "e2", "e3", "e4"]);
    await publish(4);
    expect(await take(watch, 4)).toEqual(["e5", "e6", "e7", "e8"]);
    expect(watch.settled).toBe(false);
    await watch.return();
  });

  it("counts only events in scope against the queue", async () => {
    const watch = open({ sinceRevision: 0 }, alice, { queueLimit: 2 });
    expect(await take(watch, 1)).toEqual(["sync@0"]);
    await publish(10, { userId: "usr_bob" });
    expect(feed.subscriberCount).toBe(1);
    await publish(1);
    expect(await take(watch, 1)).toEqual(["e11"]);
    await watch.return();
  });

  it("rejects a pending next with the abort reason, and leaves no listener or timer behind", async () => {
    const timersBefore = activeTimeouts();
    const controller = new AbortController();
    const watch = open({ sinceRevision: 0 }, staff, {}, controller.signal);
    expect(await take(watch, 1)).toEqual(["sync@0"]);
    const pending = watch.next();
    await new Promise((resolve) => setImmediate(resolve));
    expect(activeTimeouts()).toBe(timersBefore + 1); // the heartbeat timer
    const reason = new Error("client cancelled");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(feed.subscriberCount).toBe(0);
    expect(activeTimeouts()).toBe(timersBefore);
    expect(await watch.next()).toEqual({ done: true, value: undefined });
  });

  it("unsubscribes as soon as the signal aborts, even while the consumer is not pulling", async () => {
    const controller = new AbortController();
    const watch = open({ sinceRevision: 0 }, staff, {}, controller.signal);
    expect(await take(watch, 1)).toEqual(["sync@0"]);
    expect(feed.subscriberCount).toBe(1);
    const reason = new Error("deadline");
    controller.abort(reason);
    expect(feed.subscriberCount).toBe(0);
    await expect(watch.next()).rejects.toBe(reason);
  });

  it("does not start when the signal has already fired", async () => {
    const controller = new AbortController();
    const reason = new Error("gone");
    controller.abort(reason);
    await expect(open({ sinceRevision: 0 }, staff, {}, controller.signal).next()).rejects.toBe(reason);
    expect(feed.subscriberCount).toBe(0);
  });

  it("unsubscribes when the consumer breaks out", async () => {
    await publish(3);
    for await (const item of open({ sinceRevision: 1 })) {
      expect(feed.subscriberCount).toBe(1);
      if (item.kind === "event") break;
    }
    expect(feed.subscriberCount).toBe(0);
  });
});
