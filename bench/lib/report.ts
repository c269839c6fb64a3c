// The benchmark's output: one table (each figure as median [min–max] over the runs), the detail lines under it, and
// the same data as JSON for bench/results/latest.json.
import { fmt, fmtSpread, type Spread } from "./stats.js";

/** One line of the table. */
export interface Row {
  benchmark: string;
  unit: string;
  orderly: Spread;
  baseline?: Spread;
  /** Orderly / baseline, per run (runs are paired), then median [min–max]. */
  ratio?: Spread;
  /** How the target reads, e.g. ">= 0.85x"; "-" for figures without one. */
  target: string;
  /** Whether the median (or the stated figure) meets the target; undefined when there is no target. */
  met?: boolean;
  digits?: number;
}

/** What a benchmark contributes to the report. */
export interface SuiteReport {
  name: string;
  rows: Row[];
  /** Extra lines: CPU, RSS, latency, where logs went. */
  details: string[];
  /** Everything measured, per run, for the JSON file. */
  data: unknown;
}

/** Renders rows as a plain-text table. */
export function renderTable(rows: readonly Row[]): string {
  const header = ["benchmark", "Orderly", "baseline", "ratio", "target", "met?"];
  const lines = rows.map((row) => [
    row.benchmark,
    `${fmtSpread(row.orderly, row.digits)} ${row.unit}`,
    row.baseline ? `${fmtSpread(row.baseline, row.digits)} ${row.unit}` : "-",
    row.ratio ? `${fmtSpread(row.ratio, 2)}x` : "-",
    row.target,
    row.met === undefined ? "-" : row.met ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [format(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...lines.map(format)].join("\n");
}

/** "12.3% [11.0–14.1]"-style helper for detail lines. */
export function detail(label: string, s: Spread, unit = "", digits?: number): string {
  return `${label} ${fmtSpread(s, digits, unit)}`;
}

export { fmt };
