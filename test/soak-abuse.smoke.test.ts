// CI's smoke run of the abuse half of `npm run soak` (hostile tokens, the authorization matrix, fuzzed bodies, slow
// consumers): each scenario with small counts, as one test that passes only when the scenario's criteria held,
// printing its failures otherwise. Like the fault half (soak-faults.smoke.test.ts), rows that need PostgreSQL start
// their own instance, and every service runs on free loopback ports.
import { afterAll, describe, expect, it } from "vitest";
import { removeBundles } from "../soak/lib/bundles.js";
import { postgresBinDir } from "../soak/lib/private-postgres.js";
import { failureReport, runScenario } from "../soak/lib/run-scenario.js";
import { authzMatrix } from "../soak/scenarios/authz-matrix.js";
import { fuzz } from "../soak/scenarios/fuzz.js";
import { hostileTokens } from "../soak/scenarios/hostile-tokens.js";
import { slowConsumers } from "../soak/scenarios/slow-consumers.js";

const scenarios = [hostileTokens, authzMatrix, fuzz, slowConsumers];

function serverBinaries(): string | undefined {
  try {
    postgresBinDir();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const missing = serverBinaries();
// Like the PostgreSQL suites: skipped with a reason on a developer machine without the server, never in CI.
const suite = missing && !process.env["CI"] ? describe.skip : describe;
if (missing) console.log(`soak smoke: ${missing}${process.env["CI"] ? "" : " (skipped)"}`);

suite("soak smoke: abuse", () => {
  afterAll(() => removeBundles());

  for (const scenario of scenarios) {
    it(`${scenario.id}: ${scenario.title}`, async () => {
      const lines: string[] = [];
      const result = await runScenario(scenario, { smoke: true, log: (line) => lines.push(line) });
      expect(result.passed, `${failureReport(scenario.id, result)}\n${lines.join("\n")}`).toBe(true);
    }, 120_000);
  }
});
