// Every call has a deadline: the caller's, or a default when it set none, capped at a maximum. Server streams keep the
// caller's deadline if any and get neither default nor cap (a watch may rightly stay open for hours). When the deadline
// passes the call's signal fires, the handler's work stops, and the caller gets DEADLINE_EXCEEDED at once, even if the
// handler ignores the signal. The deadlines of all calls share one timer (DeadlineWheel): a call costs a Set insert and
// delete instead of a timer of its own, and a deadline fires about one slot (5 ms) late at most, never early.
import { ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { outsideCallScope } from "@orderly/common";
import { DomainError } from "./domain/errors.js";
import type { Interceptor } from "./interceptor.js";

/** Deadline limits, in milliseconds. */
export interface DeadlineOptions {
  /** Applied to unary calls that arrive without a deadline. */
  defaultMs: number;
  /** No unary call may run longer than this, whatever the caller asked. */
  maxMs: number;
}

/** The limits of docs/product.md#deadlines: 10 s by default, 60 s at most. */
export const DEFAULT_DEADLINES: DeadlineOptions = { defaultMs: 10_000, maxMs: 60_000 };

/** The error a call gets when its deadline passes. */
export function deadlineExceeded(): DomainError {
  return new DomainError("deadline_exceeded", "DEADLINE_EXCEEDED", "the call's deadline passed before it finished");
}

/** Something that must happen at a time unless cancelled first. */
export interface DeadlineEntry {
  /** Runs at (or about one slot after) the time it was added for, unless cancelled. */
  readonly fire: () => void;
}

/**
 * Deadlines in coarse time slots under a single timer: add() files an entry under the slot its time falls in (rounded
 * up, so an entry never fires early), cancel() takes it out again. The one unref'd timer is armed for the earliest slot
 * filed; when it fires it runs the entries of the slots that have passed and re-arms for the earliest one left. Most
 * calls finish long before their deadline and share the default one, so a call costs one Map lookup, a Set add and a
 * Set delete, and the timer fires about once per default deadline (10 s), not once per call.
 */
export class DeadlineWheel {
  private readonly slots = new Map<number, Set<DeadlineEntry>>();
  private timer: NodeJS.Timeout | undefined;
  private armedSlot = Number.POSITIVE_INFINITY;

  constructor(
    readonly slotMs = 5,
    private readonly now: () => number = Date.now,
  ) {}

  /** Files entry to fire at epoch millisecond `at`; returns the function that cancels it. */
  add(at: number, entry: DeadlineEntry): () => void {
    const slot = Math.ceil(at / this.slotMs);
    let entries = this.slots.get(slot);
    if (!entries) this.slots.set(slot, (entries = new Set()));
    entries.add(entry);
    if (slot < this.armedSlot) this.arm(slot);
    return () => {
      if (entries.delete(entry) && entries.size === 0) this.slots.delete(slot);
    };
  }

  /** How many entries are filed (for tests). */
  get size(): number {
    let count = 0;
    for (const entries of this.slots.values()) count += entries.size;
    return count;
  }

  private arm(slot: number): void {
    this.armedSlot = slot;
    clearTimeout(this.timer);
    const delay = Math.max(0, slot * this.slotMs - this.now());
    // Made outside any call scope: the timer serves every call, and must not carry one call's scope around.
    this.timer = outsideCallScope(() => setTimeout(() => this.fire(), delay).unref());
  }

  private fire(): void {
    this.armedSlot = Number.POSITIVE_INFINITY;
    this.timer = undefined;
    const current = Math.floor(this.now() / this.slotMs);
    let next = Number.POSITIVE_INFINITY;
    for (const [slot, entries] of this.slots) {
      if (slot > current) {
        next = Math.min(next, slot);
        continue;
      }
      this.slots.delete(slot);
      for (const entry of entries) entry.fire();
    }
    if (next < this.armedSlot) this.arm(next);
  }
}

/** The wheel every deadline interceptor of the process shares. */
const sharedWheel = new DeadlineWheel();

/** Computes the effective deadline (caller's, default, cap) and aborts the call's work when it passes. */
export function deadlineInterceptor(
  options: DeadlineOptions = DEFAULT_DEADLINES,
  wheel: DeadlineWheel = sharedWheel,
): Interceptor {
  // Not async: the one promise a call costs here is the race between its work and its abort.
  return (next) => (request, ctx) => {
    const now = Date.now();
    const callers = ctx.deadline;
    const deadline =
      ctx.method.kind === "server_streaming"
        ? callers
        : new Date(Math.min(callers?.getTime() ?? now + options.defaultMs, now + options.maxMs));
    ctx.deadline = deadline;
    if (!deadline) return next(request, ctx);
    if (deadline.getTime() <= now) return Promise.reject(deadlineExceeded());
    const cancel = wheel.add(deadline.getTime(), { fire: () => ctx.abort(deadlineExceeded()) });
    let work: Promise<unknown>;
    try {
      work = next(request, ctx);
    } catch (error) {
      cancel();
      return Promise.reject(error);
    }
    return ctx.onAbort
      ? raceAbort(work, ctx.onAbort.bind(ctx), cancel)
      : untilAborted(work, ctx.signal).finally(cancel);
  };
}

/** untilAborted through CallContext.onAbort (no AbortSignal made), running settled() once it settles either way. */
function raceAbort<T>(
  work: Promise<T>,
  onAbort: (listener: (reason: unknown) => void) => () => void,
  settled: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const off = onAbort((reason) => {
      settled();
      work.catch(() => {});
      reject(reason);
    });
    work.then(
      (value) => {
        off();
        settled();
        resolve(value);
      },
      (error: unknown) => {
        off();
        settled();
        reject(error);
      },
    );
  });
}

/** Settles like work, or rejects with the signal's reason as soon as it fires (the work is left to notice it). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * A grpc-js server interceptor (first in the grpc-js server's list, so it wraps grpc-js's own call) that sends a server
 * stream's status once and writes no message after it. grpc-js 1.14.7 ends a call whose deadline passes from a timer
 * of its own (server-interceptors.js, handleTimeoutHeader), and once response headers went out its sendStatus only
 * ends the HTTP/2 stream and waits for "wantTrailers", while sendMessage keeps writing what the call still has queued.
 * Node refuses that write after end (ERR_STREAM_WRITE_AFTER_END) and marks the stream errored, so the stream never
 * finishes: no trailers, no RST_STREAM, and it stays open until the client resets it. grpc-js's timer calls the
 * call's own sendStatus, so replacing that method on this call routes its status through the same gate.
 */
export const streamStatusGate: ServerInterceptor = (method, call) => {
  if (method.responseStream) {
    const sendStatus = call.sendStatus.bind(call);
    const sendMessage = call.sendMessage.bind(call);
    let ended = false;
    call.sendStatus = (status) => {
      if (ended) return;
      ended = true;
      sendStatus(status);
    };
    // A message after the status is dropped; its callback runs so the writer empties its queue and settles.
    call.sendMessage = (message, callback) => (ended ? callback() : sendMessage(message, callback));
  }
  return new ServerInterceptingCall(call);
};
