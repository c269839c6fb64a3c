// The order client's idempotency key against a plain grpc-js server on 127.0.0.1:0: it is CreateOrder's request_id,
// made once per create() and reused by the client's own retries, and it is never the x-request-id of the log.
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { Order } from "@orderly/proto/orderly/order/v1/order";
import { OrderServiceService, type CreateOrderRequest } from "@orderly/proto/orderly/order/v1/order_service";
import { createOrderClient, type NewOrderInput } from "./order-client.js";

const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.forceShutdown()));

interface Seen {
  requestId: string;
  xRequestId: unknown;
}

/**
 * A server whose CreateOrder fails with UNAVAILABLE `failures` times per call, then answers; it records each attempt.
 */
async function serve(failures: number): Promise<{ address: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const failedFor = new Map<string, number>();
  const server = new Server();
  const impl: Record<string, unknown> = {};
  for (const key of Object.keys(OrderServiceService))
    impl[key] = (_call: unknown, cb: sendUnaryData<unknown>) => cb({ code: status.UNIMPLEMENTED });
  impl["createOrder"] = (call: ServerUnaryCall<CreateOrderRequest, unknown>, cb: sendUnaryData<unknown>) => {
    const requestId = call.request.requestId;
    seen.push({ requestId, xRequestId: call.metadata.get("x-request-id")[0] });
    const failed = failedFor.get(requestId) ?? 0;
    if (failed < failures) {
      failedFor.set(requestId, failed + 1);
      cb({ code: status.UNAVAILABLE, details: "try again" });
      return;
    }
    cb(null, { order: Order.fromPartial({ id: `ord_for_${requestId}` }) });
  };
  server.addService(OrderServiceService, impl as never);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  servers.push(server);
  return { address: `127.0.0.1:${port}`, seen };
}

const input: NewOrderInput = {
  userId: "usr_1",
  currencyCode: "GBP",
  items: [{ sku: "A", quantity: 1, unitPriceMinor: 1n }],
  shippingAddress: {},
};
const retry = { maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 20 };

describe("idempotency key", () => {
  it("is made once per create(): the client's own retries send the same request_id", async () => {
    const { address, seen } = await serve(2);
    const orders = createOrderClient({ address, retry });
    const order = await orders.create(input);
    orders.close();
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.requestId)).size).toBe(1);
    expect(seen[0]!.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(order.id).toBe(`ord_for_${seen[0]!.requestId}`);
  });

  it("is fresh for every create() call, even when both share a requestId (which only goes to x-request-id)", async () => {
    const { address, seen } = await serve(0);
    const orders = createOrderClient({ address, retry });
    await orders.create(input, { requestId: "trace-1" });
    await orders.create(input, { requestId: "trace-1" });
    orders.close();
    expect(seen.map((s) => s.xRequestId)).toEqual(["trace-1", "trace-1"]);
    expect(seen[0]!.requestId).not.toBe(seen[1]!.requestId);
    expect(seen.map((s) => s.requestId)).not.toContain("trace-1");
  });

  it("is the caller's own key when given", async () => {
    const { address, seen } = await serve(0);
    const orders = createOrderClient({ address, retry });
    const key = crypto.randomUUID();
    await orders.create(input, { idempotencyKey: key });
    orders.close();
    expect(seen.map((s) => s.requestId)).toEqual([key]);
  });
});
