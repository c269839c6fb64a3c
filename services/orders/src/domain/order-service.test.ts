import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DomainError, UPDATE_RETRIES, type Access } from "@orderly/kit/domain";
import { openSqliteOrderStore } from "../store/sqlite-order-store.js";
import { currencySet } from "./currencies.js";
import type { NewOrder, Order, OrderEvent, OrderState } from "./model.js";
import { Orders } from "./order-service.js";
import type { OrderStore } from "./order-store.js";
import { ORDER_ACTIONS, ORDER_STATES, type OrderAction } from "./state-machine.js";
import type { UserDirectory } from "./user-directory.js";

const T0 = new Date("2025-03-04T05:06:07.000Z");
const T1 = new Date("2025-03-04T06:00:00.000Z");
const staff: Access = { subject: "usr_staff", ownOnly: false };
const alice: Access = { subject: "usr_alice", ownOnly: true };
const bob: Access = { subject: "usr_bob", ownOnly: true };

// The table of docs/product.md#states, retyped, so these tests do not trust the constant under test.
const EXPECTED: Record<OrderState, Record<OrderAction, OrderState | "-">> = {
  PENDING: { confirm: "CONFIRMED", ship: "-", deliver: "-", cancel: "CANCELLED" },
  CONFIRMED: { confirm: "-", ship: "SHIPPED", deliver: "-", cancel: "CANCELLED" },
  SHIPPED: { confirm: "-", ship: "-", deliver: "DELIVERED", cancel: "-" },
  DELIVERED: { confirm: "-", ship: "-", deliver: "-", cancel: "-" },
  CANCELLED: { confirm: "-", ship: "-", deliver: "-", cancel: "CANCELLED" },
};
const PATH_TO: Record<OrderState, OrderAction[]> = {
  PENDING: [],
  CONFIRMED: ["confirm"],
  SHIPPED: ["confirm", "ship"],
  DELIVERED: ["confirm", "ship", "deliver"],
  CANCELLED: ["cancel"],
};

/** A UserDirectory that knows a fixed set of users and records every question. */
class FakeDirectory implements UserDirectory {
  readonly asked: string[] = [];
  constructor(private readonly known: ReadonlySet<string>) {}
  async exists(userId: string): Promise<boolean> {
    this.asked.push(userId);
    return this.known.has(userId);
  }
}

