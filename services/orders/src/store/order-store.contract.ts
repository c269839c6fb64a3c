// The behaviour every OrderStore must have, as a reusable vitest suite. It tests the interface only, so the SQLite
// store and a later PostgreSQL store run exactly the same checks: call describeOrderStoreContract from each store's
// test.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LineItem, NewOrderEvent, Order, OrderEvent, OrderState } from "../domain/model.js";
import type { CreateOrderRecord, OrderStore } from "../domain/order-store.js";

const T0 = new Date("2025-01-02T03:04:05.678Z");
const T1 = new Date("2025-02-03T04:05:06.789Z");
const T2 = new Date("2025-03-04T05:06:07.890Z");

/** Ids that sort in numeric order, so tests can state the expected id order directly. */
function idOf(n: number): string {
  return `ord_${String(n).padStart(6, "0")}`;
}

function orderOf(n: number, overrides: Partial<Order> = {}): Order {
  const items: LineItem[] = [
    { sku: `SKU-${n}-é✓`, quantity: 3, unitPriceMinor: 33_333_333n },
    { sku: "FREE-GIFT", quantity: 1, unitPriceMinor: 0n },
  ];
  return {
    id: idOf(n),
    userId: "usr_a",
    items,
    totalMinor: 99_999_999n,
    currencyCode: "USD",
    shippingAddress: {
      recipient: `Recipient ${n}`,
      line1: "1 Main St",
      line2: "Flat 2",
      city: "Springfield",
      region: "IL",
      postalCode: "62701",
      countryCode: "US",
    },
    state: "PENDING",
    createTime: T0,
    updateTime: T0,
    etag: `etag-${n}`,
    ...overrides,
  };
}

function createdEvent(order: Order, overrides: Partial<NewOrderEvent> = {}): NewOrderEvent {
  return {
    orderId: order.id,
    userId: order.userId,
    type: "CREATED",
    fromState: undefined,
    toState: order.state,
    actor: "usr_actor",
    reason: "",
    time: order.createTime,
    ...overrides,
  };
}

function recordOf(
  n: number,
  overrides: Partial<Order> = {},
  requestId = `req-${n}`,
  requestHash = `hash-${n}`,
): CreateOrderRecord {
  const order = orderOf(n, overrides);
  return { order, event: createdEvent(order), requestId, requestHash };
}

function moved(order: Order, state: OrderState, time: Date, etag: string): { order: Order; event: NewOrderEvent } {
  const next = { ...order, state, updateTime: time, etag };
  return {
    order: next,
    event: {
      orderId: order.id,
      userId: order.userId,
      type: "UPDATED",
      fromState: order.state,
      toState: state,
      actor: "usr_staff",
      reason: "why",
      time,
    },
  };
}

function aborted(): AbortSignal {
  const controller = new AbortController();
  controller.abort(new Error("caller went away"));
  return controller.signal;
}

/** A CreateOrder record for store-specific tests beside the contract: order `id`, claimed by `requestId`. */
export function orderRecord(
  id: string,
  requestId: string,
  overrides: Partial<Order> = {},
  requestHash = "h",
): CreateOrderRecord {
  const order: Order = {
    id,
    userId: "usr_a",
    items: [{ sku: "A", quantity: 10_000, unitPriceMinor: 10_000n }],
    totalMinor: 100_000_000n,
    currencyCode: "EUR",
    shippingAddress: {
      recipient: "R",
      line1: "L1",
      line2: "",
      city: "C",
      region: "",
      postalCode: "P",
      countryCode: "DE",
    },
    state: "PENDING",
    createTime: FIXTURE_TIME,
    updateTime: FIXTURE_TIME,
    etag: `etag-${id}`,
    ...overrides,
  };
  return {
    order,
    event: {
      orderId: id,
      userId: order.userId,
      type: "CREATED",
      fromState: undefined,
      toState: "PENDING",
      actor: "usr_a",
      reason: "",
      time: FIXTURE_TIME,
    },
    requestId,
    requestHash,
  };
}

const FIXTURE_TIME = new Date("2025-05-06T07:08:09.010Z");

