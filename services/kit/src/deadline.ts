// Every call has a deadline: the caller's, or a default when it set none, capped at a maximum. Server streams keep the
// caller's deadline if any and get neither default nor cap (a watch may rightly stay open for hours). When the deadline
// passes the call's signal fires, the handler's work stops, and the caller gets DEADLINE_EXCEEDED at once, even if the
// handler ignores the signal.
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

/** Computes the effective deadline (caller's, default, cap) and aborts the call's work when it passes. */
export function deadlineInterceptor(options: DeadlineOptions = DEFAULT_DEADLINES): Interceptor {
  return (next) => async (request, ctx) => {
    const now = Date.now();
    const callers = ctx.deadline;
    const deadline =
      ctx.method.kind === "server_streaming"
        ? callers
        : new Date(Math.min(callers?.getTime() ?? now + options.defaultMs, now + options.maxMs));
    ctx.deadline = deadline;
    if (!deadline) return next(request, ctx);
    const remaining = deadline.getTime() - now;
    if (remaining <= 0) throw deadlineExceeded();
    const timer = setTimeout(() => ctx.abort(deadlineExceeded()), remaining);
    try {
      return await untilAborted(next(request, ctx), ctx.signal);
    } finally {
      clearTimeout(timer);
    }
  };
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
