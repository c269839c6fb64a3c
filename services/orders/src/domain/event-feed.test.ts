import { afterEach, describe, expect, it, vi } from "vitest";
import { EventFeed } from "./event-feed.js";
import type { OrderEvent } from "./model.js";
import type { OrderStore } from "./order-store.js";

/** Just the log EventFeed reads. `gate`, when set, holds each read after it has taken its snapshot. */
class FakeLog implements Pick<OrderStore, "eventsAfter" | "headRevision"> {
  readonly events: OrderEvent[] = [];
  reads = 0;
  gate: Promise<void> | undefined;
  failNext: Error | undefined;

  append(count = 1, userId = "usr_a"): OrderEvent[] {
    const added: OrderEvent[] = [];
    for (let i = 0; i < count; i++) {
      const revision = this.events.length + 1;
      const event: OrderEvent = {
        revision,
        orderId: `ord_${revision}`,
        userId,
        type: "CREATED",
        fromState: undefined,
        toState: "PENDING",
        actor: userId,
        reason: "",
        time: new Date(),
      };
      this.events.push(event);
      added.push(event);
    }
    return added;
  }

  async eventsAfter(afterRevision: number, limit: number): Promise<OrderEvent[]> {
    this.reads++;
    const page = this.events.filter((e) => e.revision > afterRevision).slice(0, limit);
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    if (this.gate) await this.gate;
    return page;
  }