function newOrder(userId = "usr_alice", overrides: Partial<NewOrder> = {}): NewOrder {
  return {
    userId,
    items: [
      { sku: "BOOK", quantity: 2, unitPriceMinor: 1_250n },
      { sku: "PEN", quantity: 3, unitPriceMinor: 99n },
    ],
    currencyCode: "EUR",
    shippingAddress: {
      recipient: "Alice",
      line1: "Hauptstr. 1",
      line2: "",
      city: "Berlin",
      region: "",
      postalCode: "10115",
      countryCode: "DE",
    },
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw error;
  return error;
}

/** Delegates to `inner`, letting a test replace single methods to stage races. */
function wrap(inner: OrderStore, overrides: Partial<OrderStore>): OrderStore {
  return {
    create: (...args) => inner.create(...args),
    findByRequestId: (...args) => inner.findByRequestId(...args),
    get: (...args) => inner.get(...args),
    list: (...args) => inner.list(...args),
    update: (...args) => inner.update(...args),
    orderEvents: (...args) => inner.orderEvents(...args),
    eventsAfter: (...args) => inner.eventsAfter(...args),
    headRevision: (...args) => inner.headRevision(...args),
    firstRevisionSince: (...args) => inner.firstRevisionSince(...args),
    close: () => inner.close(),
    ...overrides,
  };
}

let store: OrderStore;
let directory: FakeDirectory;
let committed: OrderEvent[][];
let now: Date;
let orders: Orders;

function ordersOver(orderStore: OrderStore): Orders {
  return new Orders({
    store: orderStore,
    users: directory,
    clock: () => now,
    onCommitted: (events) => committed.push(events),
  });
}

beforeEach(async () => {
  store = await openSqliteOrderStore({ path: ":memory:" });
  directory = new FakeDirectory(new Set(["usr_alice", "usr_bob"]));
  committed = [];
  now = T0;
  orders = ordersOver(store);
});
afterEach(async () => {
  await store.close();
});

async function place(userId = "usr_alice"): Promise<Order> {
  return orders.create({ requestId: randomUUID(), order: newOrder(userId) }, staff);
}

async function orderIn(state: OrderState): Promise<Order> {
  let order = await place();
  for (const action of PATH_TO[state]) order = await orders[action](order.id, {}, staff);
  expect(order.state).toBe(state);
  return order;
}

describe("create", () => {
  it("stores a PENDING order with a computed total, server-made id, etag and times, and one CREATED event", async () => {
    const order = await orders.create({ requestId: randomUUID(), order: newOrder() }, alice);
    expect(order).toMatchObject({
      userId: "usr_alice",
      state: "PENDING",
      currencyCode: "EUR",
      totalMinor: 2_797n,
      createTime: T0,
      updateTime: T0,
    });
    expect(order.id).toMatch(/^ord_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(order.etag).toMatch(/^[0-9a-f]{16}$/);
    const events = await store.eventsAfter(0, 10);
    expect(events).toEqual([
      {
        revision: 1,
        orderId: order.id,
        userId: "usr_alice",
        type: "CREATED",
        fromState: undefined,
        toState: "PENDING",
        actor: "usr_alice",
        reason: "",
        time: T0,
      },
    ]);
    expect(committed).toEqual([events]);
    expect(directory.asked).toEqual(["usr_alice"]);
  });

  it("makes ids that sort in creation order even within one millisecond", async () => {
    const ids: string[] = [];
    for (let n = 0; n < 20; n++) ids.push((await place()).id);
    expect([...ids].sort()).toEqual(ids);
  });

  it("returns the first order for a retried request, asking UserService and writing only once", async () => {
    const requestId = randomUUID();
    const first = await orders.create({ requestId, order: newOrder() }, staff);
    now = T1;
    const again = await orders.create({ requestId, order: newOrder() }, staff);
    const shouted = await orders.create({ requestId: requestId.toUpperCase(), order: newOrder() }, staff);
    expect(again).toEqual(first);
    expect(shouted).toEqual(first);
    expect(directory.asked).toEqual(["usr_alice"]);
    expect(await store.eventsAfter(0, 10)).toHaveLength(1);
    expect(committed).toHaveLength(1);
  });

  it("creates once under concurrent identical requests", async () => {
    const requestId = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => orders.create({ requestId, order: newOrder() }, staff)),
    );
    expect(new Set(results.map((o) => o.id)).size).toBe(1);
    expect(await store.eventsAfter(0, 100)).toHaveLength(1);
    expect(committed).toHaveLength(1);
  });

  it("rejects a request id reused for different content with ALREADY_EXISTS (REQUEST_ID_REUSED), writing nothing", async () => {
    const requestId = randomUUID();
    const first = await orders.create({ requestId, order: newOrder() }, staff);
    const changed = newOrder("usr_alice", { items: [{ sku: "BOOK", quantity: 3, unitPriceMinor: 1_250n }] });
    const error = await failure(orders.create({ requestId, order: changed }, staff));
    expect(error).toMatchObject({
      kind: "already_exists",
      reason: "REQUEST_ID_REUSED",
      metadata: { request_id: requestId, order_id: first.id },
    });
    expect((await orders.list({ filter: {}, limit: 10 }, staff)).orders).toEqual([first]);
    expect(await store.headRevision()).toBe(1);
  });

  it("settles a race the fast path missed through the store's atomic outcome", async () => {
    const requestId = randomUUID();
    const first = await orders.create({ requestId, order: newOrder() }, staff);
    // As if a twin request committed between this call's lookup and its write.
    const racing = ordersOver(wrap(store, { findByRequestId: async () => undefined }));
    expect(await racing.create({ requestId, order: newOrder() }, staff)).toEqual(first);
    const error = await failure(racing.create({ requestId, order: newOrder("usr_bob") }, staff));
    expect(error).toMatchObject({ reason: "REQUEST_ID_REUSED", metadata: { order_id: first.id } });
    expect(await store.headRevision()).toBe(1);
    expect(committed).toHaveLength(1);
  });

  it("rejects an unknown user with NOT_FOUND (USER_NOT_FOUND) and writes nothing", async () => {
    const error = await failure(orders.create({ requestId: randomUUID(), order: newOrder("usr_ghost") }, staff));
    expect(error).toMatchObject({
      kind: "not_found",
      reason: "USER_NOT_FOUND",
      resource: { type: "orderly.user.v1.User", name: "usr_ghost" },
    });
    expect(await store.headRevision()).toBe(0);
    expect((await orders.list({ filter: {}, limit: 10 }, staff)).orders).toEqual([]);
    expect(committed).toEqual([]);
  });

  it("reports every broken rule at once, request_id included, before asking anyone", async () => {
    const bad = newOrder("", { items: [{ sku: "", quantity: 0, unitPriceMinor: -1n }], currencyCode: "JPY" });
    const error = await failure(orders.create({ requestId: "nope", order: bad }, staff));
    expect(error).toMatchObject({ kind: "invalid_argument", reason: "INVALID_ARGUMENT" });
    expect(error.fieldViolations.map((v) => v.field)).toEqual([
      "request_id",
      "order.user_id",
      "order.items[0].sku",
      "order.items[0].quantity",
      "order.items[0].unit_price_minor",
      "order.currency_code",
    ]);
    expect(directory.asked).toEqual([]);
  });

  it("bounds the total by the configured currency's exponent", async () => {
    const withYen = new Orders({
      store,
      users: directory,
      currencies: currencySet({ EUR: 2, JPY: 0 }),
      clock: () => now,
    });
    const yen = (price: bigint) =>
      newOrder("usr_alice", { currencyCode: "JPY", items: [{ sku: "TV", quantity: 1, unitPriceMinor: price }] });
    expect((await withYen.create({ requestId: randomUUID(), order: yen(1_000_000n) }, staff)).totalMinor).toBe(
      1_000_000n,
    );
    const error = await failure(withYen.create({ requestId: randomUUID(), order: yen(1_000_001n) }, staff));
    expect(error.fieldViolations).toEqual([
      { field: "order.items", description: "total 1000001 JPY must be at most 1000000 JPY" },
    ]);
  });

  it("lets an owner-scoped caller create only for themselves", async () => {
    const error = await failure(orders.create({ requestId: randomUUID(), order: newOrder("usr_bob") }, alice));
    expect(error).toMatchObject({ kind: "permission_denied", reason: "PERMISSION_DENIED" });
    expect(directory.asked).toEqual([]);
    expect((await orders.create({ requestId: randomUUID(), order: newOrder("usr_bob") }, bob)).userId).toBe("usr_bob");
  });
});

