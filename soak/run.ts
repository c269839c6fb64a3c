// `npm run soak`: the services under faults and abuse, as real processes on loopback. Builds the bundles once, runs
// the scenarios of scenarios/index.ts one after another (progress on stderr), prints one Markdown table row each
// (scenario | criterion | result | passed) on stdout, writes soak/results/latest.json, and exits 1 when a row failed.
//   --smoke         tiny counts and short times (CI): shows that every scenario works, its figures prove little
//   --only a,b      only these scenario ids
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Scenario } from "./scenario.js";
import { scenarios } from "./scenarios/index.js";
import { removeBundles, serviceBundles } from "./lib/bundles.js";
import { runCleanups } from "./lib/cleanup.js";
import { REPO_ROOT } from "./lib/repo.js";
import { runScenario, type TimedResult } from "./lib/run-scenario.js";

const RESULTS_DIR = join(REPO_ROOT, "soak/results");

interface Options {
  smoke: boolean;
  only: readonly Scenario[];
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: { smoke: { type: "boolean", default: false }, only: { type: "string" } },
    strict: true,
  });
  const ids = values.only
    ?.split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  const unknown = ids?.filter((id) => !scenarios.some((s) => s.id === id)) ?? [];
  if (unknown.length > 0)
    throw new Error(`unknown scenario ${unknown.join(", ")}; known: ${scenarios.map((s) => s.id).join(", ")}`);
  return { smoke: values.smoke, only: ids ? scenarios.filter((s) => ids.includes(s.id)) : scenarios };
}

/** The machine's 1-minute load average (NaN where the platform has none). */
function oneMinuteLoad(): number {
  return loadavg()[0] ?? Number.NaN;
}

/** A Markdown table cell: pipes escaped, no line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

function table(rows: readonly { scenario: Scenario; result: TimedResult }[]): string {
  const lines = rows.map(
    ({ scenario, result }) =>
      `| ${cell(scenario.title)} | ${cell(scenario.criterion)} | ${cell(result.summary)} | ${result.passed ? "yes" : "NO"} |`,
  );
  return ["| scenario | criterion | result | passed |", "|---|---|---|---|", ...lines].join("\n");
}

async function main(options: Options): Promise<number> {
  const started = performance.now();
  const log = (line: string) =>
    process.stderr.write(`[soak ${((performance.now() - started) / 1000).toFixed(0)}s] ${line}\n`);
  log(`bundling the services (as npm start does)${options.smoke ? "; smoke run" : ""}`);
  await serviceBundles();
  const rows: { scenario: Scenario; result: TimedResult; load: { before: number; after: number } }[] = [];
  try {
    for (const scenario of options.only) {
      log(`${scenario.id}: ${scenario.title}`);
      const before = oneMinuteLoad();
      const result = await runScenario(scenario, {
        smoke: options.smoke,
        log: (line) => log(`${scenario.id}: ${line}`),
      });
      rows.push({ scenario, result, load: { before, after: oneMinuteLoad() } });
      log(`${scenario.id}: ${result.passed ? "passed" : "FAILED"} in ${result.seconds} s: ${result.summary}`);
      for (const failure of result.failures) log(`${scenario.id}:   - ${failure}`);
    }
  } finally {
    await removeBundles();
  }
  const machine = `${cpus().length} cores; 1-min load average before/after each row: ${rows.map((r) => `${r.scenario.id} ${r.load.before.toFixed(1)}/${r.load.after.toFixed(1)}`).join(", ")}`;
  process.stdout.write(`${table(rows)}\n\n${options.smoke ? "smoke run; " : ""}${machine}\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    smoke: options.smoke,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "", node: process.version },
    seconds: Math.round((performance.now() - started) / 1000),
    rows: rows.map(({ scenario, result, load }) => ({
      id: scenario.id,
      title: scenario.title,
      criterion: scenario.criterion,
      passed: result.passed,
      summary: result.summary,
      figures: result.figures,
      failures: result.failures,
      seconds: result.seconds,
      loadAverage: load,
    })),
  };
  writeFileSync(join(RESULTS_DIR, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  log(`results in ${join("soak/results", "latest.json")}`);
  return rows.every((r) => r.result.passed) ? 0 : 1;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`[soak] ${signal}: stopping what the scenarios started\n`);
    runCleanups();
    process.exit(130);
  });
}

process.chdir(REPO_ROOT);
try {
  process.exitCode = await main(parseOptions(process.argv.slice(2)));
} catch (error) {
  process.stderr.write(`[soak] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 2;
}
// Anything a scenario left behind must not keep the harness alive (or running) after the table.
runCleanups();
process.exit();
