// The configuration as a user meets it: the README's tables list exactly the settings the schema reads, with its
// defaults; a service bundle (what `npm start` runs) given a bad value stops before listening, with exit status 1 and
// one line on stderr naming the variable; CONFIG_FILE supplies settings, and the environment wins over it; on a
// terminal in development the log is pino-pretty's (a pseudo-terminal from util-linux `script`), JSON otherwise.
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify, stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SETTINGS, type ConfigScope } from "@orderly/kit";
import { bundle } from "../services/build.js";
import { startServiceProcess, tempDataDir } from "./support/service-process.js";

const SECTIONS: Record<string, ConfigScope> = {
  "Every service": "common",
  "Connections (every service)": "common",
  "TLS (every service)": "common",
  UserService: "users",
  OrderService: "orders",
};

/** The rows of the README's configuration tables: name, scope (from the ### heading above) and default cell. */
function readmeSettings(): { name: string; scope: ConfigScope | undefined; shownDefault: string }[] {
  const readme = readFileSync("README.md", "utf8");
  const section = readme.slice(readme.indexOf("\n## Configuration\n"), readme.indexOf("\n## Errors\n"));
  let scope: ConfigScope | undefined;
  const rows = [];
  for (const line of section.split("\n")) {
    const heading = /^### (.+)$/.exec(line);
    if (heading) scope = SECTIONS[heading[1]!];
    const row = /^\| `([A-Z0-9_]+)` \|([^|]*)\|/.exec(line);
    if (row) rows.push({ name: row[1]!, scope, shownDefault: row[2]!.trim() });
  }
  return rows;
}

describe("the README's configuration tables", () => {
  it("list every setting of the schema once, under its service, with its default, and nothing else", () => {
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    const expected = SETTINGS.map(({ name, scope, shownDefault }) => ({ name, scope, shownDefault })).sort(byName);
    expect(readmeSettings().sort(byName)).toEqual(expected);
  });
});

describe("a service bundle's configuration", () => {
  let dist: string;
  const run = promisify(execFile);

  beforeAll(async () => {
    mkdirSync("dist", { recursive: true });
    dist = mkdtempSync(join("dist", "config-"));
    await bundle("services/users/src/main.ts", join(dist, "users.mjs"));
  });
  afterAll(() => {
    if (dist) rmSync(dist, { recursive: true, force: true });
  });

  /** Runs the bundle with env and resolves with its exit code and output, expecting it to stop by itself. */
  async function failedStart(env: Record<string, string>) {
    const outcome = await run(process.execPath, [join(dist, "users.mjs")], {
      env: { ...process.env, DATA_DIR: tempDataDir(), USERS_ADDRESS: "127.0.0.1:0", ...env },
      timeout: 20_000,
    }).catch((error: unknown) => error as { code: number; stdout: string; stderr: string });
    return outcome as { code?: number; stdout: string; stderr: string };
  }

  it("stops before listening on a bad value: exit 1, one stderr line naming the variable, nothing on stdout", async () => {
    const result = await failedStart({ SHUTDOWN_GRACE_MS: "10s", LOG_LEVEL: "info" });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      'users: invalid configuration: SHUTDOWN_GRACE_MS="10s" (environment): must be a whole number of milliseconds\n',
    );
  });

  it("names a bad value from CONFIG_FILE with its file, and starts when the environment overrides it", async () => {
    const dir = tempDataDir();
    const file = join(dir, "orderly.json");
    writeFileSync(file, JSON.stringify({ USERS_ADDRESS: "127.0.0.1:0", DATA_DIR: dir, SHUTDOWN_DRAIN_MS: "soon" }));
    const bad = await failedStart({ CONFIG_FILE: file, USERS_ADDRESS: "" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      `users: invalid configuration: SHUTDOWN_DRAIN_MS="soon" (CONFIG_FILE ${file}): must be a whole number of milliseconds\n`,
    );
    // USERS_ADDRESS and DATA_DIR come from the file; the environment's SHUTDOWN_DRAIN_MS hides the file's bad one.
    const users = await startServiceProcess(join(dist, "users.mjs"), {
      CONFIG_FILE: file,
      USERS_ADDRESS: "",
      DATA_DIR: "",
      SHUTDOWN_DRAIN_MS: "0",
    });
    try {
      expect(users.port).toBeGreaterThan(0);
      expect(readFileSync(join(dir, "users.sqlite")).length).toBeGreaterThan(0);
    } finally {
      expect(await users.stop()).toBe(0);
    }
  });

  it("logs through pino-pretty on a terminal in development (a pseudo-terminal from `script`), JSON on a pipe", async () => {
    const child = spawn("script", ["-qec", `${process.execPath} ${join(dist, "users.mjs")}`, "/dev/null"], {
      env: { ...process.env, NODE_ENV: "", LOG_FORMAT: "", DATA_DIR: tempDataDir(), USERS_ADDRESS: "127.0.0.1:0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const exited = new Promise((resolve) => child.once("exit", resolve));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in 20 s: ${output}`)), 20_000);
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("listening")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill("SIGTERM"); // script ends the session, and the service with it
    await exited;
    const plain = stripVTControlCharacters(output);
    expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(users\): listening\r?$/m);
    expect(plain).toMatch(/^ {4}port: \d+\r?$/m);
    expect(plain).not.toContain('{"level"');
  });
});
