// OrderService on the wire in one process: the real handlers, domain, SQLite store and watch behind the kit's chain,
// checking users through a real UserService server over gRPC, all on 127.0.0.1:0, called through the typed clients.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Code,
  createOrderClient,
  createUserClient,
  OrderState,
  type NewOrderInput,
  type OrderClient,
  type UserClient,
  type WatchItem,
} from "@orderly/clients";
import { createPageTokens } from "@orderly/kit";
import { failureOf, startTestServer, testToken, type TestServer } from "@orderly/kit/testing";
import { OrderServiceService } from "@orderly/proto/orderly/order/v1/order_service";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import { openSqliteUserStore, userHandlers, Users, type UserStore } from "@orderly/users";
import { EventFeed } from "../domain/event-feed.js";
import { Orders } from "../domain/order-service.js";
import type { OrderStore } from "../domain/order-store.js";
import { openSqliteOrderStore } from "../store/sqlite-order-store.js";
import { orderHandlers } from "./order-handlers.js";
import { grpcUserDirectory } from "./user-directory.js";

let userServer: TestServer;
let orderServer: TestServer;
let userStore: UserStore;
let orderStore: OrderStore;
let feed: EventFeed;
let serviceUsers: UserClient;
/** The deadline each GetUser reaching UserService had. */
const userCheckDeadlines: (Date | undefined)[] = [];
let admin: OrderClient;
let support: OrderClient;
let alice: { id: string; orders: OrderClient };
let bob: { id: string; orders: OrderClient };

const address = {
  recipient: "Ada Lovelace",
  line1: "12 St James's Square",
  city: "London",
  postalCode: "SW1Y 4JH",
  countryCode: "GB",
};
const newOrder = (userId: string, quantity = 1): NewOrderInput => ({
  userId,
  items: [{ sku: "BOOK-1", quantity, unitPriceMinor: 1250n }],
  currencyCode: "GBP",
  shippingAddress: address,
});

beforeAll(async () => {
  userStore = await openSqliteUserStore({ path: ":memory:" });
  const users = userHandlers(new Users({ store: userStore }), createPageTokens("t"));
  userServer = await startTestServer((s) =>
    s.addService(UserServiceService, {
      ...users,
      getUser(request, ctx) {
        userCheckDeadlines.push(ctx.deadline);
        return users.getUser(request, ctx);
      },
    }),
  );
  orderStore = await openSqliteOrderStore({ path: ":memory:" });
  feed = new EventFeed({ store: orderStore });
  await feed.start();
  // As main.ts wires it: CreateOrder passes its deadline and signal on itself, no call scope.
  serviceUsers = createUserClient({
    address: userServer.address,
    tokenProvider: () => testToken("svc-orders", ["service"]),
    inheritCallScope: false,
  });
  const orders = new Orders({
    store: orderStore,
    users: grpcUserDirectory(serviceUsers),
    onCommitted: () => feed.notify(),
  });
  orderServer = await startTestServer((s) =>
    s.addService(
      OrderServiceService,
      orderHandlers(orders, { store: orderStore, feed, heartbeatMs: 200 }, createPageTokens("t")),
    ),
  );
  const userAdmin = createUserClient({ address: userServer.address, token: await testToken("adm_1", ["admin"]) });
  const a = await userAdmin.create({ email: "alice@example.com" });
  const b = await userAdmin.create({ email: "bob@example.com" });
  userAdmin.close();
  const client = async (sub: string, roles: string[]) =>
    createOrderClient({ address: orderServer.address, token: await testToken(sub, roles) });
  admin = await client("adm_1", ["admin"]);
  support = await client("sup_1", ["support"]);
  alice = { id: a.id, orders: await client(a.id, ["user"]) };
  bob = { id: b.id, orders: await client(b.id, ["user"]) };
});

afterAll(async () => {
  for (const c of [admin, support, alice.orders, bob.orders, serviceUsers]) c.close();
  await orderServer.close();
  await userServer.close();
  await feed.stop();
  await orderStore.close();
  await userStore.close();
});

