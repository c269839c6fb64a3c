// Load as a caller makes it: a fixed number of workers, each making one call after another, and the re-drive a real
// caller does when a call ends with a retryable code (the same request, so an idempotent method cannot act twice).
import { OrderlyError } from "@orderly/clients";
import { isRetryable } from "./outcomes.js";
import { sleep } from "./time.js";

/** Runs `concurrency` copies of `worker` (each gets its index) and resolves when all have returned. */
export async function runWorkers(concurrency: number, worker: (index: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: concurrency }, (_, index) => worker(index)));
}

/** How a re-driven call ended: its answers in order (undefined = OK), and the value if it succeeded. */
export interface Redriven<T> {
  value?: T;
  /** The error of each failed attempt, then undefined for the successful one if any. */
  answers: unknown[];
}

/**
 * Calls `call` until it succeeds, fails with a code that is not retryable, or has been re-driven `maxRedrives` times;
 * waits the server's RetryInfo delay (or `fallbackDelayMs`) between attempts.
 */
export async function redrive<T>(
  call: () => Promise<T>,
  maxRedrives: number,
  fallbackDelayMs = 200,
): Promise<Redriven<T>> {
  const answers: unknown[] = [];
  for (let attempt = 0; ; attempt++) {
    try {
      const value = await call();
      answers.push(undefined);
      return { value, answers };
    } catch (error) {
      answers.push(error);
      if (!isRetryable(error) || attempt >= maxRedrives) return { answers };
      await sleep(OrderlyError.from(error).details.retryInfo?.retryDelayMs ?? fallbackDelayMs);
    }
  }
}
