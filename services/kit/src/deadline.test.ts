// The shared deadline wheel: entries fire once their slot has passed (never early), cancelled ones never, and the
// whole wheel runs on one timer that is not re-armed once nothing is filed. Fake timers and an injected clock keep it
// exact.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DeadlineWheel } from "./deadline.js";

describe("DeadlineWheel", () => {
  let clock = 1_000_000;
  const advance = async (ms: number) => {
    for (let step = 0; step < ms; step++) {
      clock += 1;
      await vi.advanceTimersByTimeAsync(1);
    }
  };
  beforeEach(() => {
    clock = 1_000_000;
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it("fires an entry after its time has passed, never before", async () => {
    const wheel = new DeadlineWheel(5, () => clock);
    const fired: number[] = [];
    wheel.add(clock + 12, { fire: () => fired.push(clock) });
    await advance(11);
    expect(fired).toEqual([]);
    await advance(10);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(1_000_012);
    expect(fired[0]).toBeLessThanOrEqual(1_000_012 + 10);
    expect(wheel.size).toBe(0);
  });

  it("never fires a cancelled entry, and fires the others of its slot", async () => {
    const wheel = new DeadlineWheel(5, () => clock);
    const fired: string[] = [];
    const cancelA = wheel.add(clock + 20, { fire: () => fired.push("a") });
    wheel.add(clock + 20, { fire: () => fired.push("b") });
    wheel.add(clock + 40, { fire: () => fired.push("c") });
    expect(wheel.size).toBe(3);
    cancelA();
    expect(wheel.size).toBe(2);
    await advance(35);
    expect(fired).toEqual(["b"]);
    await advance(20);
    expect(fired).toEqual(["b", "c"]);
  });

  it("keeps a single timer for many entries, re-armed for an earlier one, and none once nothing is filed", async () => {
    const wheel = new DeadlineWheel(5, () => clock);
    const fired: string[] = [];
    const cancels = Array.from({ length: 100 }, (_, i) =>
      wheel.add(clock + 100 + i, { fire: () => fired.push("late") }),
    );
    expect(vi.getTimerCount()).toBe(1);
    wheel.add(clock + 10, { fire: () => fired.push("early") });
    expect(vi.getTimerCount()).toBe(1);
    await advance(20);
    expect(fired).toEqual(["early"]);
    expect(vi.getTimerCount()).toBe(1);
    for (const cancel of cancels) cancel();
    await advance(200);
    expect(fired).toEqual(["early"]);
    expect(vi.getTimerCount()).toBe(0);
    wheel.add(clock + 5, { fire: () => {} });
    expect(vi.getTimerCount()).toBe(1);
  });
});
