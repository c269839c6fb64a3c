// CI's smoke run of the fault half of `npm run soak`: each scenario with tiny counts, as one test that passes only
// when the scenario's criteria held, printing its failures otherwise. Each starts its own PostgreSQL instance and its
// services on free ports, so it disturbs no other test running beside it.
import { afterAll, describe, expect, it } from "vitest";
import { removeBundles } from "../soak/lib/bundles.js";
import { postgresBinDir } from "../soak/lib/private-postgres.js";
import { failureReport, runScenario } from "../soak/lib/run-scenario.js";
import { gracefulShutdown } from "../soak/scenarios/graceful-shutdown.js";
import { kill9 } from "../soak/scenarios/kill9.js";
import { postgresRestart } from "../soak/scenarios/postgres-restart.js";

const scenarios = [kill9, postgresRestart, gracefulShutdown];

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

suite("soak smoke: faults", () => {
  afterAll(() => removeBundles());

  for (const scenario of scenarios) {
    it(`${scenario.id}: ${scenario.title}`, async () => {
      const lines: string[] = [];
      const result = await runScenario(scenario, { smoke: true, log: (line) => lines.push(line) });
      expect(result.passed, `${failureReport(scenario.id, result)}\n${lines.join("\n")}`).toBe(true);
    }, 90_000);
  }
});
