// Prints vitest's JSON results as the one plain line CI reads: "N passed, N failed".
import { readFileSync } from "node:fs";

const path = process.argv[2] ?? ".vitest/results.json";
let results;
try {
  results = JSON.parse(readFileSync(path, "utf8"));
} catch (error) {
  console.log(`no test results at ${path}: ${error.message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const passed = results.numPassedTests ?? 0;
// Suites that failed to load count as failures too: they ran no test but are broken.
const failed =
  (results.numFailedTests ?? 0) + (results.numFailedTestSuites ?? 0) - failedSuitesWithFailedTests(results);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);

function failedSuitesWithFailedTests(r) {
  return (r.testResults ?? []).filter(
    (s) => s.status === "failed" && (s.assertionResults ?? []).some((a) => a.status === "failed"),
  ).length;
}