describe("get", () => {
  it("returns the order, and its audit trail when asked", async () => {
    const order = await orders.confirm((await place()).id, {}, staff);
    expect(await orders.get(order.id, staff)).toEqual({ order });
    const withEvents = await orders.get(order.id, alice, { includeEvents: true });
    expect(withEvents.events?.map((e) => e.type)).toEqual(["CREATED", "CONFIRMED"]);
  });

  it("hides another user's order from an owner-scoped caller exactly like a missing one", async () => {
    const order = await place("usr_alice");
    const hidden = await failure(orders.get(order.id, bob));
    const missing = await failure(orders.get("ord_missing", bob));
    expect(hidden).toMatchObject({ kind: "not_found", reason: "ORDER_NOT_FOUND", metadata: { id: order.id } });
    expect(missing).toMatchObject({ kind: "not_found", reason: "ORDER_NOT_FOUND", metadata: { id: "ord_missing" } });
    expect(hidden.message.replace(order.id, "ID")).toBe(missing.message.replace("ord_missing", "ID"));
    for (const call of [
      () => orders.cancel(order.id, {}, bob),
      () => orders.events(order.id, { afterRevision: 0, limit: 5 }, bob),
    ]) {
      expect(await failure(call())).toMatchObject({ reason: "ORDER_NOT_FOUND" });
    }
    expect((await orders.get(order.id, alice)).order).toEqual(order);
  });
});

