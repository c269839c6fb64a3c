// Both services as their own processes, as `npm start` runs them: the bundles `npm run build` makes, on plain node.
// OrderService checks users by calling UserService over the network with its own service identity. With UserService
// stopped, CreateOrder fails fast with UNAVAILABLE and writes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Code,
  createOrderClient,
  createUserClient,
  OrderState,
  type OrderClient,
  type UserClient,
} from "@orderly/clients";
import { failureOf, testToken } from "@orderly/kit/testing";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { bundle } from "../services/build.js";
import { startServiceProcess, tempDataDir, testAuthEnv, type ServiceProcess } from "./support/service-process.js";

let dist: string;
let users: ServiceProcess;
let orders: ServiceProcess;
let userAdmin: UserClient;
let orderAdmin: OrderClient;
const dataDir = tempDataDir();
const address = {
  recipient: "Grace Hopper",
  line1: "1 Navy Way",
  city: "Arlington",
  postalCode: "22201",
  countryCode: "US",
};

beforeAll(async () => {
  // Inside the repository, so the bundles' external packages resolve from node_modules as they do for npm start.
  mkdirSync("dist", { recursive: true });
  dist = mkdtempSync(join("dist", "e2e-"));
  await Promise.all(["users", "orders"].map((s) => bundle(`services/${s}/src/main.ts`, join(dist, `${s}.mjs`))));
  users = await startServiceProcess(join(dist, "users.mjs"), {
    ...(await testAuthEnv()),
    USERS_ADDRESS: "127.0.0.1:0",
    DATA_DIR: dataDir,
  });
  orders = await startServiceProcess(join(dist, "orders.mjs"), {
    ...(await testAuthEnv()),
    ORDERS_ADDRESS: "127.0.0.1:0",
    USERS_TARGET: users.address,
    DATA_DIR: dataDir,
  });
  userAdmin = createUserClient({ address: users.address, token: await testToken("adm_e2e", ["admin"]) });
  orderAdmin = createOrderClient({ address: orders.address, token: await testToken("adm_e2e", ["admin"]) });
});

afterAll(async () => {
  userAdmin?.close();
  orderAdmin?.close();
  await orders?.stop();
  await users?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

describe("OrderService and UserService as processes", () => {
  it("takes an order through its whole life, audited", async () => {
    const grace = await userAdmin.create({ email: "grace@example.com" });
    const mine = createOrderClient({ address: orders.address, token: await testToken(grace.id, ["user"]) });
    const order = await mine.create({
      userId: grace.id,
      items: [{ sku: "COBOL-1", quantity: 2, unitPriceMinor: 4999n }],
      currencyCode: "USD",
      shippingAddress: address,
    });
    expect(order.totalMinor).toBe(9998n);
    await orderAdmin.confirm(order.id);
    await orderAdmin.ship(order.id);
    const delivered = await orderAdmin.deliver(order.id);
    expect(delivered.state).toBe(OrderState.ORDER_STATE_DELIVERED);
    const { events } = await mine.getWithEvents(order.id);
    expect(events.map((e) => OrderState[e.toState])).toEqual([
      "ORDER_STATE_PENDING",
      "ORDER_STATE_CONFIRMED",
      "ORDER_STATE_SHIPPED",
      "ORDER_STATE_DELIVERED",
    ]);
    expect(events.map((e) => e.actor)).toEqual([grace.id, "adm_e2e", "adm_e2e", "adm_e2e"]);
    mine.close();
  });

  it("with UserService stopped, CreateOrder fails with UNAVAILABLE within its deadline and writes nothing", async () => {
    const ada = await userAdmin.create({ email: "ada@example.com" });
    const before = (await orderAdmin.list({ pageSize: 100 })).items.length;
    await users.stop();
    const started = Date.now();
    const error = await failureOf(
      orderAdmin.create(
        {
          userId: ada.id,
          items: [{ sku: "X", quantity: 1, unitPriceMinor: 1n }],
          currencyCode: "USD",
          shippingAddress: address,
        },
        { deadlineMs: 3_000 },
      ),
    );
    const elapsed = Date.now() - started;
    expect([error.code, error.reason]).toEqual([Code.UNAVAILABLE, "USER_SERVICE_UNAVAILABLE"]);
    expect(error.details.retryInfo?.retryDelayMs).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(3_000);
    expect((await orderAdmin.list({ pageSize: 100 })).items.length).toBe(before);
  });
});
