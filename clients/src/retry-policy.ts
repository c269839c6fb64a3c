// Which failed attempts the client tries again, and after how long. The rule (README, "Retries") in one place:
// a method the contract marks safe (IDEMPOTENT, NO_SIDE_EFFECTS) is retried when the server may be briefly gone;
// any method is retried when the server says it refused the call before running it (RATE_LIMITED). Waits are
// exponential backoff with full jitter, never shorter than the server's RetryInfo.
import { Code, type OrderlyError } from "@orderly/common";

/** How a client retries. Per client (ClientOptions.retry) and per call (CallOptions.retry, merged over it). */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 4). */
  maxAttempts: number;
  /** The first retry waits a random time in [0, initialBackoffMs) (default 100). */
  initialBackoffMs: number;
  /** Cap of the backoff before jitter (default 2000). */
  maxBackoffMs: number;
  /** Growth of the backoff per retry (default 2). */
  backoffMultiplier: number;
  /** Unary calls only: time allowed for each attempt; the call's deadline still bounds them all (default none). */
  attemptTimeoutMs?: number;
}

/** The former name of RetryPolicy, kept for callers that import it. */
export type RetryOptions = RetryPolicy;

/** Defaults: up to 4 attempts, backoff from 100 ms doubling up to 2 s, full jitter, no per-attempt timeout. */
export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 4,
  initialBackoffMs: 100,
  maxBackoffMs: 2000,
  backoffMultiplier: 2,
};

/** Reasons (ErrorInfo) the retry rule reads. */
export const Reason = {
  /** The server's rate limiter refused the call before it ran (RESOURCE_EXHAUSTED, with RetryInfo). */
  RATE_LIMITED: "RATE_LIMITED",
  /** The replica is stopping (UNAVAILABLE); another replica can serve a retry. */
  SERVER_SHUTTING_DOWN: "SERVER_SHUTTING_DOWN",
  /** A circuit breaker is open (UNAVAILABLE, with RetryInfo): this client's own, or one in the server. */
  CIRCUIT_OPEN: "CIRCUIT_OPEN",
  /** Refused tokens: worth one retry with a freshly fetched token. */
  TOKEN_EXPIRED: "TOKEN_EXPIRED",
  TOKEN_INVALID: "TOKEN_INVALID",
} as const;

/** The policy of one call: the client's, with the call's override merged over it; false when it must not retry. */
export function effectivePolicy(
  client: Partial<RetryPolicy> | false,
  call: Partial<RetryPolicy> | false | undefined,
): RetryPolicy | false {
  if (call === false) return false;
  if (call === undefined) return client === false ? false : validPolicy({ ...DEFAULT_RETRY, ...client });
  return validPolicy({ ...DEFAULT_RETRY, ...(client === false ? {} : client), ...call });
}

function validPolicy(policy: RetryPolicy): RetryPolicy {
  const { maxAttempts, initialBackoffMs, maxBackoffMs, backoffMultiplier, attemptTimeoutMs } = policy;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new RangeError("retry.maxAttempts must be an integer >= 1");
  if (!(initialBackoffMs >= 0 && maxBackoffMs >= initialBackoffMs && backoffMultiplier >= 1))
    throw new RangeError("retry needs 0 <= initialBackoffMs <= maxBackoffMs and backoffMultiplier >= 1");
  if (attemptTimeoutMs !== undefined && !(attemptTimeoutMs > 0))
    throw new RangeError("retry.attemptTimeoutMs must be > 0");
  return policy;
}

/** Why a failed attempt may be tried again; undefined when it must not be. */
export type RetryCause = "transient" | "rate_limited" | "attempt_timeout";

/**
 * Whether a failure may be retried: `safe` says the contract marks the method IDEMPOTENT or NO_SIDE_EFFECTS,
 * `attemptTimedOut` that the attempt's own timeout (not the call's deadline) ended it.
 */
export function retryCauseOf(failure: OrderlyError, safe: boolean, attemptTimedOut: boolean): RetryCause | undefined {
  // Refused before the handler ran, whatever the method: the server's rate limiter answers ahead of any work.
  if (failure.code === Code.RESOURCE_EXHAUSTED && failure.reason === Reason.RATE_LIMITED) return "rate_limited";
  if (!safe) return undefined;
  // An open breaker says when to come back (RetryInfo); trying sooner only fails again, so the caller decides.
  if (failure.code === Code.UNAVAILABLE && failure.reason !== Reason.CIRCUIT_OPEN) return "transient";
  if (failure.code === Code.DEADLINE_EXCEEDED && attemptTimedOut) return "attempt_timeout";
  return undefined;
}

/**
 * Whether a failure says the target is sick, so the circuit breaker counts it: UNAVAILABLE and DEADLINE_EXCEEDED,
 * except a replica that is stopping or a server whose own breaker is open (it answered, so it is up). Errors about
 * the request (INVALID_ARGUMENT, NOT_FOUND, ...), refused tokens, rate limits and INTERNAL (one bad request must not
 * cut off every method) are not.
 */
export function isTargetFailure(failure: OrderlyError): boolean {
  if (failure.code === Code.DEADLINE_EXCEEDED) return true;
  return (
    failure.code === Code.UNAVAILABLE &&
    failure.reason !== Reason.SERVER_SHUTTING_DOWN &&
    failure.reason !== Reason.CIRCUIT_OPEN
  );
}

/** Whether a failure is a refused token that a fresh one may fix. */
export function isRefusedToken(failure: OrderlyError): boolean {
  return (
    failure.code === Code.UNAUTHENTICATED &&
    (failure.reason === Reason.TOKEN_EXPIRED || failure.reason === Reason.TOKEN_INVALID)
  );
}

/**
 * The wait before retry number `retry` (1 for the first): full jitter, a random time in [0, min(max, initial *
 * multiplier^(retry-1))), but never less than the server's RetryInfo delay when it sent one.
 */
export function backoffMs(policy: RetryPolicy, retry: number, failure: OrderlyError, random = Math.random): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.backoffMultiplier ** (retry - 1));
  const jittered = random() * ceiling;
  return Math.max(jittered, failure.details.retryInfo?.retryDelayMs ?? 0);
}
