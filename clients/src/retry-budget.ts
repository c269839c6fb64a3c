// The retry budget of one client: retries may add at most `ratio` of its calls (default 10%) plus a small floor, over
// a sliding window, so a failing dependency sees about 1.1x its normal load instead of maxAttempts times it. The idea
// is gRPC's retry throttling and Finagle's RetryBudget: calls deposit, retries withdraw. Counts live in one-second
// buckets, so memory stays constant however many calls go through.

/** Settings of a client's retry budget. */
export interface RetryBudgetOptions {
  /** Retries allowed per call made (default 0.1). */
  ratio?: number;
  /** Retries always allowed per window, for clients that make few calls (default 10). */
  minRetries?: number;
  /** The sliding window, in milliseconds (default 10 000). */
  windowMs?: number;
}

const BUCKET_MS = 1000;

/** Counts calls and retries over a sliding window; a retry is allowed while the budget has a whole token left. */
export class RetryBudget {
  private readonly ratio: number;
  private readonly minRetries: number;
  private readonly buckets: { start: number; calls: number; retries: number }[];

  constructor(
    options: RetryBudgetOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.ratio = options.ratio ?? 0.1;
    this.minRetries = options.minRetries ?? 10;
    const windowMs = options.windowMs ?? 10_000;
    if (!(this.ratio >= 0 && this.minRetries >= 0 && windowMs >= BUCKET_MS))
      throw new RangeError("retryBudget needs ratio >= 0, minRetries >= 0 and windowMs >= 1000");
    this.buckets = Array.from({ length: Math.ceil(windowMs / BUCKET_MS) }, () => ({ start: -1, calls: 0, retries: 0 }));
  }

  /** Records a call (its first attempt): it earns `ratio` of a retry. */
  recordCall(): void {
    this.current().calls++;
  }

  /** Takes one retry from the budget; false (and nothing taken) when it is spent. */
  tryRetry(): boolean {
    if (this.balance() < 1) return false;
    this.current().retries++;
    return true;
  }

  /** Retries still allowed now (may be fractional). */
  balance(): number {
    const oldest = this.bucketStart() - (this.buckets.length - 1) * BUCKET_MS;
    let calls = 0;
    let retries = 0;
    for (const bucket of this.buckets) {
      if (bucket.start < oldest) continue;
      calls += bucket.calls;
      retries += bucket.retries;
    }
    return this.minRetries + this.ratio * calls - retries;
  }

  private bucketStart(): number {
    return Math.floor(this.now() / BUCKET_MS) * BUCKET_MS;
  }

  private current() {
    const start = this.bucketStart();
    const bucket = this.buckets[(start / BUCKET_MS) % this.buckets.length];
    if (!bucket) throw new Error("unreachable: bucket index out of range");
    if (bucket.start !== start) Object.assign(bucket, { start, calls: 0, retries: 0 });
    return bucket;
  }
}
