// A service process never prints or logs a credential, in development or in production. Each bundle (what `npm start`
// and production run) is started as a process, called with good, forged and expired tokens, and stopped; then
// everything it wrote is checked: stdout holds only JSON log lines, and no token, no JWT-shaped string and no secret
// appears anywhere. The bundles must not even contain code that mints a token. The launcher (`npm start`) is checked
// the same way, and it refuses to mint OrderService's token in production.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, createOrderClient, createUserClient } from "@orderly/clients";
import { mintDevToken } from "@orderly/kit/dev-token";
import { failureOf } from "@orderly/kit/testing";
import { bundle, DEV_TOKEN_ENTRY } from "../services/build.js";
import { startServiceProcess, tempDataDir, type ServiceProcess } from "./support/service-process.js";

const run = promisify(execFile);
const JWT_SHAPE = /eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/;
const address = {
  recipient: "Ada Lovelace",
  line1: "12 St James's Square",
  city: "London",
  postalCode: "SW1Y 4JH",
  countryCode: "GB",
};
// Nothing from the test runner's own environment may change what the services do.
const CLEAN = {
  NODE_ENV: "",
  JWT_SECRET: "",
  JWT_ISSUER: "",
  JWT_AUDIENCE: "",
  JWT_PUBLIC_KEY_FILE: "",
  JWT_JWKS_FILE: "",
  SERVICE_TOKEN_FILE: "",
  PAGE_TOKEN_SECRET: "",
};

let dist: string;

beforeAll(async () => {
  mkdirSync("dist", { recursive: true });
  dist = mkdtempSync(join("dist", "credentials-"));
  await Promise.all([
    ...["users", "orders"].map((s) => bundle(`services/${s}/src/main.ts`, join(dist, `${s}.mjs`))),
    bundle(DEV_TOKEN_ENTRY, join(dist, "dev-token.mjs")),
  ]);
});

afterAll(() => {
  if (dist) rmSync(dist, { recursive: true, force: true });
});

/** Mints a token with the dev-token tool's bundle, as a developer (or the launcher) would. */
async function cliToken(env: Record<string, string>, sub: string, roles: string): Promise<string> {
  const { stdout } = await run(process.execPath, [join(dist, "dev-token.mjs"), "--sub", sub, "--roles", roles], {
    env: { ...process.env, ...env },
  });
  return stdout.trim();
}

/** A token with its signature changed: well-formed, refused. */
const forged = (token: string) => `${token.slice(0, -4)}${token.endsWith("AAAA") ? "BBBB" : "AAAA"}`;

/** Asserts that a process wrote only JSON log lines to stdout and no credential anywhere. */
function expectNoCredentials(name: string, output: ServiceProcess["output"], secrets: readonly string[]): void {
  expect(output.stdoutLines.length).toBeGreaterThan(0);
  for (const line of output.stdoutLines) {
    const entry = JSON.parse(line) as Record<string, unknown>;
    expect(entry).toMatchObject({ name, level: expect.any(Number), msg: expect.any(String) });
  }
  const everything = `${output.stdoutLines.join("\n")}\n${output.stderr}`;
  expect(everything).not.toMatch(JWT_SHAPE);
  for (const secret of secrets) expect(everything).not.toContain(secret);
}

interface Mode {
  name: string;
  env: Record<string, string>;
  /** Mints the tokens the mode's identity provider would issue. */
  token(sub: string, roles: string): Promise<string>;
  secrets: string[];
}

const productionSecret = randomBytes(48).toString("base64url");
const modes: Mode[] = [
  {
    name: "development (no configuration, the development secret)",
    env: { ...CLEAN, NODE_ENV: "development" },
    token: (sub, roles) => cliToken({ ...CLEAN, NODE_ENV: "development" }, sub, roles),
    secrets: [],
  },
  {
    name: "production (NODE_ENV=production, a 48-byte JWT_SECRET)",
    env: {
      ...CLEAN,
      NODE_ENV: "production",
      JWT_SECRET: productionSecret,
      PAGE_TOKEN_SECRET: randomBytes(32).toString("base64url"),
    },
    token: (sub, roles) =>
      mintDevToken({
        subject: sub,
        roles: roles.split(","),
        secret: productionSecret,
        issuer: "orderly-dev",
        audience: "orderly",
      }),
    secrets: [productionSecret],
  },
];

