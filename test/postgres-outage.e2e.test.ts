// A PostgreSQL outage, end to end: both services run as processes whose DATABASE_URL goes through a TCP proxy the
// test controls. While the proxy is down, calls answer UNAVAILABLE with RetryInfo (STORE_UNAVAILABLE), never INTERNAL,
// and the processes stay up; when it is back they serve again by themselves, without a restart.
import { afterAll, beforeAll, expect, it } from "vitest";
import { Code, createOrderClient, createUserClient, type OrderClient, type UserClient } from "@orderly/clients";
import { failureOf, testToken } from "@orderly/kit/testing";
import {
  describePostgres,
  dropSchema,
  freshSchema,
  pgTestUrl,
  startOutageProxy,
  type OutageProxy,
} from "@orderly/storage/testing";
import { startServiceProcess, tempDataDir, testAuthEnv, type ServiceProcess } from "./support/service-process.js";

const url = pgTestUrl();
const usersSchema = freshSchema("outage_users");
const ordersSchema = freshSchema("outage_orders");
const address = {
  recipient: "Barbara Liskov",
  line1: "32 Vassar St",
  city: "Cambridge",
  postalCode: "02139",
  countryCode: "US",
};

describePostgres("PostgreSQL outage and recovery", () => {
  let proxy: OutageProxy;
  let users: ServiceProcess;
  let orders: ServiceProcess;
  let userClient: UserClient;
  let orderClient: OrderClient;
  let userId: string;

  beforeAll(async () => {
    proxy = await startOutageProxy();
    const common = { ...(await testAuthEnv()), DATABASE_URL: proxy.urlFor(url), DATA_DIR: tempDataDir() };
    users = await startServiceProcess("services/users/src/main.ts", {
      ...common,
      USERS_DB_SCHEMA: usersSchema,
      USERS_ADDRESS: "127.0.0.1:0",
    });
    orders = await startServiceProcess("services/orders/src/main.ts", {
      ...common,
      ORDERS_DB_SCHEMA: ordersSchema,
      ORDERS_ADDRESS: "127.0.0.1:0",
      USERS_TARGET: users.address,
    });
    const token = await testToken("adm_outage", ["admin"]);
    // No client retries here: the test wants to see each answer the server gives.
    userClient = createUserClient({ address: users.address, token, retry: false });
    orderClient = createOrderClient({ address: orders.address, token, retry: false });
    userId = (await userClient.create({ email: "barbara@example.com" })).id;
  }, 60_000);

  afterAll(async () => {
    userClient?.close();
    orderClient?.close();
    await orders?.stop();
    await users?.stop();
    await proxy?.close();
    await dropSchema(url, usersSchema);
    await dropSchema(url, ordersSchema);
  });

  it("answers UNAVAILABLE with RetryInfo while the database is unreachable, then recovers without a restart", async () => {
    const newOrder = {
      userId,
      items: [{ sku: "CLU-1", quantity: 1, unitPriceMinor: 100n }],
      currencyCode: "USD",
      shippingAddress: address,
    };
    const before = await orderClient.create(newOrder);

    await proxy.down();
    const calls = [
      () => userClient.get(userId),
      () => orderClient.get(before.id),
      () => orderClient.create(newOrder),
      () => userClient.create({ email: "x@example.com" }),
    ];
    for (const call of calls) {
      const error = await failureOf(call());
      expect([error.code, error.reason]).toEqual([Code.UNAVAILABLE, "STORE_UNAVAILABLE"]);
      expect(error.details.retryInfo?.retryDelayMs).toBeGreaterThan(0);
    }
    expect(users.child.exitCode).toBeNull();
    expect(orders.child.exitCode).toBeNull();

    await proxy.up();
    const deadline = Date.now() + 10_000;
    let recovered = false;
    while (!recovered && Date.now() < deadline) {
      try {
        await userClient.get(userId);
        await orderClient.get(before.id);
        recovered = true;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(recovered).toBe(true);
    const after = await orderClient.create(newOrder);
    expect(after.userId).toBe(userId);
    expect(users.logs.some((l) => l.code === "INTERNAL")).toBe(false);
    expect(orders.logs.some((l) => l.code === "INTERNAL")).toBe(false);
  });
});
