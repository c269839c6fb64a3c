// Small statistics for the benchmark: a spread (median with min and max) over runs, and percentiles over samples.

/** Median with min and max over the runs of one figure. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** The spread of the given run figures (at least one). */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error("spread of no values");
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantileOfSorted(sorted, 0.5), min: sorted[0]!, max: sorted.at(-1)!, runs: [...values] };
}

/** The q-quantile (0..1) of sorted samples, linear interpolation between neighbours. */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const a = sorted[low]!;
  const b = sorted[high]!;
  return a + (b - a) * (position - low);
}

/** p50, p99, max and mean of latency samples (any unit). */
export function latencySummary(samples: Float64Array | number[]): {
  p50: number;
  p99: number;
  max: number;
  mean: number;
  count: number;
} {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    p50: quantileOfSorted(sorted, 0.5),
    p99: quantileOfSorted(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    count: sorted.length,
  };
}

/** Formats a number compactly: 12345 -> "12,345", 1.234 -> "1.23". */
export function fmt(value: number, digits?: number): string {
  if (!Number.isFinite(value)) return "n/a";
  const places = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return value.toLocaleString("en-US", { minimumFractionDigits: places, maximumFractionDigits: places });
}

/** "median [min–max]" of a spread. */
export function fmtSpread(s: Spread | undefined, digits?: number, unit = ""): string {
  if (!s) return "-";
  if (s.runs.length === 1) return `${fmt(s.median, digits)}${unit}`;
  return `${fmt(s.median, digits)}${unit} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`;
}
