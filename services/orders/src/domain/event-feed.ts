// The live fan-out of order events, one per process. It tails the store's event log instead of trusting in-memory
// payloads, so the same code serves one process (SQLite; Orders calls notify() after each commit) and several replicas
// (PostgreSQL; a LISTEN/NOTIFY handler calls notify()). Whatever wakes it, it reads the log from the last revision it
// dispatched, so a lost or duplicated wake-up costs a read, never an event.
//
// Nobody subscribed, nobody to read for. A wake-up may say which revision was committed (the writer's own commit, or a
// NOTIFY's payload). Revisions commit in order (every store assigns the next one only after the previous one has
// committed), so that revision and everything before it are committed: with no listener the feed simply moves its
// position there instead of reading. That is safe for whoever subscribes later, because a subscriber reads the log's
// head only after subscribing (watch.ts), and that head is at least every revision the feed moved past before. Once
// someone listens, every wake-up reads again. A wake-up without a revision (the poll, a reconnect) always reads.
import type { OrderEvent } from "./model.js";
import type { OrderStore } from "./order-store.js";

/** Receives each new event once, in revision order. Must not throw; errors are reported and ignored. */
export type OrderEventListener = (event: OrderEvent) => void;

/** What EventFeed needs. */
export interface EventFeedOptions {
  store: Pick<OrderStore, "eventsAfter" | "headRevision">;
  /** Also read the log this often, as a safety net for missed notifications; 0 (the default) disables polling. */
  pollIntervalMs?: number;
  /** Events per store read. */
  batchSize?: number;
  /** Called with a failed store read (retried on the next notify or poll) or a listener's exception. */
  onError?: (error: unknown) => void;
}

/** The default number of events per store read. */
export const DEFAULT_FEED_BATCH_SIZE = 500;

type FeedState = "new" | "starting" | "running" | "stopped";

/** Tails the store's event log and dispatches each new event to every subscriber. */
export class EventFeed {
  private readonly store: EventFeedOptions["store"];
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly onError: (error: unknown) => void;
  private readonly listeners = new Set<OrderEventListener>();
  private readonly stopping = new AbortController();
  private state: FeedState = "new";
  private lastSeen = 0;
  /** Set by notify(); cleared by the read loop just before it reads, so a notify during a read causes one more read. */
  private pending = false;
  private reading: Promise<void> | undefined;
  private poller: NodeJS.Timeout | undefined;

  constructor(options: EventFeedOptions) {
    this.store = options.store;
    this.pollIntervalMs = options.pollIntervalMs ?? 0;
    this.batchSize = options.batchSize ?? DEFAULT_FEED_BATCH_SIZE;
    this.onError = options.onError ?? ((error) => console.error("event feed:", error));
    if (!(this.batchSize >= 1)) throw new RangeError("batchSize must be at least 1");
  }

  private currentState(): FeedState {
    return this.state;
  }

  /** Reads the log's head once (history before it is List's and replay's job), then follows commits. */
  async start(): Promise<void> {
    if (this.state !== "new") throw new Error(`event feed already ${this.state}`);
    this.state = "starting";
    try {
      this.lastSeen = await this.store.headRevision(this.stopping.signal);
    } catch (error) {
      // stop() may have run during the await: read the state afresh rather than as narrowed above.
      if (this.currentState() === "starting") this.state = "new";
      throw error;
    }
    if (this.currentState() !== "starting") return; // stopped meanwhile
    this.state = "running";
    if (this.pollIntervalMs > 0) {
      this.poller = setInterval(() => this.notify(), this.pollIntervalMs);
      this.poller.unref();
    }
    // A commit notified while the head was being read may or may not be in that head: read to be sure.
    if (this.pending) this.notify();
  }

  /**
   * Something was committed: read the log until caught up. Concurrent calls coalesce into one read loop.
   * `committedRevision`, when given, must be a committed revision; while nobody is subscribed the feed then moves past
   * it without reading (see the top of this file).
   */
  notify(committedRevision?: number): void {
    if (
      committedRevision !== undefined &&
      this.state === "running" &&
      this.listeners.size === 0 &&
      Number.isSafeInteger(committedRevision)
    ) {
      // A read loop still running (for a listener that has since left) skips what is now at or below lastSeen.
      if (committedRevision > this.lastSeen) this.lastSeen = committedRevision;
      return;
    }
    this.pending = true;
    if (this.state !== "running" || this.reading) return;
    // Assigned before the loop runs, so its `finally` (which clears it) always comes after this assignment.
    this.reading = Promise.resolve().then(() => this.readLoop());
  }

  /** Adds a listener for events dispatched from now on; returns its unsubscribe function (idempotent). */
  subscribe(listener: OrderEventListener): () => void {
    // A wrapper makes each subscription distinct even when the same function subscribes twice.
    const entry: OrderEventListener = (event) => listener(event);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** The last revision dispatched (after start(), at least the head it read). */
  head(): number {
    return this.lastSeen;
  }

  /** How many listeners are subscribed (for tests and metrics). */
  get subscriberCount(): number {
    return this.listeners.size;
  }

  /** Resolves when no read of the log is in flight. */
  async idle(): Promise<void> {
    while (this.reading) await this.reading;
  }

  /** Stops polling and reading (an in-flight read is cancelled) and resolves once the read loop has ended. */
  async stop(): Promise<void> {
    this.state = "stopped";
    clearInterval(this.poller);
    this.poller = undefined;
    this.stopping.abort(new Error("event feed stopped"));
    await this.idle();
  }

  private async readLoop(): Promise<void> {
    try {
      while (this.pending && this.state === "running") {
        this.pending = false;
        await this.readUntilCaughtUp();
      }
    } catch (error) {
      // Left for the next notify or poll: lastSeen did not move past anything undelivered.
      if (this.state === "running") this.onError(error);
    } finally {
      // Synchronous with the loop's last check, so a notify() cannot slip between them and be lost.
      this.reading = undefined;
    }
  }

  private async readUntilCaughtUp(): Promise<void> {
    for (;;) {
      const batch = await this.store.eventsAfter(this.lastSeen, this.batchSize, this.stopping.signal);
      if (this.state !== "running") return;
      for (const event of batch) {
        if (event.revision <= this.lastSeen) continue;
        this.lastSeen = event.revision;
        this.dispatch(event);
      }
      if (batch.length < this.batchSize) return;
    }
  }

  private dispatch(event: OrderEvent): void {
    // Iterating the live Set is safe when a listener unsubscribes itself (or another) during dispatch.
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onError(error);
      }
    }
  }
}
