// The smoke run of `npm run soak` rows as a vitest suite: each scenario with small counts, as one test that passes only
// when the scenario's criteria held, printing its failures otherwise. Skipped with a reason on a developer machine
// without the PostgreSQL server binaries (like the PostgreSQL suites), never in CI.
import { afterAll, describe, expect, it } from "vitest";
import { removeBundles } from "../../soak/lib/bundles.js";
import { postgresBinDir } from "../../soak/lib/private-postgres.js";
import { failureReport, runScenario } from "../../soak/lib/run-scenario.js";
import type { Scenario } from "../../soak/scenario.js";

function serverBinaries(): string | undefined {
  try {
    postgresBinDir();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** One describe named `name` with a test per scenario, each given `timeoutMs`. */
export function soakSmokeSuite(name: string, scenarios: readonly Scenario[], timeoutMs: number): void {
  const missing = serverBinaries();
  const suite = missing && !process.env["CI"] ? describe.skip : describe;
  if (missing) console.log(`soak smoke: ${missing}${process.env["CI"] ? "" : " (skipped)"}`);

  suite(name, () => {
    afterAll(() => removeBundles());

    for (const scenario of scenarios) {
      it(
        `${scenario.id}: ${scenario.title}`,
        async () => {
          const lines: string[] = [];
          const result = await runScenario(scenario, { smoke: true, log: (line) => lines.push(line) });
          expect(result.passed, `${failureReport(scenario.id, result)}\n${lines.join("\n")}`).toBe(true);
        },
        timeoutMs,
      );
    }
  });
}
