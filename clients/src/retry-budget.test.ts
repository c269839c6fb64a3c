import { describe, expect, it } from "vitest";
import { RetryBudget } from "./retry-budget.js";

describe("RetryBudget", () => {
  it("allows the floor, then one retry per 1/ratio calls", () => {
    const budget = new RetryBudget({ ratio: 0.1, minRetries: 2 }, () => 5_000);
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([true, true, false]);
    for (let i = 0; i < 9; i++) budget.recordCall();
    expect(budget.tryRetry()).toBe(false); // 0.9 of a retry earned
    budget.recordCall();
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
  });

  it("forgets calls and retries older than its window", () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0.5, minRetries: 0, windowMs: 3_000 }, () => now);
    for (let i = 0; i < 4; i++) budget.recordCall();
    expect(budget.balance()).toBe(2);
    expect(budget.tryRetry()).toBe(true);
    now = 2_500; // still inside the window (buckets 0, 1 and 2 s)
    expect(budget.balance()).toBe(1);
    now = 3_000; // the bucket of 0 s has left it
    expect(budget.balance()).toBe(0);
    budget.recordCall();
    budget.recordCall();
    expect(budget.balance()).toBe(1);
  });

  it("refuses nonsensical settings", () => {
    expect(() => new RetryBudget({ ratio: -1 })).toThrow(RangeError);
    expect(() => new RetryBudget({ windowMs: 10 })).toThrow(RangeError);
  });
});
