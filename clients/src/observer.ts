// Hooks for a client's metrics: what each attempt did, each retry, each change of the circuit breaker's state.
// Plain callbacks, so any metrics library (prom-client, OpenTelemetry, a log line) can sit behind them and the client
// depends on none.
import type { Code } from "@orderly/common";
import type { RetryCause } from "./retry-policy.js";

/** The state of a client's circuit breaker. */
export type BreakerState = "closed" | "open" | "half_open";

/** Why a failed attempt was the last one. */
export type GiveUpReason =
  "not_retryable" | "max_attempts" | "deadline" | "budget" | "circuit_open" | "cancelled" | "same_token";

/** One attempt of a call, as it ended. */
export interface AttemptEvent {
  /** The full method name, e.g. "orderly.user.v1.UserService/GetUser". */
  method: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Code.OK when it succeeded. */
  code: Code;
  /** ErrorInfo reason of the failure, "" for none or success. */
  reason: string;
  durationMs: number;
  /** What follows: nothing (ok), another attempt (retry), or the call fails with this attempt's error. */
  outcome: "ok" | "retry" | "fail";
  /** Set when the outcome is "fail". */
  giveUp?: GiveUpReason;
}

/** A retry about to be made. */
export interface RetryEvent {
  method: string;
  /** The attempt about to start (2 for the first retry). */
  attempt: number;
  /** Why: a transient failure, a rate limit, an attempt timeout, or a refused token fetched again. */
  cause: RetryCause | "token_refresh";
  /** How long the client waits first. */
  delayMs: number;
  /** The failure being retried. */
  code: Code;
}

/** A change of the circuit breaker's state. */
export interface BreakerEvent {
  /** The client's target (its address or addresses). */
  target: string;
  state: BreakerState;
  previous: BreakerState;
}

/** Callbacks a client calls; each is optional, and an exception thrown in one is ignored (it never fails a call). */
export interface ClientObserver {
  onAttempt?(event: AttemptEvent): void;
  onRetry?(event: RetryEvent): void;
  onBreakerStateChange?(event: BreakerEvent): void;
}

/** Calls one hook of an observer, shielding the call from the hook's exceptions. */
export function notify<K extends keyof ClientObserver>(
  observer: ClientObserver | undefined,
  hook: K,
  event: Parameters<NonNullable<ClientObserver[K]>>[0],
): void {
  const callback = observer?.[hook] as ((event: unknown) => void) | undefined;
  if (!callback) return;
  try {
    callback.call(observer, event);
  } catch {
    // A metrics hook must never change what a call does.
  }
}