describe("list", () => {
  it("pages newest first and says whether more follow", async () => {
    const [a, b, c] = [await place(), await place("usr_bob"), await place()];
    const first = await orders.list({ filter: {}, limit: 2 }, staff);
    expect(first).toEqual({ orders: [c, b], hasMore: true });
    expect(await orders.list({ filter: {}, beforeId: b.id, limit: 2 }, staff)).toEqual({ orders: [a], hasMore: false });
  });

  it("filters by state and user", async () => {
    const a = await place();
    const b = await orders.cancel((await place()).id, {}, staff);
    await place("usr_bob");
    expect((await orders.list({ filter: { state: "CANCELLED" }, limit: 10 }, staff)).orders).toEqual([b]);
    expect((await orders.list({ filter: { userId: "usr_alice", state: "PENDING" }, limit: 10 }, staff)).orders).toEqual(
      [a],
    );
  });

  it("shows an owner-scoped caller only their own orders, and nothing when they ask for someone else's", async () => {
    const a = await place("usr_alice");
    await place("usr_bob");
    expect(await orders.list({ filter: {}, limit: 10 }, alice)).toEqual({ orders: [a], hasMore: false });
    expect(await orders.list({ filter: { userId: "usr_bob" }, limit: 10 }, alice)).toEqual({
      orders: [],
      hasMore: false,
    });
    expect((await orders.list({ filter: { userId: "usr_alice" }, limit: 10 }, alice)).orders).toEqual([a]);
  });

  it("rejects a limit below 1", async () => {
    expect(await failure(orders.list({ filter: {}, limit: 0 }, staff))).toMatchObject({ kind: "invalid_argument" });
  });
});

describe("transitions: every state x every action", () => {
  const cases = ORDER_STATES.flatMap((state) =>
    ORDER_ACTIONS.map((action) => ({ state, action, to: EXPECTED[state][action] })),
  );

  it.each(cases.filter((c) => c.to !== "-" && c.to !== c.state))(
    "$action on $state moves to $to with one audited event",
    async ({ state, action, to }) => {
      const before = await orderIn(state);
      const head = await store.headRevision();
      committed = [];
      now = T1;
      const after = await orders[action](before.id, { reason: "because" }, staff);
      expect(after).toEqual({
        ...before,
        state: to,
        updateTime: T1,
        etag: expect.not.stringMatching(before.etag) as string,
      });
      expect(await store.get(before.id)).toEqual(after);
      const events = await store.eventsAfter(head, 10);
      expect(events).toEqual([
        {
          revision: head + 1,
          orderId: before.id,
          userId: "usr_alice",
          type: to,
          fromState: state,
          toState: to,
          actor: "usr_staff",
          reason: "because",
          time: T1,
        },
      ]);
      expect(committed).toEqual([events]);
    },
  );

  it.each(cases.filter((c) => c.to === "-"))(
    "$action on $state is FAILED_PRECONDITION naming the state",
    async ({ state, action }) => {
      const before = await orderIn(state);
      const head = await store.headRevision();
      committed = [];
      const error = await failure(orders[action](before.id, {}, staff));
      expect(error).toMatchObject({
        kind: "failed_precondition",
        reason: "INVALID_STATE_TRANSITION",
        metadata: { state },
      });
      expect(error.preconditionViolations).toEqual([
        { type: "STATE", subject: before.id, description: expect.stringContaining(`order is ${state};`) as string },
      ]);
      expect(await store.get(before.id)).toEqual(before);
      expect(await store.headRevision()).toBe(head);
      expect(committed).toEqual([]);
    },
  );

  it("says what the action needs", async () => {
    const shipped = await orderIn("SHIPPED");
    expect((await failure(orders.confirm(shipped.id, {}, staff))).preconditionViolations[0]?.description).toBe(
      "order is SHIPPED; ConfirmOrder needs PENDING",
    );
    expect((await failure(orders.cancel(shipped.id, {}, staff))).preconditionViolations[0]?.description).toBe(
      "order is SHIPPED; CancelOrder needs PENDING, CONFIRMED or CANCELLED",
    );
  });

  it("cancelling a cancelled order succeeds, changes nothing and writes no event", async () => {
    const cancelled = await orderIn("CANCELLED");
    const head = await store.headRevision();
    committed = [];
    now = T1;
    expect(await orders.cancel(cancelled.id, { reason: "again", etag: cancelled.etag }, staff)).toEqual(cancelled);
    expect(await store.headRevision()).toBe(head);
    expect(committed).toEqual([]);
  });

  it("checks a given etag, and rejects a reason over 500 characters", async () => {
    const order = await place();
    expect(await failure(orders.confirm(order.id, { etag: "stale" }, staff))).toMatchObject({
      kind: "aborted",
      reason: "ETAG_MISMATCH",
    });
    expect((await orders.confirm(order.id, { etag: order.etag }, staff)).state).toBe("CONFIRMED");
    const error = await failure(orders.cancel(order.id, { reason: "x".repeat(501) }, staff));
    expect(error.fieldViolations.map((v) => v.field)).toEqual(["reason"]);
  });

  it("re-reads and re-decides after losing a race without an etag: a concurrent cancel makes confirm invalid", async () => {
    const order = await place();
    let raced = false;
    const racing = ordersOver(
      wrap(store, {
        update: async (...args) => {
          if (!raced) {
            raced = true;
            await orders.cancel(order.id, { reason: "first" }, alice);
          }
          return store.update(...args);
        },
      }),
    );
    const error = await failure(racing.confirm(order.id, {}, staff));
    expect(error).toMatchObject({ reason: "INVALID_STATE_TRANSITION", metadata: { state: "CANCELLED" } });
    expect((await store.eventsAfter(0, 10)).map((e) => e.type)).toEqual(["CREATED", "CANCELLED"]);
  });

  it("retries a lost race without an etag, but not with one", async () => {
    let target = await place();
    let races = 0;
    // Before the first write of each call, another caller edits the same PENDING order.
    const racing = ordersOver(
      wrap(store, {
        update: async (...args) => {
          if (races++ === 0)
            await orders.update(
              { id: target.id, patch: { shippingAddress: { city: "Potsdam" } }, paths: ["shipping_address.city"] },
              staff,
            );
          return store.update(...args);
        },
      }),
    );
    const confirmed = await racing.confirm(target.id, {}, staff);
    expect(confirmed).toMatchObject({ state: "CONFIRMED", shippingAddress: { city: "Potsdam" } });
    expect(races).toBe(2);
    races = 0;
    target = await place();
    expect(await failure(racing.confirm(target.id, { etag: target.etag }, staff))).toMatchObject({
      reason: "ETAG_MISMATCH",
    });
    expect((await store.get(target.id))?.state).toBe("PENDING");
  });

  it("gives up with ABORTED (CONCURRENT_UPDATE) when every retry loses", async () => {
    const order = await place();
    let attempts = 0;
    const losing = ordersOver(
      wrap(store, {
        update: async () => {
          attempts++;
          return undefined;
        },
      }),
    );
    expect(await failure(losing.ship((await orders.confirm(order.id, {}, staff)).id, {}, staff))).toMatchObject({
      kind: "aborted",
      reason: "CONCURRENT_UPDATE",
      retryAfterMs: 100,
    });
    expect(attempts).toBe(UPDATE_RETRIES + 1);
  });
});

