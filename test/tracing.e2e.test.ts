// Tracing across two real processes: UserService and OrderService export OTLP/HTTP (OTEL_TRACES_EXPORTER=otlp) to a
// collector this test runs, and a CreateOrder, with the GetUser OrderService makes to check its user, arrives as one
// trace: OrderService's SERVER span the parent of UserService's, the typed client having carried traceparent between
// them. Each service's call log line carries its span's trace and span ids. Spans still buffered are exported when a
// service stops (SIGTERM).
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOrderClient, createUserClient } from "@orderly/clients";
import { testToken } from "@orderly/kit/testing";
import { startServiceProcess, tempDataDir, testAuthEnv, type ServiceProcess } from "./support/service-process.js";
import { markedOrder } from "../soak/lib/orders.js";

/** A span as OTLP/JSON carries it (ids in hex), with its resource's service.name. */
interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { intValue?: string | number; stringValue?: string } }[];
}

interface OtlpRequest {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: Omit<ExportedSpan, "service">[] }[];
  }[];
}

const spans: ExportedSpan[] = [];
let collector: Server;
let users: ServiceProcess;
let orders: ServiceProcess;

beforeAll(async () => {
  collector = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    request.on("end", () => {
      if (request.url === "/v1/traces") {
        for (const { resource, scopeSpans } of (JSON.parse(body) as OtlpRequest).resourceSpans) {
          const service = resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "";
          for (const scope of scopeSpans) for (const span of scope.spans) spans.push({ ...span, service });
        }
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
  const { port } = collector.address() as { port: number };
  const env = {
    ...(await testAuthEnv()),
    DATA_DIR: tempDataDir(),
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
  };
  users = await startServiceProcess("services/users/src/main.ts", { ...env, USERS_ADDRESS: "127.0.0.1:0" });
  orders = await startServiceProcess("services/orders/src/main.ts", {
    ...env,
    ORDERS_ADDRESS: "127.0.0.1:0",
    USERS_TARGET: users.address,
  });
}, 60_000);

afterAll(async () => {
  await orders?.stop();
  await users?.stop();
  collector?.close();
});

describe("a CreateOrder through OrderService and UserService", () => {
  it("is one trace: UserService's GetUser span is the child of OrderService's CreateOrder span", async () => {
    const token = await testToken("adm_trace", ["admin"]);
    const userAdmin = createUserClient({ address: users.address, token });
    const orderAdmin = createOrderClient({ address: orders.address, token });
    const ada = await userAdmin.create({ email: "ada@example.com" });
    const order = await orderAdmin.create(markedOrder(ada.id, "BOOK-1"));
    userAdmin.close();
    orderAdmin.close();
    // SIGTERM: each service exports what its batch still holds before it exits.
    expect(await orders.stop()).toBe(0);
    expect(await users.stop()).toBe(0);

    const createOrder = spans.filter((s) => s.name === "orderly.order.v1.OrderService/CreateOrder");
    expect(createOrder).toHaveLength(1);
    const parent = createOrder[0]!;
    expect(parent.service).toBe("orders");
    expect(parent.parentSpanId ?? "").toBe(""); // the test sent no traceparent: the trace starts at OrderService
    const children = spans.filter((s) => s.traceId === parent.traceId && s.spanId !== parent.spanId);
    expect(children.map((s) => [s.service, s.name, s.parentSpanId])).toEqual([
      ["users", "orderly.user.v1.UserService/GetUser", parent.spanId],
    ]);
    const child = children[0]!;
    expect(child.kind).toBe(2); // SPAN_KIND_SERVER
    const code = child.attributes.find((a) => a.key === "rpc.grpc.status_code")?.value.intValue;
    expect(Number(code)).toBe(0);
    // The user's creation was a trace of its own.
    const createUser = spans.find((s) => s.name === "orderly.user.v1.UserService/CreateUser");
    expect(createUser?.traceId).not.toBe(parent.traceId);

    const orderLine = orders.logs.find(
      (l) => l.msg === "call" && l.method === "/orderly.order.v1.OrderService/CreateOrder",
    );
    expect(orderLine).toMatchObject({ traceId: parent.traceId, spanId: parent.spanId, code: "OK" });
    const userLine = users.logs.find((l) => l.msg === "call" && l.caller === "svc-orders");
    expect(userLine).toMatchObject({ traceId: parent.traceId, spanId: child.spanId, code: "OK" });
    expect(order.userId).toBe(ada.id);
  });
});
