// `npm run bench`: starts what it measures (servers as their own processes on one core, load generators on the
// other), runs each benchmark several times and prints one table of median [min–max] figures with their targets.
// A missed target is reported, not fatal; a broken benchmark (a failed check, a crashed process) exits non-zero.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { testToken } from "@orderly/kit/testing";
import { testAuthEnv } from "../test/support/service-process.js";
import { seedUsers } from "./lib/fixture.js";
import { requireH2load } from "./lib/h2load.js";
import { bundle, SERVICES } from "../services/build.js";
import { BUNDLE_DIR, PINNING, pinRunner, REPO_ROOT, serverProfiling } from "./lib/processes.js";
import { parseOptions, type Options, type SuiteName } from "./lib/profile.js";
import { procAvailable } from "./lib/proc-stats.js";
import { renderTable, type SuiteReport } from "./lib/report.js";
import { fmt } from "./lib/stats.js";
import { ensureDir, type SuiteContext } from "./suites/context.js";
import { createOrderSuite } from "./suites/create-order.js";
import { createOrderPostgresSuite } from "./suites/create-order-postgres.js";
import { getUserSuite } from "./suites/get-user.js";
import { instructionsSuite } from "./suites/instructions.js";
import { interceptorsSuite } from "./suites/interceptors.js";
import { startupSuite } from "./suites/startup.js";
import { streamUsersSuite } from "./suites/stream-users.js";
import { watchOrdersSuite } from "./suites/watch-orders.js";

const SUITE_RUNNERS: Record<SuiteName, (ctx: SuiteContext) => Promise<SuiteReport>> = {
  getuser: getUserSuite,
  instructions: instructionsSuite,
  startup: startupSuite,
  stream: streamUsersSuite,
  createorder: createOrderSuite,
  createorderpg: createOrderPostgresSuite,
  watch: watchOrdersSuite,
  interceptors: interceptorsSuite,
};

const RESULTS_DIR = join(REPO_ROOT, "bench/results");

async function main(options: Options): Promise<number> {
  requireH2load();
  pinRunner();
  const started = performance.now();
  const progress = (message: string) =>
    process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0)}s] ${message}\n`);
  const logDir = ensureDir(join(RESULTS_DIR, "logs"));
  if (options.cpuProf) {
    serverProfiling.dir = ensureDir(join(RESULTS_DIR, "profiles"));
    progress(
      `CPU profiles of the servers go to ${serverProfiling.dir}/ (figures are slower while profiling; summarise with tsx bench/profile-summary.ts)`,
    );
  }
  // Servers run as shipped: bundles on plain node (npm run build), the baseline bundled the same way.
  progress("bundling the servers (npm run build, plus the bare baseline)");
  await Promise.all([
    ...SERVICES.map((service) => bundle(`services/${service}/src/main.ts`, join(BUNDLE_DIR, `${service}.mjs`))),
    bundle("bench/servers/bare-users.ts", join(BUNDLE_DIR, "bare-users.mjs")),
    bundle("bench/servers/bare-orders.ts", join(BUNDLE_DIR, "bare-orders.mjs")),
  ]);
  const workDir = mkdtempSync(join(tmpdir(), "orderly-bench-"));
  try {
    const usersDataDir = join(workDir, "users");
    mkdirSync(usersDataDir);
    progress(`seeding ${fmt(options.profile.users, 0)} users into SQLite`);
    await seedUsers(join(usersDataDir, "users.sqlite"), options.profile.users);
    const ctx: SuiteContext = {
      profile: options.profile,
      runs: options.runs,
      workDir,
      logDir,
      usersDataDir,
      token: await testToken("bench-admin", ["admin"], { expiresInSeconds: 4 * 3600 }),
      authEnv: await testAuthEnv(),
      progress,
    };
    const reports: SuiteReport[] = [];
    const failures: { suite: string; error: string }[] = [];
    for (const name of options.only) {
      try {
        reports.push(await SUITE_RUNNERS[name](ctx));
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        failures.push({ suite: name, error: message });
        progress(`${name} FAILED: ${message}`);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    print(options, reports, failures, seconds, logDir);
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(
      join(RESULTS_DIR, "latest.json"),
      JSON.stringify(
        {
          when: new Date().toISOString(),
          profile: options.profile,
          runs: options.runs,
          pinning: PINNING ?? null,
          seconds,
          reports,
          failures,
        },
        (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value),
        2,
      ),
    );
    return failures.length > 0 ? 1 : 0;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

function print(
  options: Options,
  reports: SuiteReport[],
  failures: { suite: string; error: string }[],
  seconds: number,
  logDir: string,
): void {
  // Smoke counts are far too small for the figures to mean anything: show them, judge nothing.
  const smoke = options.profile.name === "smoke";
  const rows = reports.flatMap((r) => r.rows).map((row) => (smoke ? { ...row, met: undefined } : row));
  const out: string[] = [];
  out.push(
    `Orderly benchmark (${options.profile.name}, ${options.runs} run${options.runs > 1 ? "s" : ""}, ${fmt(seconds, 0)} s; figures are median [min–max] over runs; ratio = Orderly / baseline per run)`,
  );
  out.push(
    PINNING
      ? `servers pinned to CPU ${PINNING.server}, load generators to CPU ${PINNING.load} (taskset); LOG_LEVEL=info, server logs written to ${relative(process.cwd(), logDir) || logDir}/`
      : `servers and load generators share all CPUs (fewer than 2 cores or no taskset); LOG_LEVEL=info, server logs written to ${logDir}/`,
  );
  if (!procAvailable) out.push("no /proc: server CPU and RSS are not measured");
  out.push("", renderTable(rows), "");
  for (const report of reports) out.push(...report.details);
  const missed = rows.filter((r) => r.met === false);
  out.push("");
  if (smoke) out.push("smoke mode: counts too small for the figures to mean anything; targets are not judged.");
  else if (missed.length > 0)
    out.push(`TARGETS MISSED (${missed.length}): ${missed.map((r) => r.benchmark).join("; ")}`);
  else if (rows.some((r) => r.met !== undefined)) out.push("all targets met");
  for (const failure of failures) out.push(`BENCHMARK BROKEN: ${failure.suite}: ${failure.error.split("\n")[0]}`);
  out.push(`results: ${relative(process.cwd(), join(RESULTS_DIR, "latest.json"))}`);
  console.log(out.join("\n"));
}

let options: Options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
}
main(options).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