  async headRevision(): Promise<number> {
    return this.events.at(-1)?.revision ?? 0;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const feeds: EventFeed[] = [];
function newFeed(
  log: FakeLog,
  options: { pollIntervalMs?: number; batchSize?: number; onError?: (e: unknown) => void } = {},
): EventFeed {
  const feed = new EventFeed({
    store: log,
    onError:
      options.onError ??
      ((e) => {
        throw e;
      }),
    ...options,
  });
  feeds.push(feed);
  return feed;
}
afterEach(async () => {
  await Promise.all(feeds.splice(0).map((f) => f.stop()));
});

describe("EventFeed", () => {
  it("starts at the head and dispatches only later events, in revision order across batches", async () => {
    const log = new FakeLog();
    log.append(3);
    const feed = newFeed(log, { batchSize: 2 });
    await feed.start();
    expect(feed.head()).toBe(3);

    const seen: number[] = [];
    feed.subscribe((e) => seen.push(e.revision));
    log.append(5);
    feed.notify();
    await feed.idle();
    expect(seen).toEqual([4, 5, 6, 7, 8]);
    expect(feed.head()).toBe(8);
    // 2 + 2 + 1: a short batch means caught up.
    expect(log.reads).toBe(3);
  });

  it("coalesces concurrent notifies into one read loop and reads once more if notified during a read", async () => {
    const log = new FakeLog();
    const feed = newFeed(log);
    await feed.start();
    const seen: number[] = [];
    feed.subscribe((e) => seen.push(e.revision));

    const gate = deferred();
    log.gate = gate.promise;
    log.append(1);
    feed.notify(); // read 1 snapshots [1] and blocks
    await vi.waitFor(() => expect(log.reads).toBe(1));
    log.append(1); // committed after read 1's snapshot
    for (let i = 0; i < 5; i++) feed.notify();
    expect(log.reads).toBe(1);
    log.gate = undefined;
    gate.resolve();
    await feed.idle();

    expect(log.reads).toBe(2);
    expect(seen).toEqual([1, 2]);
  });

  it("does not lose a notify that arrives while start() reads the head", async () => {
    const log = new FakeLog();
    const feed = newFeed(log);
    const seen: number[] = [];
    feed.subscribe((e) => seen.push(e.revision));
    const started = feed.start(); // the fake's head is taken now: 0
    // Committed and notified while start() is still awaiting the head: must be read once start() is done.
    log.append(1);
    feed.notify();
    await started;
    log.append(1);
    feed.notify();
    await feed.idle();
    expect(seen).toEqual([1, 2]);
    expect(feed.head()).toBe(2);
  });

  it("with nobody subscribed, moves past a notified committed revision without reading the log", async () => {
    const log = new FakeLog();
    const feed = newFeed(log);
    await feed.start();
    log.append(3);
    feed.notify(2);
    feed.notify(3);
    feed.notify(1); // late or duplicated: never moves the feed back
    await feed.idle();
    expect(log.reads).toBe(0);
    expect(feed.head()).toBe(3);

    // A subscriber gets exactly what follows, read from the log: a named revision no longer skips a read.
    const seen: number[] = [];
    feed.subscribe((e) => seen.push(e.revision));
    log.append(2);
    feed.notify(5);
    await feed.idle();
    expect(seen).toEqual([4, 5]);
    expect(log.reads).toBe(1);

    // A wake-up without a revision (the poll, a reconnect) reads even with nobody subscribed.
    const feed2 = newFeed(log);
    await feed2.start();
    log.append(1);
    feed2.notify();
    await feed2.idle();
    expect(feed2.head()).toBe(6);
    expect(log.reads).toBe(2);
  });

  it("neither misses nor repeats events for a subscriber that arrives after a skip, while a read is in flight", async () => {
    const log = new FakeLog();
    const feed = newFeed(log);
    await feed.start();
    const first = feed.subscribe(() => {});
    const gate = deferred();
    log.gate = gate.promise;
    log.append(2);
    feed.notify(2); // read for the subscriber: its snapshot is [1, 2], held at the gate
    await vi.waitFor(() => expect(log.reads).toBe(1));
    first();
    log.append(3);
    feed.notify(5); // nobody subscribed now: skip to 5
    expect(feed.head()).toBe(5);
    const seen: number[] = [];
    feed.subscribe((e) => seen.push(e.revision));
    log.gate = undefined;
    gate.resolve(); // the stale batch [1, 2] lands: all at or below the head, so nothing is dispatched
    await feed.idle();
    expect(feed.head()).toBe(5);
    log.append(1);
    feed.notify(6);
    await feed.idle();
    expect(seen).toEqual([6]);
  });

  it("polls for events committed without a notify", async () => {
    const log = new FakeLog();
    const feed = newFeed(log, { pollIntervalMs: 10 });
    await feed.start();
    const seen: number[] = [];
    feed.subscribe((e) => seen.push(e.revision));
    log.append(2);
    await vi.waitFor(() => expect(seen).toEqual([1, 2]));
  });

  it("reports a failed read to onError, never to the caller, and retries on the next notify", async () => {
    const log = new FakeLog();
    const errors: unknown[] = [];
    const feed = newFeed(log, { onError: (e) => errors.push(e) });
    await feed.start();
    const seen: number[] = [];
    feed.subscribe((e) => seen.push(e.revision));

    log.append(1);
    const failure = new Error("database is locked");
    log.failNext = failure;
    expect(() => feed.notify()).not.toThrow();
    await feed.idle();
    expect(errors).toEqual([failure]);
    expect(seen).toEqual([]);
    expect(feed.head()).toBe(0);

    feed.notify();
    await feed.idle();
    expect(seen).toEqual([1]);
  });

  it("keeps dispatching to others when a listener throws, and reports it", async () => {
    const log = new FakeLog();
    const errors: unknown[] = [];
    const feed = newFeed(log, { onError: (e) => errors.push(e) });
    await feed.start();
    const seen: number[] = [];
    feed.subscribe(() => {
      throw new Error("boom");
    });
    feed.subscribe((e) => seen.push(e.revision));
    log.append(2);
    feed.notify();
    await feed.idle();
    expect(seen).toEqual([1, 2]);
    expect(errors).toHaveLength(2);
  });

  it("stops delivering after unsubscribe, including a listener that unsubscribes itself mid-batch", async () => {
    const log = new FakeLog();
    const feed = newFeed(log);
    await feed.start();
    const first: number[] = [];
    const second: number[] = [];
    const unsubscribeFirst = feed.subscribe((e) => {
      first.push(e.revision);
      unsubscribeFirst();
    });
    const unsubscribeSecond = feed.subscribe((e) => second.push(e.revision));
    expect(feed.subscriberCount).toBe(2);
    log.append(3);
    feed.notify();
    await feed.idle();
    expect(first).toEqual([1]);
    expect(second).toEqual([1, 2, 3]);
    unsubscribeSecond();
    unsubscribeSecond();
    expect(feed.subscriberCount).toBe(0);
  });

  it("stop() ends polling and ignores later notifies", async () => {
    const log = new FakeLog();
    const feed = newFeed(log, { pollIntervalMs: 5 });
    await feed.start();
    await feed.stop();
    const reads = log.reads;
    log.append(1);
    feed.notify();
    await new Promise((r) => setTimeout(r, 30));
    expect(log.reads).toBe(reads);
    expect(feed.head()).toBe(0);
  });
});
