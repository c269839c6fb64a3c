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
// vitest's numFailedTestSuites counts describe blocks too, so it cannot be used here. A test file that failed without a
// failed test (it did not load, or a hook failed) ran nothing but is broken: it counts as one failure.
const brokenFiles = (results.testResults ?? []).filter(
  (file) => file.status === "failed" && !(file.assertionResults ?? []).some((test) => test.status === "failed"),
).length;
// A skipped test proves nothing; CI treats it as a failure (`.skip`, `.todo`, or a suite that skipped itself).
const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
const failed = (results.numFailedTests ?? 0) + brokenFiles + skipped;
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? ` (${skipped} skipped)` : ""}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
