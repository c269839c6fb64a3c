// Every method of both services driven from Python, as a Python team calls them: the generated package in
// clients/python (grpcio's C core, no code shared with grpc-js) against UserService and OrderService running as
// processes from the bundles `npm start` runs. A third process, an OrderService whose UserService is gone, answers
// UNAVAILABLE with RetryInfo. The Python suite (clients/python/tests, unittest) runs once; each of its cases is one
// test here, named after it and failing with its traceback.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUserClient } from "@orderly/clients";
import { testToken } from "@orderly/kit/testing";
import { bundle } from "../services/build.js";
import { startServiceProcess, tempDataDir, testAuthEnv, type ServiceProcess } from "./support/service-process.js";

const PYTHON = "/usr/bin/python3";
const RUNNER = "clients/python/tests/run.py";

interface CaseResult {
  id: string;
  outcome: string;
  message: string;
  seconds: number;
}

// Listed when the file is collected, so that each Python case is a test of its own.
const caseIds = listPythonCases();

let dist: string | undefined;
const services: ServiceProcess[] = [];
const dataDirs = [tempDataDir(), tempDataDir(), tempDataDir()];
let results = new Map<string, CaseResult>();
let suiteOutput = "";

function listPythonCases(): string[] {
  try {
    return execFileSync(PYTHON, [RUNNER, "--list"], { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch (error) {
    throw new Error(
      `cannot list the Python suite (${RUNNER}); it needs Debian's python3-grpcio and python3-protobuf ` +
        `(apt-get install -y python3-grpcio python3-protobuf): ${String(error)}`,
      { cause: error },
    );
  }
}

/** A loopback port nothing listens on (taken from the OS, then released). */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function runPythonSuite(env: Record<string, string>, resultsFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [RUNNER, "--json", resultsFile], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (chunk: Buffer) => (suiteOutput += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (suiteOutput += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 150_000);
    child.once("error", reject);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

beforeAll(async () => {
  mkdirSync("dist", { recursive: true });
  dist = mkdtempSync(join("dist", "python-e2e-"));
  await Promise.all(["users", "orders"].map((s) => bundle(`services/${s}/src/main.ts`, join(dist!, `${s}.mjs`))));
  const auth = await testAuthEnv();
  const users = await startServiceProcess(join(dist, "users.mjs"), {
    ...auth,
    USERS_ADDRESS: "127.0.0.1:0",
    DATA_DIR: dataDirs[0]!,
  });
  services.push(users);
  const ordersEnv = { ...auth, ORDERS_ADDRESS: "127.0.0.1:0" };
  const [orders, orphan] = await Promise.all([
    startServiceProcess(join(dist, "orders.mjs"), {
      ...ordersEnv,
      USERS_TARGET: users.address,
      DATA_DIR: dataDirs[1]!,
    }),
    startServiceProcess(join(dist, "orders.mjs"), {
      ...ordersEnv,
      USERS_TARGET: `127.0.0.1:${await unusedPort()}`,
      DATA_DIR: dataDirs[2]!,
    }),
  ]);
  services.push(orders, orphan);

  const adminToken = await testToken("adm_python", ["admin"]);
  const admin = createUserClient({ address: users.address, token: adminToken });
  const [alice, bob] = await Promise.all([
    admin.create({ email: "alice.python@example.com" }),
    admin.create({ email: "bob.python@example.com" }),
  ]);
  admin.close();

  const resultsFile = join(mkdtempSync(join(tmpdir(), "orderly-python-")), "results.json");
  await runPythonSuite(
    {
      ORDERLY_USERS_ADDRESS: users.address,
      ORDERLY_ORDERS_ADDRESS: orders.address,
      ORDERLY_ORDERS_WITHOUT_USERS_ADDRESS: orphan.address,
      ORDERLY_ADMIN_TOKEN: adminToken,
      ORDERLY_SUPPORT_TOKEN: await testToken("sup_python", ["support"]),
      ORDERLY_ALICE_ID: alice.id,
      ORDERLY_ALICE_TOKEN: await testToken(alice.id, ["user"]),
      ORDERLY_BOB_ID: bob.id,
      ORDERLY_BOB_TOKEN: await testToken(bob.id, ["user"]),
    },
    resultsFile,
  );
  try {
    const { cases } = JSON.parse(readFileSync(resultsFile, "utf8")) as { cases: CaseResult[] };
    results = new Map(cases.map((c) => [c.id, c]));
  } finally {
    rmSync(join(resultsFile, ".."), { recursive: true, force: true });
  }
}, 240_000);

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  for (const dir of [...dataDirs, ...(dist ? [dist] : [])]) rmSync(dir, { recursive: true, force: true });
});

describe("Python client (clients/python) against UserService and OrderService as processes", () => {
  for (const id of caseIds) {
    it(id.replace(/^tests\./, ""), () => {
      const result = results.get(id);
      expect(result, `no result for ${id}; the suite's output:\n${suiteOutput.slice(-4000)}`).toBeDefined();
      expect(result!.outcome, result!.message).toBe("passed");
    });
  }

  it("ran every listed case, and nothing failed outside them (imports, setUpClass)", () => {
    const unlisted = [...results.values()].filter((r) => !caseIds.includes(r.id));
    expect(unlisted.map((r) => `${r.id}: ${r.outcome}\n${r.message}`)).toEqual([]);
    expect([...results.keys()].sort()).toEqual([...caseIds].sort());
  });
});
