// Metrics as Prometheus scrapes them, from both services as their own processes with METRICS_ADDRESS set: the gRPC
// series (go-grpc-prometheus names) count the calls made and their codes, OrderService's check of a user shows on
// UserService as a GetUser, an open WatchOrders shows as an open watch, Node's process metrics are there, and on
// PostgreSQL the pool's connections are reported. Without METRICS_ADDRESS nothing listens.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, createOrderClient, createUserClient, type OrderClient, type UserClient } from "@orderly/clients";
import { failureOf, metricSample, testToken } from "@orderly/kit/testing";
import { describePostgres, dropSchema, freshSchema, pgTestUrl } from "@orderly/storage/testing";
import { startServiceProcess, tempDataDir, testAuthEnv, type ServiceProcess } from "./support/service-process.js";
import { markedOrder } from "../soak/lib/orders.js";

/** The metrics port a process logged ("metrics listening"). */
function metricsPort(service: ServiceProcess): number {
  const line = service.logs.find((entry) => entry.msg === "metrics listening");
  if (!line) throw new Error("the process logged no 'metrics listening' line");
  return line.port as number;
}

async function scrape(service: ServiceProcess): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${metricsPort(service)}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

const userService = { grpc_service: "orderly.user.v1.UserService", grpc_type: "unary" };
const orderService = { grpc_service: "orderly.order.v1.OrderService" };

describe("metrics of UserService and OrderService processes (SQLite)", () => {
  let users: ServiceProcess;
  let orders: ServiceProcess;
  let userAdmin: UserClient;
  let orderAdmin: OrderClient;

  beforeAll(async () => {
    const env = { ...(await testAuthEnv()), DATA_DIR: tempDataDir(), METRICS_ADDRESS: "127.0.0.1:0" };
    users = await startServiceProcess("services/users/src/main.ts", { ...env, USERS_ADDRESS: "127.0.0.1:0" });
    orders = await startServiceProcess("services/orders/src/main.ts", {
      ...env,
      ORDERS_ADDRESS: "127.0.0.1:0",
      USERS_TARGET: users.address,
    });
    const token = await testToken("adm_metrics", ["admin"]);
    userAdmin = createUserClient({ address: users.address, token });
    orderAdmin = createOrderClient({ address: orders.address, token });
  }, 60_000);

  afterAll(async () => {
    userAdmin?.close();
    orderAdmin?.close();
    await orders?.stop();
    await users?.stop();
  });

  it("count each call by method and code, the service-to-service call included, and open watches", async () => {
    const ada = await userAdmin.create({ email: "ada@example.com" });
    await userAdmin.get(ada.id);
    expect((await failureOf(userAdmin.get("usr_01J0000000000000000000000Z", { retry: false }))).code).toBe(
      Code.NOT_FOUND,
    );
    await orderAdmin.create(markedOrder(ada.id, "BOOK-1"));
    const watch = orderAdmin.watch({ sinceRevision: 0n });
    for await (const item of watch) if (item.kind === "sync") break;
    const watching = orderAdmin.watch({ sinceRevision: 0n });
    const iterator = watching[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ kind: "sync" });

    const usersText = await scrape(users);
    const getUser = { ...userService, grpc_method: "GetUser" };
    // Two from the test (one NOT_FOUND) and OrderService's check of the user, with its own service identity.
    expect(metricSample(usersText, "grpc_server_started_total", getUser)).toBe(3);
    expect(metricSample(usersText, "grpc_server_handled_total", { ...getUser, grpc_code: "OK" })).toBe(2);
    expect(metricSample(usersText, "grpc_server_handled_total", { ...getUser, grpc_code: "NotFound" })).toBe(1);
    expect(metricSample(usersText, "grpc_server_handling_seconds_count", getUser)).toBe(3);
    const createUser = { ...userService, grpc_method: "CreateUser" };
    expect(metricSample(usersText, "grpc_server_handled_total", { ...createUser, grpc_code: "OK" })).toBe(1);
    expect(metricSample(usersText, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(metricSample(usersText, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect(usersText).not.toContain("orderly_pg_pool_connections"); // SQLite: no pool

    const watchOrders = { ...orderService, grpc_type: "server_stream", grpc_method: "WatchOrders" };
    const cancelled = { ...watchOrders, grpc_code: "Canceled" };
    // The first watch ended when the test stopped reading it: CANCELLED, once the server has seen the cancellation.
    await expect.poll(async () => metricSample(await scrape(orders), "grpc_server_handled_total", cancelled)).toBe(1);
    const ordersText = await scrape(orders);
    const createOrder = { ...orderService, grpc_type: "unary", grpc_method: "CreateOrder" };
    expect(metricSample(ordersText, "grpc_server_handled_total", { ...createOrder, grpc_code: "OK" })).toBe(1);
    expect(metricSample(ordersText, "grpc_server_started_total", watchOrders)).toBe(2);
    expect(metricSample(ordersText, "orderly_watch_open_streams")).toBe(1);
    expect(metricSample(ordersText, "orderly_watch_queued_events")).toBe(0);
    // since_revision 0 replays nothing: each watch has sent its SYNC.
    expect(metricSample(ordersText, "grpc_server_msg_sent_total", watchOrders)).toBe(2);
    await iterator.return?.();
  });

  it("are not served without METRICS_ADDRESS", async () => {
    const plain = await startServiceProcess("services/users/src/main.ts", {
      ...(await testAuthEnv()),
      DATA_DIR: tempDataDir(),
      USERS_ADDRESS: "127.0.0.1:0",
    });
    await plain.stop();
    expect(plain.logs.some((entry) => entry.msg === "metrics listening")).toBe(false);
  });
});

describePostgres("metrics of a UserService process on PostgreSQL", () => {
  const url = pgTestUrl();
  const schema = freshSchema("metrics_users");
  let users: ServiceProcess;

  beforeAll(async () => {
    users = await startServiceProcess("services/users/src/main.ts", {
      ...(await testAuthEnv()),
      DATABASE_URL: url,
      USERS_DB_SCHEMA: schema,
      USERS_ADDRESS: "127.0.0.1:0",
      METRICS_ADDRESS: "127.0.0.1:0",
    });
  }, 60_000);

  afterAll(async () => {
    await users?.stop();
    await dropSchema(url, schema);
  });

  it("report the pool's connections: open, idle and waiting", async () => {
    const admin = createUserClient({ address: users.address, token: await testToken("adm_metrics", ["admin"]) });
    await admin.create({ email: "grace@example.com" });
    admin.close();
    const text = await scrape(users);
    const open = metricSample(text, "orderly_pg_pool_connections");
    expect(open).toBeGreaterThanOrEqual(1);
    expect(metricSample(text, "orderly_pg_pool_idle_connections")).toBeLessThanOrEqual(open!);
    expect(metricSample(text, "orderly_pg_pool_waiting_clients")).toBe(0);
  });
});