describe("CreateOrder", () => {
  it("creates a PENDING order with a server-computed exact total, after checking the user over gRPC", async () => {
    const order = await alice.orders.create({
      ...newOrder(alice.id, 3),
      items: [
        { sku: "A", quantity: 3, unitPriceMinor: 1999n },
        { sku: "B", quantity: 1, unitPriceMinor: 1n },
      ],
    });
    expect(order.id).toMatch(/^ord_/);
    expect(order.totalMinor).toBe(5998n);
    expect(order.state).toBe(OrderState.ORDER_STATE_PENDING);
  });

  it("gives the user check CreateOrder's own deadline, not the client's 10 s default", async () => {
    userCheckDeadlines.length = 0;
    const deadline = new Date(Date.now() + 3_000);
    await alice.orders.create(newOrder(alice.id), { deadline });
    expect(userCheckDeadlines).toHaveLength(1);
    // grpc-timeout travels as a duration: the server's deadline is its arrival plus what was left, never later by more
    // than the hop's time.
    expect(userCheckDeadlines[0]!.getTime()).toBeLessThanOrEqual(deadline.getTime() + 100);
    expect(userCheckDeadlines[0]!.getTime()).toBeGreaterThan(deadline.getTime() - 1_000);
  });

  it("answers 50 concurrent identical requests with one order, 50 times the same answer", async () => {
    const idempotencyKey = crypto.randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => alice.orders.create(newOrder(alice.id, 2), { idempotencyKey })),
    );
    expect(new Set(answers.map((o) => o.id)).size).toBe(1);
    expect(
      new Set(answers.map((o) => JSON.stringify(o, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))))
        .size,
    ).toBe(1);
    const events = [];
    for await (const event of admin.events(answers[0]!.id)) events.push(event);
    expect(events).toHaveLength(1);
    const reused = await failureOf(alice.orders.create(newOrder(alice.id, 3), { idempotencyKey }));
    expect([reused.code, reused.reason]).toEqual([Code.ALREADY_EXISTS, "REQUEST_ID_REUSED"]);
  });

  it("refuses an unknown user with NOT_FOUND USER_NOT_FOUND and writes nothing", async () => {
    const before = (await admin.list({ pageSize: 100 })).items.length;
    const error = await failureOf(admin.create(newOrder("usr_00000000000000000000000000")));
    expect([error.code, error.reason]).toEqual([Code.NOT_FOUND, "USER_NOT_FOUND"]);
    expect((await admin.list({ pageSize: 100 })).items.length).toBe(before);
  });

  it("reports every broken rule at once", async () => {
    const error = await failureOf(
      admin.create({
        userId: "",
        items: [{ sku: "", quantity: 0, unitPriceMinor: -1n }],
        currencyCode: "XXX",
        shippingAddress: {},
      }),
    );
    expect(error.code).toBe(Code.INVALID_ARGUMENT);
    const fields = error.details.badRequest!.fieldViolations.map((v) => v.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        "order.user_id",
        "order.items[0].sku",
        "order.items[0].quantity",
        "order.items[0].unit_price_minor",
        "order.currency_code",
      ]),
    );
    expect(fields.some((f) => f.startsWith("order.shipping_address"))).toBe(true);
  });

  it("rejects control characters in text fields", async () => {
    const error = await failureOf(
      admin.create({
        ...newOrder(alice.id),
        items: [{ sku: "A\u0000", quantity: 1, unitPriceMinor: 1n }],
        shippingAddress: { ...address, city: "Lon\ndon" },
      }),
    );
    expect(error.code).toBe(Code.INVALID_ARGUMENT);
    expect(error.details.badRequest!.fieldViolations.map((v) => v.field).sort()).toEqual([
      "order.items[0].sku",
      "order.shipping_address.city",
    ]);
  });

  it("lets a user create orders only for themselves", async () => {
    expect((await failureOf(alice.orders.create(newOrder(bob.id)))).code).toBe(Code.PERMISSION_DENIED);
    expect((await failureOf(support.create(newOrder(bob.id)))).code).toBe(Code.PERMISSION_DENIED);
  });
});