describe("the service bundles", () => {
  it("contain no code that mints tokens", () => {
    for (const service of ["users", "orders"]) {
      const code = readFileSync(join(dist, `${service}.mjs`), "utf8");
      expect(code, service).not.toContain("SignJWT");
      expect(code, service).not.toContain("dev-token");
    }
  });

  for (const mode of modes) {
    it(`print nothing but log lines and no credential in ${mode.name}`, async () => {
      const dataDir = tempDataDir();
      const serviceToken = await mode.token("svc-orders", "service");
      const tokenFile = join(dataDir, "svc-orders.token");
      writeFileSync(tokenFile, serviceToken, { mode: 0o600 });
      const users = await startServiceProcess(join(dist, "users.mjs"), {
        ...mode.env,
        USERS_ADDRESS: "127.0.0.1:0",
        DATA_DIR: dataDir,
      });
      const orders = await startServiceProcess(join(dist, "orders.mjs"), {
        ...mode.env,
        ORDERS_ADDRESS: "127.0.0.1:0",
        USERS_TARGET: users.address,
        DATA_DIR: dataDir,
        SERVICE_TOKEN_FILE: tokenFile,
      });
      const admin = await mode.token("dev-admin", "admin");
      // Signed with a key the service does not trust.
      const stranger = await mintDevToken({
        subject: "dev-admin",
        roles: ["admin"],
        secret: randomBytes(48).toString("base64url"),
        issuer: "orderly-dev",
        audience: "orderly",
      });
      try {
        const userClient = createUserClient({ address: users.address, token: admin });
        const ada = await userClient.create({ email: "ada@example.com" });
        const orderClient = createOrderClient({ address: orders.address, token: admin });
        await orderClient.create({
          userId: ada.id,
          items: [{ sku: "B", quantity: 1, unitPriceMinor: 1n }],
          currencyCode: "GBP",
          shippingAddress: address,
        });
        const refused = createUserClient({ address: users.address, token: forged(admin) });
        expect((await failureOf(refused.get(ada.id))).reason).toBe("TOKEN_INVALID");
        const other = createOrderClient({ address: orders.address, token: stranger });
        expect((await failureOf(other.list())).code).toBe(Code.UNAUTHENTICATED);
        for (const client of [userClient, orderClient, refused, other]) client.close();
      } finally {
        await orders.stop();
        await users.stop();
      }
      const secrets = [...mode.secrets, admin, forged(admin), stranger, serviceToken];
      expectNoCredentials("users", users.output, secrets);
      expectNoCredentials("orders", orders.output, secrets);
      // The calls were logged (so the absence of tokens above means something), including the refused ones.
      expect(
        users.logs.some((l) => l.method === "/orderly.user.v1.UserService/GetUser" && l.reason === "TOKEN_INVALID"),
      ).toBe(true);
      expect(
        users.logs.some((l) => l.method === "/orderly.user.v1.UserService/GetUser" && l.caller === "svc-orders"),
      ).toBe(true);
      expect(
        orders.logs.some((l) => l.method === "/orderly.order.v1.OrderService/CreateOrder" && l.code === "OK"),
      ).toBe(true);
    });
  }

  it("refuse to start in production without a page token secret of their own, naming the variable", async () => {
    const started = startServiceProcess(join(dist, "users.mjs"), {
      ...modes[1]!.env,
      PAGE_TOKEN_SECRET: "",
      USERS_ADDRESS: "127.0.0.1:0",
      DATA_DIR: tempDataDir(),
    });
    await expect(started).rejects.toThrow(/exited with 1 before listening.*PAGE_TOKEN_SECRET is not set/s);
  });

  it("refuse to start OrderService without SERVICE_TOKEN_FILE, naming the variable", async () => {
    const started = startServiceProcess(join(dist, "orders.mjs"), {
      ...CLEAN,
      NODE_ENV: "development",
      ORDERS_ADDRESS: "127.0.0.1:0",
      DATA_DIR: tempDataDir(),
    });
    await expect(started).rejects.toThrow(/exited with 1 before listening.*SERVICE_TOKEN_FILE: is not set/s);
  });
});

/** Two ports free right now on loopback (the launcher's services need to know each other's port in advance). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const server = createServer();
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

describe("the launcher (npm start)", () => {
  it("gives OrderService a development token through a private file and prints no credential", async () => {
    const [usersPort, ordersPort] = await freePorts(2);
    const dataDir = tempDataDir();
    const launcher = await startServiceProcess(
      "services/start.mjs",
      {
        ...CLEAN,
        NODE_ENV: "development",
        DATA_DIR: dataDir,
        USERS_ADDRESS: `127.0.0.1:${usersPort}`,
        ORDERS_ADDRESS: `127.0.0.1:${ordersPort}`,
        USERS_TARGET: `127.0.0.1:${usersPort}`,
      },
      { args: ["--dist", dist], listening: 2 },
    );
    try {
      const tokenFile = join(dataDir, "svc-orders.token");
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      const admin = await cliToken({ ...CLEAN, NODE_ENV: "development" }, "dev-admin", "admin");
      const users = createUserClient({ address: `127.0.0.1:${usersPort}`, token: admin });
      const orders = createOrderClient({ address: `127.0.0.1:${ordersPort}`, token: admin });
      const ada = await users.create({ email: "ada@example.com" }, { deadlineMs: 10_000 });
      // CreateOrder checks the user with the service token from the file.
      const order = await orders.create(
        {
          userId: ada.id,
          items: [{ sku: "B", quantity: 1, unitPriceMinor: 1n }],
          currencyCode: "GBP",
          shippingAddress: address,
        },
        { deadlineMs: 10_000 },
      );
      expect(order.userId).toBe(ada.id);
      users.close();
      orders.close();
      const everything = `${launcher.output.stdoutLines.join("\n")}\n${launcher.output.stderr}`;
      expect(everything).not.toMatch(JWT_SHAPE);
      expect(everything).not.toContain(readFileSync(tokenFile, "utf8").trim());
    } finally {
      expect(await launcher.stop()).toBe(0);
    }
  });

  it("refuses to mint OrderService's token in production", async () => {
    const result = await run(process.execPath, ["services/start.mjs", "--dist", dist, "orders"], {
      env: { ...process.env, ...CLEAN, NODE_ENV: "production", JWT_SECRET: productionSecret },
    }).catch((error: unknown) => error as { code: number; stdout: string; stderr: string });
    expect(result).toMatchObject({ code: 2, stdout: "" });
    expect((result as { stderr: string }).stderr).toMatch(/SERVICE_TOKEN_FILE/);
  });
});
