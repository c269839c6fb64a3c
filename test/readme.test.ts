// The README's TypeScript examples, type-checked with the project's tsconfig.json and run against a UserService and
// an OrderService started as processes on port 0, so the README cannot rot (convention: README, "Tests"). Also shows
// that the check fails, naming the README line, when an example is broken.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testToken } from "@orderly/kit/testing";
import { REPO, runModule, snippetModule, tsSnippets, typeErrors, writeModule } from "./support/readme-snippets.js";
import { startServiceProcess, tempDataDir, testAuthEnv, type ServiceProcess } from "./support/service-process.js";

/** What the examples assume, as the README's Tests section lists it. */
const PRELUDE = `// The prelude of the README's examples (test/readme.test.ts).
const token: string = process.env.README_TOKEN ?? "";
const fetchToken = async (): Promise<string> => token;
const lastSeen = 0n;
const handle = (event: unknown): void => void event;
`;

const readme = readFileSync(join(REPO, "README.md"), "utf8");
let users: ServiceProcess | undefined;
let orders: ServiceProcess | undefined;
let cwd: string;
let env: Record<string, string>;

/** The README's addresses, pointed at the services this test started. */
function withAddresses(code: string): string {
  return code.replaceAll("127.0.0.1:50051", users!.address).replaceAll("127.0.0.1:50052", orders!.address);
}

beforeAll(async () => {
  const auth = await testAuthEnv();
  const dataDir = tempDataDir();
  users = await startServiceProcess("services/users/src/main.ts", {
    ...auth,
    USERS_ADDRESS: "127.0.0.1:0",
    DATA_DIR: dataDir,
  });
  orders = await startServiceProcess("services/orders/src/main.ts", {
    ...auth,
    ORDERS_ADDRESS: "127.0.0.1:0",
    USERS_TARGET: users.address,
    DATA_DIR: dataDir,
  });
  // The examples run in a directory of their own, with the service token file `npm start` would have written.
  cwd = mkdtempSync(join(tmpdir(), "orderly-readme-"));
  mkdirSync(join(cwd, "data"));
  writeFileSync(join(cwd, "data", "svc-orders.token"), await testToken("svc-readme", ["service"]), { mode: 0o600 });
  env = { README_TOKEN: await testToken("dev-admin", ["admin"]) };
});

afterAll(async () => {
  await orders?.stop();
  await users?.stop();
});

describe("README.md's TypeScript examples", () => {
  it("type-check and run, in order, against real services", async () => {
    const snippets = tsSnippets(readme).map((s) => ({ ...s, code: withAddresses(s.code) }));
    expect(snippets.filter((s) => s.noRun === undefined).length).toBeGreaterThanOrEqual(4);
    const source = snippetModule(snippets, PRELUDE);
    const module = writeModule(REPO, source);
    try {
      expect(typeErrors(REPO, module.path, source)).toEqual([]);
      const { stdout } = await runModule(module.path, { cwd, env, timeoutMs: 60_000 });
      // Lines only the examples print: they ran to the end, against these services.
      expect(stdout).toContain("USER_NOT_FOUND");
      expect(stdout).toMatch(/orderly\.order\.v1\.OrderService\/GetOrder 1 0 ok/);
      expect(stdout.trim().split("\n").at(-1)).toBe("ada@example.com");
    } finally {
      module.dispose();
    }
  }, 120_000);

  it("fail the test when an example does not type-check, naming the README line", () => {
    const snippets = tsSnippets(readme);
    const first = snippets[0]!;
    const broken = [
      { ...first, code: first.code.replace("users.get(ada.id,", "users.fetch(ada.id,") },
      ...snippets.slice(1),
    ];
    const line = first.line + first.code.split("\n").findIndex((l) => l.includes("users.get(ada.id,")) + 1;
    const source = snippetModule(broken, PRELUDE);
    const module = writeModule(REPO, source);
    try {
      const errors = typeErrors(REPO, module.path, source);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`^README\\.md:${line}: Property 'fetch' does not exist`));
    } finally {
      module.dispose();
    }
  }, 60_000);

  it("fail the test when an example throws", async () => {
    const code = withAddresses(
      [
        'import { createUserClient } from "@orderly/clients";',
        'const users = createUserClient({ address: "127.0.0.1:50051", token });',
        'await users.get("usr_unknown");',
      ].join("\n"),
    );
    const module = writeModule(REPO, snippetModule([{ line: 1, code }], PRELUDE));
    try {
      await expect(runModule(module.path, { cwd, env, timeoutMs: 60_000 })).rejects.toThrow(/USER_NOT_FOUND|not found/);
    } finally {
      module.dispose();
    }
  }, 60_000);

  it("skip a block fenced `ts no-run: <reason>`, and refuse a no-run without a reason", () => {
    const markdown = ["```ts", "run();", "```", "```ts no-run: needs a live IdP", "never();", "```"].join("\n");
    const module = snippetModule(tsSnippets(markdown), "");
    expect(module).toContain("run();");
    expect(module).not.toContain("never();");
    expect(() => tsSnippets("```ts no-run\nx();\n```")).toThrow(/no-run: <reason>/);
  });
});