describe("the state machine on the wire: every state x every transition", () => {
  type Move = "confirm" | "ship" | "deliver" | "cancel";
  const pathTo: Record<string, Move[]> = {
    PENDING: [],
    CONFIRMED: ["confirm"],
    SHIPPED: ["confirm", "ship"],
    DELIVERED: ["confirm", "ship", "deliver"],
    CANCELLED: ["cancel"],
  };
  const allowed: Record<string, Partial<Record<Move, string>>> = {
    PENDING: { confirm: "CONFIRMED", cancel: "CANCELLED" },
    CONFIRMED: { ship: "SHIPPED", cancel: "CANCELLED" },
    SHIPPED: { deliver: "DELIVERED" },
    DELIVERED: {},
    CANCELLED: { cancel: "CANCELLED" },
  };
  for (const [state, moves] of Object.entries(pathTo)) {
    for (const move of ["confirm", "ship", "deliver", "cancel"] as Move[]) {
      const to = allowed[state]![move];
      it(`${move} from ${state}: ${to ? `-> ${to}` : "FAILED_PRECONDITION"}`, async () => {
        let order = await admin.create(newOrder(alice.id));
        for (const step of moves) order = await admin[step](order.id);
        const eventsBefore = (await admin.getWithEvents(order.id)).events.length;
        if (to) {
          const after = await admin[move](order.id, { reason: "test" });
          expect(OrderState[after.state]).toBe(`ORDER_STATE_${to}`);
          const events = (await admin.getWithEvents(order.id)).events;
          const changed = !(state === "CANCELLED" && move === "cancel");
          expect(events.length).toBe(eventsBefore + (changed ? 1 : 0));
          if (changed)
            expect(events.at(-1)).toMatchObject({
              actor: "adm_1",
              fromState: OrderState[`ORDER_STATE_${state}` as keyof typeof OrderState],
              toState: after.state,
            });
        } else {
          const error = await failureOf(admin[move](order.id));
          expect([error.code, error.reason]).toEqual([Code.FAILED_PRECONDITION, "INVALID_STATE_TRANSITION"]);
          expect(error.details.preconditionFailure?.violations[0]).toMatchObject({ type: "STATE", subject: order.id });
          expect(error.details.preconditionFailure?.violations[0]?.description).toContain(state);
          expect((await admin.getWithEvents(order.id)).events.length).toBe(eventsBefore);
        }
      });
    }
  }

  it("allows UpdateOrder only while PENDING, with etags", async () => {
    const order = await admin.create(newOrder(alice.id));
    const updated = await admin.update(
      { id: order.id, items: [{ sku: "NEW", quantity: 4, unitPriceMinor: 100n }] },
      ["items"],
      { etag: order.etag },
    );
    expect(updated.totalMinor).toBe(400n);
    expect((await failureOf(admin.update({ id: order.id, items: [] }, ["items"], { etag: order.etag }))).code).toBe(
      Code.ABORTED,
    );
    await admin.confirm(order.id);
    const late = await failureOf(
      admin.update({ id: order.id, shippingAddress: { city: "Paris" } }, ["shipping_address.city"]),
    );
    expect(late.code).toBe(Code.FAILED_PRECONDITION);
  });
});