describe("update", () => {
  it("changes masked fields of a PENDING order, recomputes the total and writes an UPDATED event", async () => {
    const order = await place();
    committed = [];
    now = T1;
    const updated = await orders.update(
      {
        id: order.id,
        patch: { items: [{ sku: "BOOK", quantity: 5, unitPriceMinor: 1_000n }], shippingAddress: { city: "Hamburg" } },
        paths: ["items", "shipping_address.city"],
      },
      staff,
    );
    expect(updated).toMatchObject({
      totalMinor: 5_000n,
      items: [{ sku: "BOOK", quantity: 5, unitPriceMinor: 1_000n }],
      updateTime: T1,
      state: "PENDING",
    });
    expect(updated.shippingAddress).toEqual({ ...order.shippingAddress, city: "Hamburg" });
    expect(updated.etag).not.toBe(order.etag);
    expect(await store.get(order.id)).toEqual(updated);
    const events = await store.eventsAfter(1, 10);
    expect(events).toEqual([
      {
        revision: 2,
        orderId: order.id,
        userId: "usr_alice",
        type: "UPDATED",
        fromState: "PENDING",
        toState: "PENDING",
        actor: "usr_staff",
        reason: "",
        time: T1,
      },
    ]);
    expect(committed).toEqual([events]);
  });

  it("writes nothing when the update changes nothing", async () => {
    const order = await place();
    expect(
      await orders.update(
        { id: order.id, patch: { shippingAddress: { city: "Berlin" } }, paths: ["shipping_address.city"] },
        staff,
      ),
    ).toEqual(order);
    expect(await store.headRevision()).toBe(1);
  });

  it.each(["CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED"] as const)(
    "refuses a %s order with FAILED_PRECONDITION (ORDER_NOT_PENDING)",
    async (state) => {
      const order = await orderIn(state);
      const error = await failure(
        orders.update({ id: order.id, patch: { items: [] }, paths: ["shipping_address.city"] }, staff),
      );
      expect(error).toMatchObject({ kind: "failed_precondition", reason: "ORDER_NOT_PENDING", metadata: { state } });
      expect(error.preconditionViolations).toEqual([
        { type: "STATE", subject: order.id, description: `order is ${state}; UpdateOrder needs PENDING` },
      ]);
      expect(await store.get(order.id)).toEqual(order);
    },
  );

  it("validates the result with field paths, including the total", async () => {
    const order = await place();
    const error = await failure(
      orders.update(
        {
          id: order.id,
          patch: { items: [{ sku: "GOLD", quantity: 10_000, unitPriceMinor: 10_001n }] },
          paths: ["items", "shipping_address.country_code"],
        },
        staff,
      ),
    );
    expect(error.fieldViolations.map((v) => v.field)).toEqual(["order.items", "order.shipping_address.country_code"]);
    expect(await store.get(order.id)).toEqual(order);
  });

  it("rejects a bad mask before reading anything", async () => {
    expect(await failure(orders.update({ id: "ord_missing", patch: {}, paths: [] }, staff))).toMatchObject({
      reason: "INVALID_UPDATE_MASK",
    });
    expect(await failure(orders.update({ id: "ord_missing", patch: {}, paths: ["state"] }, staff))).toMatchObject({
      reason: "INVALID_UPDATE_MASK",
    });
  });

  it("checks a given etag", async () => {
    const order = await place();
    const request = { id: order.id, patch: { shippingAddress: { city: "Bonn" } }, paths: ["shipping_address.city"] };
    expect(await failure(orders.update({ ...request, etag: "stale" }, staff))).toMatchObject({
      kind: "aborted",
      reason: "ETAG_MISMATCH",
    });
    expect((await orders.update({ ...request, etag: order.etag }, staff)).shippingAddress.city).toBe("Bonn");
  });
});