/** Registers the OrderStore contract for the store that `open` creates; each test gets a fresh, empty store. */
export function describeOrderStoreContract(name: string, open: () => Promise<OrderStore>): void {
  describe(`OrderStore contract: ${name}`, () => {
    let store: OrderStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    async function seed(...records: CreateOrderRecord[]): Promise<Order[]> {
      const out: Order[] = [];
      for (const record of records) {
        const outcome = await store.create(record);
        if (outcome.kind !== "created") throw new Error(`seeding ${record.order.id} gave ${outcome.kind}`);
        out.push(outcome.order);
      }
      return out;
    }

    async function allEvents(): Promise<OrderEvent[]> {
      return store.eventsAfter(0, 1000);
    }

    describe("create and get", () => {
      it("returns what was stored, field for field, with money exact as bigint", async () => {
        const record = recordOf(1);
        const outcome = await store.create(record);
        expect(outcome.kind).toBe("created");
        if (outcome.kind !== "created") return;
        expect(outcome.order).toEqual(record.order);
        expect(outcome.event).toEqual({ ...record.event, revision: expect.any(Number) as number });
        expect(outcome.event.revision).toBeGreaterThan(0);
        const got = await store.get(idOf(1));
        expect(got).toEqual(record.order);
        expect(typeof got?.totalMinor).toBe("bigint");
        expect(got?.totalMinor).toBe(99_999_999n);
        expect(got?.items[0]?.unitPriceMinor).toBe(33_333_333n);
      });

      it("keeps line items in their given order", async () => {
        const items = Array.from({ length: 100 }, (_, i) => ({
          sku: `S${(i * 37) % 100}`,
          quantity: i + 1,
          unitPriceMinor: BigInt(i),
        }));
        await seed(recordOf(1, { items }));
        expect((await store.get(idOf(1)))?.items).toEqual(items);
      });

      it("resolves undefined for an unknown id", async () => {
        await seed(recordOf(1));
        expect(await store.get(idOf(2))).toBeUndefined();
      });

      it("finds an order by the request id that created it, with the request hash", async () => {
        const [order] = await seed(recordOf(1, {}, "req-one", "hash-one"));
        expect(await store.findByRequestId("req-one")).toEqual({ order, requestHash: "hash-one" });
        expect(await store.findByRequestId("req-two")).toBeUndefined();
      });
    });

    describe("idempotent create", () => {
      it("replays the first order for the same request id and hash, writing nothing", async () => {
        const [first] = await seed(recordOf(1, {}, "req", "hash"));
        const retry = recordOf(2, { createTime: T1 }, "req", "hash");
        expect(await store.create(retry)).toEqual({ kind: "replayed", order: first });
        expect(await store.get(idOf(2))).toBeUndefined();
        expect(await allEvents()).toHaveLength(1);
        expect(await store.headRevision()).toBe(1);
      });

      it("reports a reuse for the same request id with another hash, writing nothing", async () => {
        await seed(recordOf(1, {}, "req", "hash"));
        expect(await store.create(recordOf(2, {}, "req", "other-hash"))).toEqual({
          kind: "reused",
          existingOrderId: idOf(1),
        });
        expect(await store.get(idOf(2))).toBeUndefined();
        expect(await allEvents()).toHaveLength(1);
      });

      it("creates separate orders for separate request ids, even with equal content", async () => {
        await seed(recordOf(1, {}, "req-a", "same"), recordOf(2, {}, "req-b", "same"));
        expect((await store.list({ filter: {}, limit: 10 })).map((o) => o.id)).toEqual([idOf(2), idOf(1)]);
      });

      it("creates exactly once under 50 concurrent identical requests", async () => {
        const outcomes = await Promise.all(
          Array.from({ length: 50 }, (_, i) => store.create(recordOf(100 + i, {}, "req-race", "hash-race"))),
        );
        const created = outcomes.filter((o) => o.kind === "created");
        expect(created).toHaveLength(1);
        const winner = created[0]!.order;
        expect(outcomes.filter((o) => o.kind === "replayed")).toHaveLength(49);
        for (const outcome of outcomes) expect(outcome).toMatchObject({ order: winner });
        expect(await store.list({ filter: {}, limit: 100 })).toEqual([winner]);
        const events = await allEvents();
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ orderId: winner.id, type: "CREATED" });
      });
    });

    describe("list", () => {
      it("pages newest first (id descending), strictly before beforeId", async () => {
        await seed(recordOf(4), recordOf(2), recordOf(5), recordOf(1), recordOf(3));
        const ids = async (beforeId?: string) =>
          (await store.list({ filter: {}, beforeId, limit: 2 })).map((o) => o.id);
        expect(await ids()).toEqual([idOf(5), idOf(4)]);
        expect(await ids(idOf(4))).toEqual([idOf(3), idOf(2)]);
        expect(await ids(idOf(2))).toEqual([idOf(1)]);
        expect(await ids(idOf(1))).toEqual([]);
      });

      it("filters by user, by state and by both, with items attached to each order", async () => {
        const [o1, o2, o3, o4] = await seed(
          recordOf(1, { userId: "usr_a" }),
          recordOf(2, { userId: "usr_b", items: [{ sku: "ONLY", quantity: 2, unitPriceMinor: 5n }], totalMinor: 10n }),
          recordOf(3, { userId: "usr_a", state: "CANCELLED" }),
          recordOf(4, { userId: "usr_b", state: "CANCELLED" }),
        );
        const ids = async (filter: { userId?: string; state?: OrderState }, beforeId?: string) =>
          (await store.list({ filter, beforeId, limit: 10 })).map((o) => o.id);
        expect(await ids({ userId: "usr_a" })).toEqual([idOf(3), idOf(1)]);
        expect(await ids({ state: "CANCELLED" })).toEqual([idOf(4), idOf(3)]);
        expect(await ids({ userId: "usr_b", state: "PENDING" })).toEqual([idOf(2)]);
        expect(await ids({ userId: "usr_a" }, idOf(3))).toEqual([idOf(1)]);
        expect(await ids({ userId: "usr_c" })).toEqual([]);
        expect(await store.list({ filter: {}, limit: 10 })).toEqual([o4, o3, o2, o1]);
      });
    });

    describe("update", () => {
      it("writes the order and appends its event when the etag matches, keeping createTime", async () => {
        const [o1] = await seed(recordOf(1));
        const items = [{ sku: "NEW", quantity: 7, unitPriceMinor: 1_000n }];
        const next: Order = {
          ...o1!,
          items,
          totalMinor: 7_000n,
          shippingAddress: { ...o1!.shippingAddress, city: "Shelbyville", line2: "" },
          state: "CONFIRMED",
          updateTime: T1,
          etag: "etag-1b",
        };
        const event = moved(o1!, "CONFIRMED", T1, "etag-1b").event;
        const written = await store.update({ ...next, createTime: T2 }, "etag-1", event);
        expect(written).toEqual({ order: next, event: { ...event, revision: 2 } });
        expect(await store.get(idOf(1))).toEqual(next);
        expect(await store.orderEvents(idOf(1), 0, 10)).toEqual([
          expect.objectContaining({ type: "CREATED", revision: 1 }),
          { ...event, revision: 2 },
        ]);
      });

      it("writes nothing, not even the event, when the etag is stale", async () => {
        const [o1] = await seed(recordOf(1));
        const { order, event } = moved(o1!, "CANCELLED", T1, "etag-new");
        expect(await store.update(order, "etag-old", event)).toBeUndefined();
        expect(await store.get(idOf(1))).toEqual(o1);
        expect(await allEvents()).toHaveLength(1);
        expect(await store.headRevision()).toBe(1);
      });

      it("resolves undefined for an unknown order and writes no event", async () => {
        const { order, event } = moved(orderOf(9), "CANCELLED", T1, "etag-new");
        expect(await store.update(order, "etag-9", event)).toBeUndefined();
        expect(await store.get(idOf(9))).toBeUndefined();
        expect(await store.headRevision()).toBe(0);
      });
    });

    describe("event log", () => {
      // o1: CREATED(1) at T0, o2: CREATED(2) at T0, o1: UPDATED(3) at T1, o2: UPDATED(4) at T2, o1: UPDATED(5) at T2.
      async function history(): Promise<void> {
        const [o1, o2] = await seed(recordOf(1), recordOf(2));
        const a = moved(o1!, "CONFIRMED", T1, "e1b");
        await store.update(a.order, o1!.etag, a.event);
        const b = moved(o2!, "CANCELLED", T2, "e2b");
        await store.update(b.order, o2!.etag, b.event);
        const c = moved(a.order, "SHIPPED", T2, "e1c");
        await store.update(c.order, a.order.etag, c.event);
      }

      it("starts at head revision 0 and grows by one per event", async () => {
        expect(await store.headRevision()).toBe(0);
        const [o1] = await seed(recordOf(1));
        expect(await store.headRevision()).toBe(1);
        await seed(recordOf(2));
        expect(await store.headRevision()).toBe(2);
        const { order, event } = moved(o1!, "CONFIRMED", T1, "e1b");
        const written = await store.update(order, o1!.etag, event);
        expect(written?.event.revision).toBe(3);
        expect(await store.headRevision()).toBe(3);
      });

      it("lists one order's events oldest first, after a revision, up to a limit", async () => {
        await history();
        const revisions = async (after: number, limit: number) =>
          (await store.orderEvents(idOf(1), after, limit)).map((e) => e.revision);
        expect(await revisions(0, 10)).toEqual([1, 3, 5]);
        expect(await revisions(1, 10)).toEqual([3, 5]);
        expect(await revisions(0, 2)).toEqual([1, 3]);
        expect(await revisions(5, 10)).toEqual([]);
        const events = await store.orderEvents(idOf(1), 0, 10);
        expect(events.map((e) => [e.type, e.fromState, e.toState, e.time])).toEqual([
          ["CREATED", undefined, "PENDING", T0],
          ["UPDATED", "PENDING", "CONFIRMED", T1],
          ["UPDATED", "CONFIRMED", "SHIPPED", T2],
        ]);
        expect(events[1]).toMatchObject({ orderId: idOf(1), userId: "usr_a", actor: "usr_staff", reason: "why" });
        expect(await store.orderEvents(idOf(9), 0, 10)).toEqual([]);
      });

      it("lists the whole log in revision order, after a revision, up to a limit", async () => {
        await history();
        const log = async (after: number, limit: number) =>
          (await store.eventsAfter(after, limit)).map((e) => [e.revision, e.orderId]);
        expect(await log(0, 10)).toEqual([
          [1, idOf(1)],
          [2, idOf(2)],
          [3, idOf(1)],
          [4, idOf(2)],
          [5, idOf(1)],
        ]);
        expect(await log(2, 2)).toEqual([
          [3, idOf(1)],
          [4, idOf(2)],
        ]);
        expect(await log(5, 10)).toEqual([]);
      });

      it("finds the oldest revision at or after a time", async () => {
        expect(await store.firstRevisionSince(T0)).toBeUndefined();
        await history();
        expect(await store.firstRevisionSince(new Date(T0.getTime() - 1))).toBe(1);
        expect(await store.firstRevisionSince(T0)).toBe(1);
        expect(await store.firstRevisionSince(new Date(T0.getTime() + 1))).toBe(3);
        expect(await store.firstRevisionSince(T2)).toBe(4);
        expect(await store.firstRevisionSince(new Date(T2.getTime() + 1))).toBeUndefined();
      });
    });

    describe("cancellation", () => {
      it("rejects every method with the signal's reason and writes nothing", async () => {
        const [o1] = await seed(recordOf(1));
        const signal = aborted();
        const { order, event } = moved(o1!, "CONFIRMED", T1, "e1b");
        await expect(store.create(recordOf(2), signal)).rejects.toThrow("caller went away");
        await expect(store.findByRequestId("req-1", signal)).rejects.toThrow("caller went away");
        await expect(store.get(idOf(1), signal)).rejects.toThrow("caller went away");
        await expect(store.list({ filter: {}, limit: 5 }, signal)).rejects.toThrow("caller went away");
        await expect(store.update(order, o1!.etag, event, signal)).rejects.toThrow("caller went away");
        await expect(store.orderEvents(idOf(1), 0, 10, signal)).rejects.toThrow("caller went away");
        await expect(store.eventsAfter(0, 10, signal)).rejects.toThrow("caller went away");
        await expect(store.headRevision(signal)).rejects.toThrow("caller went away");
        await expect(store.firstRevisionSince(T0, signal)).rejects.toThrow("caller went away");
        expect(await store.get(idOf(2))).toBeUndefined();
        expect(await store.get(idOf(1))).toEqual(o1);
        expect(await store.headRevision()).toBe(1);
      });
    });
  });
}
