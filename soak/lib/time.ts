// Waiting, bounded: every wait in the harness has a limit, so a scenario that goes wrong fails instead of hanging.
import { setTimeout as sleep } from "node:timers/promises";

export { sleep };

/** Polls `condition` every intervalMs until it holds (true) or timeoutMs passed (false). */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 25,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (performance.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** Milliseconds since `start` (a performance.now() reading), rounded. */
export function msSince(start: number): number {
  return Math.round(performance.now() - start);
}
