// One call, attempt after attempt: each attempt gets the current token, goes through the circuit breaker and is
// bounded by the attempt timeout and the call's overall deadline; a failure is retried when the rule says so
// (retry-policy.ts), the wait fits before the deadline, the breaker is closed and the retry budget allows it. A token
// the server refused is fetched again and the call retried once, for any method: auth runs before any handler.
import { setTimeout as sleep } from "node:timers/promises";
import { Code, earliestDeadline, OrderlyError } from "@orderly/common";
import type { TargetBreaker } from "./circuit-breaker.js";
import { notify, type ClientObserver, type GiveUpReason } from "./observer.js";
import type { RetryBudget } from "./retry-budget.js";
import { backoffMs, isRefusedToken, Reason, retryCauseOf, type RetryCause, type RetryPolicy } from "./retry-policy.js";
import type { TokenProvider } from "./token-provider.js";

/** What a client shares between its calls. */
export interface Resilience {
  budget: RetryBudget | undefined;
  breaker: TargetBreaker | undefined;
  observer: ClientObserver | undefined;
  tokens: TokenProvider | undefined;
  /** The fixed token when there is no provider. */
  token: string | undefined;
}

/** One call to make. */
export interface CallPlan {
  /** Full method name, e.g. "orderly.user.v1.UserService/GetUser". */
  method: string;
  /** The contract marks the method IDEMPOTENT or NO_SIDE_EFFECTS. */
  safe: boolean;
  /** How to retry, false for never (a refused token is still fetched again once). */
  policy: RetryPolicy | false;
  /** The overall deadline: bounds every attempt and every wait. */
  deadline: Date | undefined;
  signal: AbortSignal | undefined;
}

/** Runs one attempt with this token, bounded by this deadline. */
export type Attempt<T> = (token: string | undefined, deadline: Date | undefined) => Promise<T>;

type Decision = { retry: true; delayMs: number; cause: RetryCause } | { retry: false; giveUp: GiveUpReason };

/** Makes the call: attempts, retries and waits as the plan and the rule say; fails with the last attempt's error. */
export async function callWithRetries<T>(plan: CallPlan, shared: Resilience, attempt: Attempt<T>): Promise<T> {
  shared.budget?.recordCall();
  let refreshedToken = false;
  for (let number = 1, retries = 0; ; number++) {
    if (plan.signal?.aborted) throw stoppedBy(plan.signal);
    const token = await tokenOf(shared);
    const attemptDeadline = earliestDeadline(plan.deadline, attemptTimeoutDeadline(plan.policy));
    const started = performance.now();
    const report = (code: Code, reason: string, outcome: "ok" | "retry" | "fail", giveUp?: GiveUpReason) =>
      notify(shared.observer, "onAttempt", {
        method: plan.method,
        attempt: number,
        code,
        reason,
        durationMs: performance.now() - started,
        outcome,
        ...(giveUp ? { giveUp } : {}),
      });
    try {
      const run = () => attempt(token, attemptDeadline);
      const value = await (shared.breaker ? shared.breaker.run(run) : run());
      report(Code.OK, "", "ok");
      return value;
    } catch (error) {
      const failure = plan.signal?.aborted ? stoppedBy(plan.signal, error) : OrderlyError.from(error);
      if (!refreshedToken && isRefusedToken(failure) && shared.tokens?.invalidate) {
        refreshedToken = true;
        shared.tokens.invalidate();
        const same = (await tokenOf(shared)) === token;
        report(failure.code, failure.reason, same ? "fail" : "retry", same ? "same_token" : undefined);
        if (same) throw failure;
        notify(shared.observer, "onRetry", {
          method: plan.method,
          attempt: number + 1,
          cause: "token_refresh",
          delayMs: 0,
          code: failure.code,
        });
        continue;
      }
      const decision = decide(plan, shared, failure, number - (refreshedToken ? 1 : 0), retries + 1, attemptDeadline);
      if (!decision.retry) {
        report(failure.code, failure.reason, "fail", decision.giveUp);
        throw failure;
      }
      report(failure.code, failure.reason, "retry");
      retries++;
      notify(shared.observer, "onRetry", {
        method: plan.method,
        attempt: number + 1,
        cause: decision.cause,
        delayMs: decision.delayMs,
        code: failure.code,
      });
      await sleep(decision.delayMs, undefined, plan.signal ? { signal: plan.signal } : {}).catch(() => {
        throw stoppedBy(plan.signal ?? AbortSignal.abort(), failure);
      });
    }
  }
}

/** Whether to try again after `failure` (attempt `attempts` of the policy's; the retry would be number `retry`). */
function decide(
  plan: CallPlan,
  shared: Resilience,
  failure: OrderlyError,
  attempts: number,
  retry: number,
  attemptDeadline: Date | undefined,
): Decision {
  if (plan.signal?.aborted || failure.code === Code.CANCELLED) return { retry: false, giveUp: "cancelled" };
  if (plan.policy === false) return { retry: false, giveUp: "not_retryable" };
  const now = Date.now();
  // The attempt's own timeout ended it, and the call still has time: a retry may find a faster replica.
  const attemptTimedOut =
    attemptDeadline !== undefined &&
    attemptDeadline !== plan.deadline &&
    now >= attemptDeadline.getTime() - 1 &&
    (plan.deadline === undefined || now < plan.deadline.getTime());
  const cause = retryCauseOf(failure, plan.safe, attemptTimedOut);
  if (!cause) {
    if (failure.reason === Reason.CIRCUIT_OPEN) return { retry: false, giveUp: "circuit_open" };
    return { retry: false, giveUp: failure.code === Code.DEADLINE_EXCEEDED ? "deadline" : "not_retryable" };
  }
  if (attempts >= plan.policy.maxAttempts) return { retry: false, giveUp: "max_attempts" };
  const delayMs = backoffMs(plan.policy, retry, failure);
  // Waiting past the deadline only to fail with DEADLINE_EXCEEDED would hide the real error: give up with it now.
  if (plan.deadline && now + delayMs >= plan.deadline.getTime()) return { retry: false, giveUp: "deadline" };
  if (shared.breaker?.isOpen) return { retry: false, giveUp: "circuit_open" };
  // Last, so that only a retry that will happen takes from the budget.
  if (shared.budget && !shared.budget.tryRetry()) return { retry: false, giveUp: "budget" };
  return { retry: true, delayMs, cause };
}

function attemptTimeoutDeadline(policy: RetryPolicy | false): Date | undefined {
  if (policy === false || policy.attemptTimeoutMs === undefined) return undefined;
  return new Date(Date.now() + policy.attemptTimeoutMs);
}

// A failing token provider is the caller's code, not the call: it still surfaces as an OrderlyError (with the cause).
async function tokenOf(shared: Resilience): Promise<string | undefined> {
  if (!shared.tokens) return shared.token;
  try {
    return await shared.tokens();
  } catch (error) {
    throw OrderlyError.from(error);
  }
}

/**
 * The error of a call its signal stopped (before it started, while it ran or while it waited to retry):
 * DEADLINE_EXCEEDED when the signal timed out (AbortSignal.timeout), CANCELLED otherwise, so a caller only ever sees
 * OrderlyError.
 */
export function stoppedBy(signal: AbortSignal, cause: unknown = signal.reason): OrderlyError {
  const reason: unknown = signal.reason;
  if (reason instanceof OrderlyError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new OrderlyError(Code.DEADLINE_EXCEEDED, "the call's signal timed out", {}, undefined, { cause });
  }
  return new OrderlyError(Code.CANCELLED, "the call was cancelled by its signal", {}, undefined, { cause });
}