describe("events", () => {
  it("pages an order's trail oldest first", async () => {
    const order = await place();
    await place("usr_bob");
    await orders.confirm(order.id, {}, staff);
    await orders.ship(order.id, {}, staff);
    const first = await orders.events(order.id, { afterRevision: 0, limit: 2 }, alice);
    expect(first.events.map((e) => [e.revision, e.type])).toEqual([
      [1, "CREATED"],
      [3, "CONFIRMED"],
    ]);
    expect(first.hasMore).toBe(true);
    const rest = await orders.events(order.id, { afterRevision: 3, limit: 2 }, alice);
    expect(rest).toEqual({ events: [expect.objectContaining({ revision: 4, type: "SHIPPED" })], hasMore: false });
    expect(await failure(orders.events(order.id, { afterRevision: -1, limit: 2 }, alice))).toMatchObject({
      kind: "invalid_argument",
    });
  });
});

describe("onCommitted", () => {
  it("receives every committed event once, in revision order", async () => {
    const a = await place();
    const b = await place("usr_bob");
    await orders.update(
      { id: a.id, patch: { shippingAddress: { line2: "Apt 3" } }, paths: ["shipping_address.line2"] },
      staff,
    );
    await orders.confirm(a.id, {}, staff);
    await orders.cancel(b.id, {}, staff);
    await orders.cancel(b.id, {}, staff);
    await failure(orders.deliver(a.id, {}, staff));
    const seen = committed.flat();
    expect(seen).toEqual(await store.eventsAfter(0, 100));
    expect(seen.map((e) => [e.revision, e.type])).toEqual([
      [1, "CREATED"],
      [2, "CREATED"],
      [3, "UPDATED"],
      [4, "CONFIRMED"],
      [5, "CANCELLED"],
    ]);
  });

  it("cannot fail a write that has already committed", async () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      const throwing = new Orders({
        store,
        users: directory,
        onCommitted: () => {
          throw new Error("listener broke");
        },
      });
      const order = await throwing.create({ requestId: randomUUID(), order: newOrder() }, staff);
      expect((await orders.get(order.id, staff)).order).toEqual(order);
      expect(warn).toHaveBeenCalledWith(
        expect.objectContaining({ message: "listener broke" }),
        expect.objectContaining({ code: "ORDERLY_ON_COMMITTED_FAILED" }),
      );
    } finally {
      warn.mockRestore();
    }
  });
});
