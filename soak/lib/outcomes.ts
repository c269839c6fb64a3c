// Every answer a scenario's calls got, tallied by code and reason ("OK", "UNAVAILABLE/STORE_UNAVAILABLE+RetryInfo",
// "UNAVAILABLE (no details)" for a transport failure such as a connection cut by kill -9), so a row can state exactly
// what callers saw and reject anything that is not a clear, retryable answer.
import { Code, OrderlyError } from "@orderly/clients";

/** How one answer is filed: its code name, the ErrorInfo reason if any, and whether it carried RetryInfo. */
export function outcomeOf(error: unknown): string {
  if (error === undefined) return "OK";
  const failure = OrderlyError.from(error);
  if (!failure.reason) return `${failure.codeName} (no details: ${failure.message.slice(0, 60)})`;
  return `${failure.codeName}/${failure.reason}${failure.details.retryInfo ? "+RetryInfo" : ""}`;
}

/** Codes a caller can act on without guessing: retry (after RetryInfo's delay), or give up on time. */
const CLEAR_RETRYABLE = new Set<number>([Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED]);

/** True when `error` is UNAVAILABLE or DEADLINE_EXCEEDED: the harness may re-drive the call with the same request. */
export function isRetryable(error: unknown): boolean {
  return CLEAR_RETRYABLE.has(OrderlyError.from(error).code);
}

/** Counts of outcomes, in first-seen order. */
export class Tally {
  private readonly counts = new Map<string, { code: number; count: number }>();

  /** Files one answer (undefined error = OK); returns its outcome. */
  add(error?: unknown): string {
    const outcome = outcomeOf(error);
    const entry = this.counts.get(outcome) ?? {
      code: error === undefined ? Code.OK : OrderlyError.from(error).code,
      count: 0,
    };
    entry.count++;
    this.counts.set(outcome, entry);
    return outcome;
  }

  /** How many answers had this outcome. */
  count(outcome: string): number {
    return this.counts.get(outcome)?.count ?? 0;
  }

  /** Every outcome that is not OK, with its count. */
  failures(): [string, number][] {
    return [...this.counts].filter(([outcome]) => outcome !== "OK").map(([outcome, { count }]) => [outcome, count]);
  }

  /** How many answers were not OK. */
  get failed(): number {
    return this.failures().reduce((sum, [, count]) => sum + count, 0);
  }

  /** The outcomes whose code is not in `allowed`, with their counts. */
  outside(allowed: ReadonlySet<number>): [string, number][] {
    return [...this.counts]
      .filter(([, { code }]) => !allowed.has(code))
      .map(([outcome, { count }]) => [outcome, count]);
  }

  /** All answers. */
  get total(): number {
    return [...this.counts.values()].reduce((sum, { count }) => sum + count, 0);
  }

  /** "OK 9,990, UNAVAILABLE/STORE_UNAVAILABLE+RetryInfo 10". */
  toString(): string {
    return (
      [...this.counts].map(([outcome, { count }]) => `${outcome} ${count.toLocaleString("en-US")}`).join(", ") || "none"
    );
  }
}
