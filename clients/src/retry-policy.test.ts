import { describe, expect, it } from "vitest";
import { Code, OrderlyError } from "@orderly/common";
import {
  backoffMs,
  DEFAULT_RETRY,
  effectivePolicy,
  isRefusedToken,
  isTargetFailure,
  retryCauseOf,
} from "./retry-policy.js";

const error = (code: Code, reason = "", retryDelayMs?: number) =>
  new OrderlyError(code, "x", {
    errorInfo: { reason, domain: "orderly", metadata: {} },
    ...(retryDelayMs === undefined ? {} : { retryInfo: { retryDelayMs } }),
  });

describe("the retry rule (README: Retries)", () => {
  it.each([
    // code, reason, safe method, other method, attempt timed out, counts toward the breaker
    [Code.UNAVAILABLE, "", "transient", undefined, false, true],
    [Code.UNAVAILABLE, "SERVER_SHUTTING_DOWN", "transient", undefined, false, false],
    [Code.UNAVAILABLE, "CIRCUIT_OPEN", undefined, undefined, false, false],
    [Code.RESOURCE_EXHAUSTED, "RATE_LIMITED", "rate_limited", "rate_limited", false, false],
    [Code.RESOURCE_EXHAUSTED, "WATCH_TOO_SLOW", undefined, undefined, false, false],
    [Code.DEADLINE_EXCEEDED, "", "attempt_timeout", undefined, true, true],
    [Code.DEADLINE_EXCEEDED, "", undefined, undefined, false, true],
    [Code.UNAUTHENTICATED, "TOKEN_EXPIRED", undefined, undefined, false, false],
    [Code.INTERNAL, "INTERNAL", undefined, undefined, false, false],
    [Code.NOT_FOUND, "USER_NOT_FOUND", undefined, undefined, false, false],
    [Code.ABORTED, "ETAG_MISMATCH", undefined, undefined, false, false],
  ] as const)("%i %s: safe %s, other %s", (code, reason, safe, other, timedOut, breaker) => {
    const failure = error(code, reason);
    expect(retryCauseOf(failure, true, timedOut)).toBe(safe);
    expect(retryCauseOf(failure, false, timedOut)).toBe(other);
    expect(isTargetFailure(failure)).toBe(breaker);
  });

  it("a refused token is worth a fresh one only when expired or invalid, not when missing", () => {
    expect(isRefusedToken(error(Code.UNAUTHENTICATED, "TOKEN_EXPIRED"))).toBe(true);
    expect(isRefusedToken(error(Code.UNAUTHENTICATED, "TOKEN_INVALID"))).toBe(true);
    expect(isRefusedToken(error(Code.UNAUTHENTICATED, "TOKEN_MISSING"))).toBe(false);
    expect(isRefusedToken(error(Code.PERMISSION_DENIED, "PERMISSION_DENIED"))).toBe(false);
  });
});

describe("backoff", () => {
  const policy = { ...DEFAULT_RETRY, initialBackoffMs: 100, maxBackoffMs: 1_000, backoffMultiplier: 2 };

  it("is full jitter: random in [0, min(max, initial * multiplier^(n-1)))", () => {
    const none = error(Code.UNAVAILABLE);
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(policy, n, none, () => 0.999))).toEqual([
      99.9, 199.8, 399.6, 799.2, 999,
    ]);
    expect(backoffMs(policy, 3, none, () => 0)).toBe(0);
  });

  it("is never shorter than the server's RetryInfo", () => {
    expect(backoffMs(policy, 1, error(Code.UNAVAILABLE, "", 300), () => 0.5)).toBe(300);
    expect(backoffMs(policy, 5, error(Code.UNAVAILABLE, "", 300), () => 0.5)).toBe(500);
  });
});

describe("effectivePolicy", () => {
  it("merges the call's override over the client's over the defaults", () => {
    expect(effectivePolicy({ maxAttempts: 2 }, undefined)).toEqual({ ...DEFAULT_RETRY, maxAttempts: 2 });
    expect(effectivePolicy({ maxAttempts: 2 }, { attemptTimeoutMs: 50 })).toEqual({
      ...DEFAULT_RETRY,
      maxAttempts: 2,
      attemptTimeoutMs: 50,
    });
    expect(effectivePolicy({ maxAttempts: 2 }, false)).toBe(false);
    expect(effectivePolicy(false, undefined)).toBe(false);
    expect(effectivePolicy(false, { maxAttempts: 3 })).toEqual({ ...DEFAULT_RETRY, maxAttempts: 3 });
  });

  it("refuses a nonsensical policy", () => {
    expect(() => effectivePolicy({ maxAttempts: 0 }, undefined)).toThrow(RangeError);
    expect(() => effectivePolicy({ initialBackoffMs: 500, maxBackoffMs: 100 }, undefined)).toThrow(RangeError);
    expect(() => effectivePolicy({}, { attemptTimeoutMs: 0 })).toThrow(RangeError);
  });
});
