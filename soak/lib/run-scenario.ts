// Running one scenario the same way from the harness and from CI's smoke test: a fresh work directory, the time it
// took, and a throw turned into a failed result (a scenario that crashes is a row that fails, not a lost row).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Scenario, ScenarioResult } from "../scenario.js";

/** A scenario's result with how long it ran. */
export interface TimedResult extends ScenarioResult {
  readonly seconds: number;
  /** Where its work directory (service logs) was kept, when it failed. */
  readonly keptDir?: string;
}

/** Runs `scenario`; never throws. Its work directory is deleted when it passed, kept for a look when it failed. */
export async function runScenario(
  scenario: Scenario,
  options: { smoke: boolean; log: (line: string) => void },
): Promise<TimedResult> {
  const workDir = mkdtempSync(join(tmpdir(), `orderly-soak-${scenario.id}-`));
  const started = performance.now();
  let result: ScenarioResult;
  try {
    result = await scenario.run({ smoke: options.smoke, workDir, log: options.log });
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    result = { passed: false, figures: {}, summary: "the scenario failed to run", failures: [`threw: ${message}`] };
  }
  // A row that claims success while listing failures is a bug in the scenario: trust the failures.
  const passed = result.passed && result.failures.length === 0;
  if (passed) rmSync(workDir, { recursive: true, force: true });
  else options.log(`failed: its work directory (service logs) is kept in ${workDir}`);
  return {
    ...result,
    passed,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    ...(passed ? {} : { keptDir: workDir }),
  };
}

/** The failures of a result, one per line, for a test's assertion message. */
export function failureReport(id: string, result: TimedResult): string {
  return [
    `${id}: ${result.summary}`,
    ...result.failures.map((f) => `  - ${f}`),
    `  figures: ${JSON.stringify(result.figures)}`,
    ...(result.keptDir ? [`  service logs: ${result.keptDir}`] : []),
  ].join("\n");
}
