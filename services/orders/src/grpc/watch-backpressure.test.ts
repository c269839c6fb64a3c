// A watcher that stops reading, over real gRPC: HTTP/2 flow control stops the server's writes, the watch's bounded
// queue fills, and the stream ends with RESOURCE_EXHAUSTED / WATCH_TOO_SLOW (with RetryInfo) instead of the server
// buffering without bound. The client can then resume from its last revision and miss nothing.
import { credentials, Metadata, type ClientReadableStream } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, OrderlyError } from "@orderly/clients";
import { createPageTokens } from "@orderly/kit";
import { startTestServer, testToken, type TestServer } from "@orderly/kit/testing";
import {
  OrderServiceClient,
  OrderServiceService,
  type WatchOrdersResponse,
} from "@orderly/proto/orderly/order/v1/order_service";
import { EventFeed } from "../domain/event-feed.js";
import { Orders } from "../domain/order-service.js";
import type { OrderStore } from "../domain/order-store.js";
import { openSqliteOrderStore } from "../store/sqlite-order-store.js";
import { orderHandlers } from "./order-handlers.js";

const QUEUE_LIMIT = 100;
const address = { recipient: "R", line1: "L", line2: "", city: "C", region: "", postalCode: "P", countryCode: "GB" };
const everyone = { subject: "adm_1", ownOnly: false };

let store: OrderStore;
let feed: EventFeed;
let orders: Orders;
let server: TestServer;
let client: OrderServiceClient;
let metadata: Metadata;

beforeAll(async () => {
  store = await openSqliteOrderStore({ path: ":memory:" });
  feed = new EventFeed({ store, batchSize: QUEUE_LIMIT });
  await feed.start();
  orders = new Orders({ store, users: { exists: async () => true }, onCommitted: () => feed.notify() });
  server = await startTestServer((s) =>
    s.addService(
      OrderServiceService,
      orderHandlers(orders, { store, feed, queueLimit: QUEUE_LIMIT }, createPageTokens("t")),
    ),
  );
  client = new OrderServiceClient(server.address, credentials.createInsecure());
  metadata = new Metadata();
  metadata.set("authorization", `Bearer ${await testToken("adm_1", ["admin"])}`);
});

afterAll(async () => {
  client.close();
  await server.close();
  await feed.stop();
  await store.close();
});

/** The status of every WatchOrders call the server logged as finished. */
function watchEnds(): { code: unknown; reason: unknown }[] {
  return server.logs
    .filter((line) => line["msg"] === "call" && String(line["method"]).endsWith("/WatchOrders"))
    .map((line) => ({ code: line["code"], reason: line["reason"] }));
}

async function writeOrders(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await orders.create(
      {
        requestId: crypto.randomUUID(),
        order: {
          userId: "usr_1",
          items: [{ sku: `S${i}`, quantity: 1, unitPriceMinor: 1n }],
          currencyCode: "GBP",
          shippingAddress: address,
        },
      },
      everyone,
    );
  }
}

describe("a watcher that stops reading", () => {
  it("is ended with RESOURCE_EXHAUSTED WATCH_TOO_SLOW, the server's queue stays bounded, and a resume misses nothing", async () => {
    const stream: ClientReadableStream<WatchOrdersResponse> = client.watchOrders(
      { orderId: "", userId: "", sinceRevision: 0n },
      metadata,
    );
    const received: WatchOrdersResponse[] = [];
    const ended = new Promise<OrderlyError>((resolve) => {
      stream.on("error", (error) => resolve(OrderlyError.from(error)));
      stream.on("end", () => resolve(new OrderlyError(Code.OK, "ended")));
    });
    await new Promise<void>((resolve) =>
      stream.once("data", (first: WatchOrdersResponse) => {
        received.push(first);
        resolve();
      }),
    );
    stream.pause(); // stop reading: flow control will push back on the server
    const subscribed = feed.subscriberCount;
    expect(subscribed).toBe(1);

    // Far more events than the queue plus the HTTP/2 windows can hold.
    await writeOrders(3_000);
    stream.on("data", (message: WatchOrdersResponse) => received.push(message));
    stream.resume();
    const error = await ended;

    expect([error.code, error.reason]).toEqual([Code.RESOURCE_EXHAUSTED, "WATCH_TOO_SLOW"]);
    expect(error.details.retryInfo?.retryDelayMs).toBeGreaterThan(0);
    expect(feed.subscriberCount).toBe(0); // the slow watcher's queue is gone, not growing
    const events = received.filter((m) => m.kind?.$case === "event");
    expect(events.length).toBeLessThan(3_000);

    // Resuming from the last revision received replays exactly the rest.
    const last =
      events.length > 0 && events.at(-1)!.kind!.$case === "event"
        ? (events.at(-1)!.kind as { value: { revision: bigint } }).value.revision
        : 0n;
    const resumed = client.watchOrders({ orderId: "", userId: "", sinceRevision: last }, metadata);
    const revisions: bigint[] = [];
    for await (const message of resumed as AsyncIterable<WatchOrdersResponse>) {
      if (message.kind?.$case === "event") revisions.push(message.kind.value.revision);
      if (message.kind?.$case === "sync") break;
    }
    const endsBeforeCancel = watchEnds().length;
    resumed.cancel();
    // The server logs the cancelled call once it has seen the cancel: wait, so the next test counts only its own.
    const logged = Date.now() + 5_000;
    while (watchEnds().length === endsBeforeCancel && Date.now() < logged) await new Promise((r) => setTimeout(r, 10));
    expect(revisions[0]).toBe(last + 1n);
    expect(revisions.at(-1)).toBe(3_000n);
    expect(revisions.length).toBe(Number(3_000n - last));
  });

  it("is ended by the server the moment its queue overflows, while it is still not reading", async () => {
    const stream: ClientReadableStream<WatchOrdersResponse> = client.watchOrders(
      { orderId: "", userId: "", sinceRevision: 0n },
      metadata,
    );
    stream.on("error", () => {});
    await new Promise<void>((resolve) => stream.once("data", () => resolve()));
    stream.pause(); // and never resumed
    const endedBefore = watchEnds().length;
    await writeOrders(3_000);
    // The server's own log line for the call: its handler finished with WATCH_TOO_SLOW, with the reader still paused.
    const deadline = Date.now() + 10_000;
    while (watchEnds().length === endedBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(watchEnds().slice(endedBefore)).toEqual([{ code: "RESOURCE_EXHAUSTED", reason: "WATCH_TOO_SLOW" }]);
    expect(feed.subscriberCount).toBe(0);
    stream.cancel();
  });
});
