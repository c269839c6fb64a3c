// The circuit breaker of one client (one target, one channel), on cockatiel's breaker. Closed: calls go through and
// target failures are counted (consecutive, or a failure ratio over a window). Open: calls fail at once with
// UNAVAILABLE / CIRCUIT_OPEN and a RetryInfo saying when a probe will be let through, without touching the network.
// Half-open: one probe goes through; its success closes the breaker, its failure opens it again. Unlike cockatiel's
// own half-open, which queues every other call behind the probe (ignoring their signals), calls during the probe
// fail fast too.
import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
  SamplingBreaker,
  type CircuitBreakerPolicy,
} from "cockatiel";
import { Code, ERROR_DOMAIN, OrderlyError } from "@orderly/common";
import { notify, type BreakerState, type ClientObserver } from "./observer.js";
import { isTargetFailure, Reason } from "./retry-policy.js";

/** When a client's breaker opens, and for how long. */
export interface CircuitBreakerOptions {
  /** Open after this many target failures in a row (default 5), unless failureRatio is set. */
  consecutiveFailures?: number;
  /** Open when this share (0..1) of the calls over windowMs failed, once at least minimumRps are made. */
  failureRatio?: number;
  /** The window of failureRatio (default 10 000 ms). */
  windowMs?: number;
  /** Calls per second below which failureRatio never opens the breaker (default 5). */
  minimumRps?: number;
  /** How long it stays open before a probe is let through (default 5 000 ms). */
  halfOpenAfterMs?: number;
}

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "open",
};

/** A failure that shows the target answering (the request's own fault, a rate limit): a success to the breaker. */
class Answered {
  constructor(readonly error: unknown) {}
}

/** A call its caller stopped: it says nothing of the target either way, so the breaker neither counts nor resets. */
class Unjudged extends Error {
  constructor(readonly error: unknown) {
    super("cancelled by the caller");
  }
}

/** The circuit breaker of one target. */
export class TargetBreaker {
  private readonly policy: CircuitBreakerPolicy;
  private readonly halfOpenAfterMs: number;
  private openedAt = 0;
  private state: BreakerState = "closed";

  constructor(
    private readonly target: string,
    options: CircuitBreakerOptions,
    observer: ClientObserver | undefined,
  ) {
    this.halfOpenAfterMs = options.halfOpenAfterMs ?? 5_000;
    const breaker =
      options.failureRatio === undefined
        ? new ConsecutiveBreaker(options.consecutiveFailures ?? 5)
        : new SamplingBreaker({
            threshold: options.failureRatio,
            duration: options.windowMs ?? 10_000,
            minimumRps: options.minimumRps ?? 5,
          });
    const judged = handleWhen((error) => !(error instanceof Unjudged));
    this.policy = circuitBreaker(judged, { halfOpenAfter: this.halfOpenAfterMs, breaker });
    this.policy.onBreak(() => (this.openedAt = Date.now()));
    this.policy.onStateChange((next) => {
      const previous = this.state;
      this.state = STATE_NAMES[next];
      if (previous !== this.state) notify(observer, "onBreakerStateChange", { target, state: this.state, previous });
    });
  }

  /** Whether a call made now would be refused. */
  get isOpen(): boolean {
    if (this.state === "half_open") return true;
    return this.state === "open" && Date.now() < this.openedAt + this.halfOpenAfterMs;
  }

  /** Runs one attempt through the breaker; throws CIRCUIT_OPEN without running it while the breaker is open. */
  async run<T>(attempt: () => Promise<T>): Promise<T> {
    // cockatiel would make this call wait for the probe; here it fails fast.
    if (this.state === "half_open") throw this.openError();
    try {
      const outcome = await this.policy.execute(async () => {
        try {
          return await attempt();
        } catch (error) {
          const failure = OrderlyError.from(error);
          if (isTargetFailure(failure)) throw error;
          if (failure.code === Code.CANCELLED) throw new Unjudged(error);
          return new Answered(error);
        }
      });
      if (outcome instanceof Answered) throw outcome.error;
      return outcome;
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw this.openError();
      if (error instanceof Unjudged) throw error.error;
      throw error;
    }
  }

  private openError(): OrderlyError {
    const untilProbe = Math.max(0, this.openedAt + this.halfOpenAfterMs - Date.now());
    // During a probe nobody knows when it ends; a short delay lets callers check back soon.
    const retryDelayMs = this.state === "half_open" ? Math.min(this.halfOpenAfterMs, 1_000) : untilProbe;
    return new OrderlyError(
      Code.UNAVAILABLE,
      `circuit breaker open for ${this.target}: failing fast without calling it`,
      {
        errorInfo: { reason: Reason.CIRCUIT_OPEN, domain: ERROR_DOMAIN, metadata: { target: this.target } },
        retryInfo: { retryDelayMs },
      },
    );
  }
}