describe("authorization", () => {
  it("hides another user's orders: get/cancel NOT_FOUND, list and watch empty", async () => {
    const bobs = await bob.orders.create(newOrder(bob.id));
    for (const call of [
      () => alice.orders.get(bobs.id),
      () => alice.orders.cancel(bobs.id),
      () => alice.orders.getWithEvents(bobs.id),
    ]) {
      const error = await failureOf(call());
      expect([error.code, error.reason]).toEqual([Code.NOT_FOUND, "ORDER_NOT_FOUND"]);
    }
    expect((await alice.orders.list({ filter: { userId: bob.id } })).items).toEqual([]);
    for await (const order of alice.orders.listAll()) expect(order.userId).toBe(alice.id);
    const controller = new AbortController();
    const seen: WatchItem[] = [];
    const watching = (async () => {
      for await (const item of alice.orders.watch({
        userId: bob.id,
        sinceRevision: 1n,
        signal: controller.signal,
        reconnect: false,
      }))
        seen.push(item);
    })().catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    await bob.orders.cancel(bobs.id);
    await new Promise((r) => setTimeout(r, 150));
    controller.abort();
    await watching;
    expect(seen.filter((i) => i.kind === "event")).toEqual([]);
    expect(seen.some((i) => i.kind === "sync")).toBe(true);
  });

  it("lets support read, cancel and confirm anyone's orders, but not create them; admin can do all", async () => {
    const order = await alice.orders.create(newOrder(alice.id));
    expect((await support.get(order.id)).id).toBe(order.id);
    expect((await support.confirm(order.id)).state).toBe(OrderState.ORDER_STATE_CONFIRMED);
    expect((await support.cancel(order.id, { reason: "customer called" })).state).toBe(
      OrderState.ORDER_STATE_CANCELLED,
    );
    expect((await failureOf(alice.orders.confirm(order.id))).code).toBe(Code.PERMISSION_DENIED);
  });
});

describe("WatchOrders", () => {
  it("replays, syncs, goes live; a client that reconnects with its last revision gets exactly what it missed", async () => {
    const first = await admin.create(newOrder(alice.id));
    const start = (await admin.getWithEvents(first.id)).events[0]!.revision;

    // Read the replay and some live events, then disconnect.
    const seenFirst: bigint[] = [];
    const watch1 = admin.watch({ sinceRevision: start - 1n, reconnect: false });
    const live = (async () => {
      for await (const item of watch1) {
        if (item.kind === "event") seenFirst.push(item.event.revision);
        if (seenFirst.length === 3) break;
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    await admin.confirm(first.id);
    await admin.ship(first.id);
    await live;
    expect(seenFirst).toEqual([start, start + 1n, start + 2n]);

    // While disconnected, more changes happen.
    await admin.deliver(first.id);
    const second = await admin.create(newOrder(bob.id));
    await admin.cancel(second.id);

    // Reconnect from the last revision seen: exactly the missed events, in order, no duplicates, then sync.
    const items: WatchItem[] = [];
    for await (const item of admin.watch({ sinceRevision: watch1.lastRevision, reconnect: false })) {
      items.push(item);
      if (item.kind === "sync") break;
    }
    const replayed = items.flatMap((i) =>
      i.kind === "event" ? [[i.event.revision, i.event.type, i.event.orderId]] : [],
    );
    expect(replayed.map((r) => r[0])).toEqual([start + 3n, start + 4n, start + 5n]);
    expect(replayed.map((r) => r[2])).toEqual([first.id, second.id, second.id]);
    expect(items.at(-1)).toEqual({ kind: "sync", headRevision: start + 5n });
  });

  it("sends heartbeats with the head revision while idle", async () => {
    const items: WatchItem[] = [];
    for await (const item of admin.watch({ reconnect: false })) {
      items.push(item);
      if (item.kind === "heartbeat") break;
    }
    expect(items[0]?.kind).toBe("sync");
    expect(items.at(-1)?.kind).toBe("heartbeat");
  });

  it("answers a revision ahead of the log with OUT_OF_RANGE", async () => {
    const stream = admin.watch({ sinceRevision: 1_000_000n, reconnect: false });
    const error = await failureOf(
      (async () => {
        for await (const _ of stream) break;
      })(),
    );
    expect([error.code, error.reason]).toEqual([Code.OUT_OF_RANGE, "REVISION_AHEAD"]);
  });
});
