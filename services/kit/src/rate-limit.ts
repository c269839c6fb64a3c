// Rate limiting: a token bucket per caller (the token's subject) and method, in this process. RATE_LIMITS says which
// methods are limited and how ("*=100/s,CreateOrder=5/s:10"); a call over its limit fails before its handler runs
// with RESOURCE_EXHAUSTED, reason RATE_LIMITED, RetryInfo (the time until the bucket holds a token again) and a
// QuotaFailure naming the caller and the limit. The typed client retries exactly that, after the RetryInfo.
// Buckets live in this process: N replicas give a caller N times the limit (see the README's "Rate limiting").
import { LRUCache } from "lru-cache";
import { Code, ERROR_DOMAIN, OrderlyError } from "@orderly/common";
import type { MethodInfo } from "./context.js";
import type { Interceptor } from "./interceptor.js";

/** One limit: which methods, how many calls per second on average, and how many at once. */
export interface RateLimit {
  /** "*" (every method), a method name ("CreateOrder") or a full one ("orderly.order.v1.OrderService/CreateOrder"). */
  readonly method: string;
  /** Tokens added per second. */
  readonly perSecond: number;
  /** The bucket's size: calls allowed at once after a quiet spell. */
  readonly burst: number;
  /** As written in RATE_LIMITS, for messages ("5/s", "100/m:20"). */
  readonly spec: string;
}

const SECONDS_PER_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600 };
const ENTRY = /^(\*|[A-Za-z][\w.]*\/[A-Za-z]\w*|[A-Za-z]\w*)=(\d+)\/([smh])(?::(\d+))?$/;

/**
 * Parses RATE_LIMITS: comma-separated METHOD=COUNT/UNIT[:BURST] (UNIT s, m or h; BURST defaults to COUNT), e.g.
 * "*=100/s,CreateOrder=5/s:10". Throws a RangeError naming the first bad entry.
 */
export function parseRateLimits(spec: string): RateLimit[] {
  const limits: RateLimit[] = [];
  for (const raw of spec.split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    const match = ENTRY.exec(entry);
    if (!match) throw new RangeError(`"${entry}" is not METHOD=COUNT/UNIT[:BURST] (e.g. CreateOrder=5/s:10, *=100/m)`);
    const [, method = "", count = "", unit = "s", burst] = match;
    const perUnit = Number(count);
    const size = burst === undefined ? perUnit : Number(burst);
    if (perUnit < 1 || size < 1) throw new RangeError(`"${entry}": the count and the burst must be at least 1`);
    if (limits.some((l) => l.method === method)) throw new RangeError(`"${method}" has two limits`);
    limits.push({
      method,
      perSecond: perUnit / (SECONDS_PER_UNIT[unit] ?? 1),
      burst: size,
      spec: `${count}/${unit}${burst === undefined ? "" : `:${burst}`}`,
    });
  }
  if (limits.length === 0) throw new RangeError("names no limit");
  return limits;
}

/** A caller's bucket for one method: tokens as of `at` (ms). */
interface Bucket {
  tokens: number;
  at: number;
}

/** What a RateLimiter takes besides its limits. */
export interface RateLimiterOptions {
  /** Buckets kept at most (default 100 000); the least recently used go first, as if full. */
  maxBuckets?: number;
  /** The clock, in ms (tests pin it). */
  now?: () => number;
}

/** Token buckets per caller and method, under the limits given. */
export class RateLimiter {
  private readonly limitOf = new Map<string, RateLimit | undefined>();
  private readonly buckets: LRUCache<string, Bucket>;
  private readonly now: () => number;

  constructor(
    readonly limits: readonly RateLimit[],
    options: RateLimiterOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    // Bounded, so many callers cannot grow it without end. A bucket untouched for burst/rate seconds is full again,
    // as good as absent; dropping a busier one gives its caller a full bucket early.
    this.buckets = new LRUCache({ max: options.maxBuckets ?? 100_000 });
  }

  /** The limit that applies to `method`: its full name, else its name, else "*"; undefined when none does. */
  limitFor(method: Pick<MethodInfo, "path" | "name">): RateLimit | undefined {
    if (this.limitOf.has(method.path)) return this.limitOf.get(method.path);
    const full = method.path.slice(1);
    const limit =
      this.limits.find((l) => l.method === full) ??
      this.limits.find((l) => l.method === method.name) ??
      this.limits.find((l) => l.method === "*");
    this.limitOf.set(method.path, limit);
    return limit;
  }

  /** Takes a token from `caller`'s bucket for `method`: 0 when there was one, else the ms until there will be. */
  take(caller: string, method: Pick<MethodInfo, "path" | "name">): number {
    const limit = this.limitFor(method);
    if (!limit) return 0;
    const now = this.now();
    const key = `${method.path} ${caller}`;
    const bucket = this.buckets.get(key);
    if (!bucket) {
      this.buckets.set(key, { tokens: limit.burst - 1, at: now });
      return 0;
    }
    const tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) * limit.perSecond) / 1000);
    bucket.at = now;
    if (tokens >= 1) {
      bucket.tokens = tokens - 1;
      return 0;
    }
    bucket.tokens = tokens;
    return Math.max(1, Math.ceil(((1 - tokens) * 1000) / limit.perSecond));
  }

  /** Refuses a call over its caller's limit; calls without a caller (public methods) pass. */
  readonly interceptor: Interceptor = (next) => (request, ctx) => {
    const caller = ctx.caller?.subject;
    const limit = caller === undefined ? undefined : this.limitFor(ctx.method);
    if (caller === undefined || !limit) return next(request, ctx);
    const waitMs = this.take(caller, ctx.method);
    if (waitMs === 0) return next(request, ctx);
    return Promise.reject(rateLimited(caller, ctx.method, limit, waitMs));
  };
}

function rateLimited(caller: string, method: MethodInfo, limit: RateLimit, waitMs: number): OrderlyError {
  const name = method.path.slice(1);
  return new OrderlyError(
    Code.RESOURCE_EXHAUSTED,
    `rate limit exceeded: ${limit.spec} calls of ${method.name} per caller; retry in ${waitMs} ms`,
    {
      errorInfo: { reason: "RATE_LIMITED", domain: ERROR_DOMAIN, metadata: { method: name, limit: limit.spec } },
      retryInfo: { retryDelayMs: waitMs },
      quotaFailure: {
        violations: [
          { subject: `caller:${caller}`, description: `${limit.spec} calls of ${name} (COUNT/UNIT[:BURST])` },
        ],
      },
    },
  );
}
