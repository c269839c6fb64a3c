// Graceful shutdown, in the order a load balancer and a resuming client need it (see OrderlyServer.shutdown):
// health NOT_SERVING at once; keep serving for a drain delay so health-checking balancers stop sending; stop
// accepting (grpc-js tryShutdown: the listener closes, each connection gets GOAWAY, calls in flight continue); end
// the open server streams with UNAVAILABLE / SERVER_SHUTTING_DOWN (RetryInfo), which clients resume elsewhere,
// instead of letting them hold the process until the grace timer cuts them as CANCELLED; wait for unary calls in
// flight; cut what is left when the grace period ends. Here: OpenStreams (the streams to end) and the time budget.
import type { Config } from "./config.js";
import { DomainError } from "./domain/errors.js";
import type { CallContext } from "./context.js";
import type { Interceptor } from "./interceptor.js";

/** The reason of the UNAVAILABLE a stream (or a call racing the shutdown) gets when its server stops. */
export const SERVER_SHUTTING_DOWN = "SERVER_SHUTTING_DOWN";

/** The RetryInfo delay sent with SERVER_SHUTTING_DOWN: retry at once, on another replica. */
export const SHUTDOWN_RETRY_AFTER_MS = 100;

/** UNAVAILABLE / SERVER_SHUTTING_DOWN with RetryInfo. */
export function serverShuttingDown(): DomainError {
  return new DomainError("unavailable", SERVER_SHUTTING_DOWN, "the server is shutting down; retry on another replica", {
    retryAfterMs: SHUTDOWN_RETRY_AFTER_MS,
  });
}

/**
 * The server streams a server has open. Its interceptor registers each one for its lifetime; endAll() aborts them
 * with SERVER_SHUTTING_DOWN (the kit then ends each with that status) and refuses streams opened afterwards.
 * Unary calls pass untouched: they are left to finish.
 */
export class OpenStreams {
  private readonly open = new Set<CallContext>();
  private ending = false;

  /** Registers server streams; place it inside the errors interceptor so its error becomes a status. */
  readonly interceptor: Interceptor = (next) => async (request, ctx) => {
    if (ctx.method.kind !== "server_streaming") return next(request, ctx);
    if (this.ending) throw serverShuttingDown();
    this.open.add(ctx);
    try {
      return await next(request, ctx);
    } finally {
      this.open.delete(ctx);
    }
  };

  /** How many streams are open. */
  get size(): number {
    return this.open.size;
  }

  /** Ends every open stream with SERVER_SHUTTING_DOWN and refuses new ones; returns how many were open. */
  endAll(): number {
    this.ending = true;
    const count = this.open.size;
    for (const ctx of this.open) ctx.abort(serverShuttingDown());
    return count;
  }
}

/**
 * SHUTDOWN_GRACE_MS (default 10 s) bounds a stop from the signal to the exit; calls in flight may use it all but the
 * last fifth (at most 1 s), kept for closing the stores. SHUTDOWN_DRAIN_MS (default 1 s) is how long the server
 * keeps serving after health turns NOT_SERVING.
 */
export function shutdownBudget(config: Pick<Config, "SHUTDOWN_GRACE_MS" | "SHUTDOWN_DRAIN_MS">): {
  graceMs: number;
  drainMs: number;
  closeReserveMs: number;
} {
  const graceMs = config.SHUTDOWN_GRACE_MS;
  return { graceMs, drainMs: config.SHUTDOWN_DRAIN_MS, closeReserveMs: Math.min(1_000, graceMs / 5) };
}
