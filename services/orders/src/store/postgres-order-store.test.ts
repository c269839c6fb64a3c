import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { DomainError } from "@orderly/kit/domain";
import { createPgPool } from "@orderly/storage/postgres";
import { describePostgres, dropSchema, freshSchema, pgTestUrl, startOutageProxy } from "@orderly/storage/testing";
import { EventFeed } from "../domain/event-feed.js";
import type { NewOrderEvent, Order } from "../domain/model.js";
import type { OrderStore } from "../domain/order-store.js";
import { describeOrderStoreContract, orderRecord } from "./order-store.contract.js";
import { listenForOrderEvents } from "./postgres-order-notifications.js";
import { openPostgresOrderStore } from "./postgres-order-store.js";

const url = pgTestUrl();
const schemas: string[] = [];
function schemaFor(prefix: string): string {
  const schema = freshSchema(prefix);
  schemas.push(schema);
  return schema;
}
afterAll(async () => {
  for (const schema of schemas) await dropSchema(url, schema);
});

const T0 = new Date("2025-05-06T07:08:09.010Z");

// Money beyond 2^53 must survive PostgreSQL's int8 (which pg hands back as text). Not quantity x price: the store keeps
// whatever the domain computed.
const BEYOND_2_53 = {
  items: [{ sku: "A", quantity: 10_000, unitPriceMinor: 9_007_199_254_740_993n }],
  totalMinor: 9_007_199_254_740_995n,
};
const recordOf = (id: string, requestId: string, requestHash = "h") =>
  orderRecord(id, requestId, BEYOND_2_53, requestHash);

function confirm(order: Order, etag: string): { order: Order; event: NewOrderEvent } {
  return {
    order: { ...order, state: "CONFIRMED", etag },
    event: {
      orderId: order.id,
      userId: order.userId,
      type: "CONFIRMED",
      fromState: order.state,
      toState: "CONFIRMED",
      actor: "usr_staff",
      reason: "",
      time: T0,
    },
  };
}

async function replicas(prefix: string, count = 2): Promise<OrderStore[]> {
  const schema = schemaFor(prefix);
  return Promise.all(Array.from({ length: count }, () => openPostgresOrderStore({ url, schema, max: 4 })));
}

async function closeAll(stores: OrderStore[]): Promise<void> {
  await Promise.all(stores.map((store) => store.close()));
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resume) => setTimeout(resume, 20));
  }
}

function unavailable(): unknown {
  return expect.objectContaining({ kind: "unavailable", reason: "STORE_UNAVAILABLE", retryAfterMs: 1000 });
}

describePostgres("postgres order store", () => {
  // Each contract test gets an empty schema of its own, so revisions start at 1 in every test.
  describeOrderStoreContract("postgres", () => openPostgresOrderStore({ url, schema: schemaFor("orders_contract") }));

  describe("group commit", () => {
    /** A store on a pool whose statements are counted (a counter around the real pool's query). */
    async function countedStore(
      prefix: string,
    ): Promise<{ store: OrderStore; statements: () => number; end: () => Promise<void> }> {
      const schema = schemaFor(prefix);
      const pool = createPgPool({ url, schema, max: 4 });
      const store = await openPostgresOrderStore({ pool, schema });
      let count = 0;
      const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
      pool.query = ((...args: unknown[]) => {
        count += 1;
        return query(...args);
      }) as typeof pool.query;
      return {
        store,
        statements: () => count,
        end: async () => {
          await store.close();
          await pool.end();
        },
      };
    }
    const withItems = (id: string, requestId: string, count: number) =>
      orderRecord(id, requestId, {
        items: Array.from({ length: count }, (_, i) => ({
          sku: `S${i}`,
          quantity: i + 1,
          unitPriceMinor: 9_007_199_254_740_993n + BigInt(i),
        })),
        totalMinor: 9_007_199_254_740_995n,
      });

    it("stores concurrent creates in shared statements, whole, with revisions in arrival order", async () => {
      const { store, statements, end } = await countedStore("orders_batch");
      try {
        const records = Array.from({ length: 30 }, (_, i) =>
          withItems(`ord_${String(i).padStart(2, "0")}`, `req-${i}`, i % 4),
        );
        const outcomes = await Promise.all(records.map((record) => store.create(record)));
        // The first goes alone; the 29 that queued behind it share the next statement.
        expect(statements()).toBe(2);
        outcomes.forEach((outcome, i) => {
          expect(outcome).toEqual({
            kind: "created",
            order: records[i]!.order,
            event: { ...records[i]!.event, revision: i + 1 },
          });
        });
        for (const record of records) expect(await store.get(record.order.id)).toEqual(record.order);
        expect((await store.eventsAfter(0, 100)).map((e) => e.orderId)).toEqual(records.map((r) => r.order.id));
        expect(await store.headRevision()).toBe(30);
      } finally {
        await end();
      }
    });

    it("looks up concurrent request ids in shared statements, failing only one PostgreSQL refuses", async () => {
      const { store, statements, end } = await countedStore("orders_batch_find");
      try {
        const records = Array.from({ length: 4 }, (_, i) => withItems(`ord_${i}`, `req-${i}`, i));
        for (const record of records) await store.create(record);
        const before = statements();
        const ids = ["req-0", "req-1", "req-missing", "req-2", "req-3", "req-1"];
        const found = await Promise.all(ids.map((id) => store.findByRequestId(id)));
        expect(statements() - before).toBe(2); // the first alone, the other five together
        expect(found.map((f) => f?.order.id)).toEqual(["ord_0", "ord_1", undefined, "ord_2", "ord_3", "ord_1"]);
        expect(found[3]).toEqual({ order: records[2]!.order, requestHash: "h" });

        const settled = await Promise.allSettled(
          ["req-0", "req-1", "nul\u0000", "req-3"].map((id) => store.findByRequestId(id)),
        );
        expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
        expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ kind: "invalid_argument" });
        expect((settled[3] as PromiseFulfilledResult<unknown>).value).toMatchObject({ order: { id: "ord_3" } });

        const controller = new AbortController();
        const first = store.findByRequestId("req-0");
        const cancelled = store.findByRequestId("req-1", controller.signal);
        controller.abort(new Error("caller went away"));
        await expect(cancelled).rejects.toThrow("caller went away");
        expect((await first)?.order.id).toBe("ord_0");
      } finally {
        await end();
      }
    });

    it("fails only the create PostgreSQL refuses; its batch-mates are stored", async () => {
      const { store, end } = await countedStore("orders_batch_bad");
      try {
        const records = Array.from({ length: 5 }, (_, i) => withItems(`ord_${i}`, `req-${i}`, 2));
        const bad = records[3]!;
        bad.order.shippingAddress.recipient = "nul\u0000byte";
        const settled = await Promise.allSettled(records.map((record) => store.create(record)));
        expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "rejected", "fulfilled"]);
        expect((settled[3] as PromiseRejectedResult).reason).toMatchObject({ kind: "invalid_argument" });
        for (const [i, record] of records.entries()) {
          expect(await store.get(record.order.id)).toEqual(i === 3 ? undefined : record.order);
        }
        expect(await store.findByRequestId("req-3")).toBeUndefined();
        expect(await store.headRevision()).toBe(4);
      } finally {
        await end();
      }
    });

    it("drops a create cancelled while queued, and settles twins of one request id in one burst", async () => {
      const { store, end } = await countedStore("orders_batch_twins");
      try {
        const controller = new AbortController();
        const first = store.create(withItems("ord_first", "req-first", 1));
        const cancelled = store.create(withItems("ord_cancelled", "req-cancelled", 1), controller.signal);
        controller.abort(new Error("caller went away"));
        const twins = [
          store.create(withItems("ord_t1", "req-twin", 1)),
          store.create(withItems("ord_t2", "req-twin", 1)),
          store.create({ ...withItems("ord_t3", "req-twin", 1), requestHash: "other" }),
        ];
        await expect(cancelled).rejects.toThrow("caller went away");
        expect((await first).kind).toBe("created");
        const [t1, t2, t3] = await Promise.all(twins);
        expect(t1).toMatchObject({ kind: "created", order: { id: "ord_t1" } });
        expect(t2).toMatchObject({ kind: "replayed", order: { id: "ord_t1" } });
        expect(t3).toEqual({ kind: "reused", existingOrderId: "ord_t1" });
        expect(await store.findByRequestId("req-cancelled")).toBeUndefined();
        expect(await store.get("ord_cancelled")).toBeUndefined();
        expect(await store.headRevision()).toBe(2);
      } finally {
        await end();
      }
    });
  });

  describe("several replicas", () => {
    it("creates once when two replicas race the same request ids", async () => {
      const [a, b] = await replicas("orders_idem");
      try {
        for (let round = 0; round < 20; round++) {
          const outcomes = await Promise.all([
            a!.create(recordOf(`ord_a${round}`, `req-${round}`)),
            b!.create(recordOf(`ord_b${round}`, `req-${round}`)),
          ]);
          expect(outcomes.map((o) => o.kind).sort()).toEqual(["created", "replayed"]);
          expect(outcomes[0].kind !== "reused" && outcomes[0].order).toEqual(
            outcomes[1].kind !== "reused" && outcomes[1].order,
          );
        }
        expect(await a!.create(recordOf("ord_x", "req-0", "other-hash"))).toMatchObject({ kind: "reused" });
        expect(await b!.list({ filter: {}, limit: 100 })).toHaveLength(20);
        expect(await b!.headRevision()).toBe(20);
      } finally {
        await closeAll([a!, b!]);
      }
    });

    it("lets exactly one of two replicas win a compare-and-set, writing one event", async () => {
      const [a, b] = await replicas("orders_cas");
      try {
        const created = await a!.create(recordOf("ord_1", "req-1"));
        const order = created.kind === "created" ? created.order : undefined;
        const fromA = confirm(order!, "from-a");
        const fromB = confirm(order!, "from-b");
        const results = await Promise.all([
          a!.update(fromA.order, order!.etag, fromA.event),
          b!.update(fromB.order, order!.etag, fromB.event),
        ]);
        const winners = results.filter((r) => r !== undefined);
        expect(winners).toHaveLength(1);
        expect((await b!.get("ord_1"))?.etag).toBe(winners[0]!.order.etag);
        expect((await a!.orderEvents("ord_1", 0, 10)).map((e) => [e.revision, e.type])).toEqual([
          [1, "CREATED"],
          [2, "CONFIRMED"],
        ]);
      } finally {
        await closeAll([a!, b!]);
      }
    });

    it("makes revisions visible in commit order with no gaps, so a tailing feed woken by LISTEN misses none", async () => {
      const [a, b] = await replicas("orders_revs");
      const feed = new EventFeed({ store: a!, batchSize: 7 });
      await feed.start();
      const seen: number[] = [];
      feed.subscribe((event) => seen.push(event.revision));
      const notified: (number | undefined)[] = [];
      const listener = await listenForOrderEvents({
        url,
        onNotify: (revision) => {
          notified.push(revision);
          feed.notify(revision);
        },
      });
      // A reader racing the writers with tiny batches: with a plain sequence it would see 11 before 10 commits and
      // step past 10 for good.
      const writers = ["a", "b", "c", "d", "e", "f", "g", "h"];
      const rounds = 25;
      const total = writers.length * rounds * 2;
      const tailed: number[] = [];
      // Read by the tailing loop while the writers run; an object, so the loop's check is not narrowed to true.
      const progress = { writing: true };
      const tail = (async () => {
        while (progress.writing || tailed.length < total) {
          const batch = await b!.eventsAfter(tailed.at(-1) ?? 0, 3);
          tailed.push(...batch.map((e) => e.revision));
          if (batch.length === 0) await new Promise((resume) => setImmediate(resume));
        }
      })();
      try {
        const writer = async (store: OrderStore, name: string): Promise<void> => {
          for (let i = 0; i < rounds; i++) {
            const outcome = await store.create(recordOf(`ord_${name}${i}`, `req-${name}${i}`));
            if (outcome.kind !== "created") throw new Error("not created");
            const next = confirm(outcome.order, `e-${name}${i}`);
            await store.update(next.order, outcome.order.etag, next.event);
          }
        };
        // Eight concurrent writers, four per replica, each creating and then updating its orders.
        await Promise.all(writers.map((name, i) => writer(i % 2 === 0 ? a! : b!, name)));
        progress.writing = false;
        await tail;
        const expected = Array.from({ length: total }, (_, i) => i + 1);
        expect((await a!.eventsAfter(0, 1000)).map((e) => e.revision)).toEqual(expected);
        expect(tailed).toEqual(expected);
        expect(await b!.headRevision()).toBe(total);
        await eventually(() => seen.length === total);
        expect(seen).toEqual(expected);
        // Each commit announces its highest revision, in commit order: what lets an unwatched feed skip reading.
        await eventually(() => notified.at(-1) === total);
        expect(notified).toEqual([...new Set(notified)].sort((x, y) => x! - y!));
      } finally {
        progress.writing = false;
        await listener.close();
        await feed.stop();
        await closeAll([a!, b!]);
      }
    });

    it("reuses the revision of a write that rolled back, leaving no gap", async () => {
      const [store] = await replicas("orders_rollback", 1);
      try {
        const created = await store!.create(recordOf("ord_1", "req-1"));
        const order = created.kind === "created" ? created.order : undefined;
        // The event names an order that does not exist, so its insert fails after the order row was updated.
        const bad = confirm(order!, "e-bad");
        await expect(
          store!.update(bad.order, order!.etag, { ...bad.event, orderId: "ord_missing" }),
        ).rejects.toMatchObject({ code: "23503" });
        expect(await store!.get("ord_1")).toEqual(order);
        expect(await store!.headRevision()).toBe(1);
        const good = confirm(order!, "e-good");
        expect((await store!.update(good.order, order!.etag, good.event))?.event.revision).toBe(2);
      } finally {
        await store!.close();
      }
    });

    it("makes one order and one reuse when two replicas race one request id with different contents", async () => {
      const [a, b] = await replicas("orders_reuse");
      try {
        for (let round = 0; round < 10; round++) {
          const outcomes = await Promise.all([
            a!.create(recordOf(`ord_a${round}`, `req-${round}`, "hash-a")),
            b!.create(recordOf(`ord_b${round}`, `req-${round}`, "hash-b")),
          ]);
          const created = outcomes.find((o) => o.kind === "created");
          const reused = outcomes.find((o) => o.kind === "reused");
          expect(reused).toEqual({ kind: "reused", existingOrderId: created?.order.id });
        }
        expect(await a!.list({ filter: {}, limit: 100 })).toHaveLength(10);
        expect(await b!.headRevision()).toBe(10);
      } finally {
        await closeAll([a!, b!]);
      }
    });

    it("writes nothing when a create fails part-way: no claim, no order, no revision, so the request id stays free", async () => {
      const [store] = await replicas("orders_create_fail", 1);
      try {
        const record = recordOf("ord_1", "req-1");
        // The event names an order that does not exist: its foreign key fails after the claim, order and items.
        await expect(
          store!.create({ ...record, event: { ...record.event, orderId: "ord_missing" } }),
        ).rejects.toMatchObject({ code: "23503" });
        expect(await store!.get("ord_1")).toBeUndefined();
        expect(await store!.findByRequestId("req-1")).toBeUndefined();
        expect(await store!.headRevision()).toBe(0);
        const created = await store!.create(record);
        expect(created).toMatchObject({ kind: "created", event: { revision: 1, orderId: "ord_1" } });
      } finally {
        await store!.close();
      }
    });

    it("refuses a NUL byte in a create's text as INVALID_ARGUMENT, again and again on the same connections", async () => {
      const [store] = await replicas("orders_create_nul", 1);
      try {
        const record = recordOf("ord_1", "req-1");
        const bad = {
          ...record,
          order: { ...record.order, items: [{ sku: "A\u0000", quantity: 1, unitPriceMinor: 1n }] },
        };
        // More attempts than the pool has connections, so the prepared create fails on connections that ran it before.
        for (let attempt = 0; attempt < 6; attempt++) {
          await expect(store!.create(bad)).rejects.toMatchObject({
            kind: "invalid_argument",
            reason: "INVALID_ARGUMENT",
          });
        }
        expect(await store!.findByRequestId("req-1")).toBeUndefined();
        expect(await store!.create(record)).toMatchObject({ kind: "created", event: { revision: 1 } });
      } finally {
        await store!.close();
      }
    });

    it("rewrites the items on update whether the order grows or shrinks, returning what it stored", async () => {
      const [store] = await replicas("orders_items", 1);
      const item = (sku: string, quantity: number) => ({ sku, quantity, unitPriceMinor: BigInt(quantity) * 7n });
      try {
        const created = await store!.create(
          orderRecord("ord_1", "req-1", { items: [item("A", 1), item("B", 2), item("C", 3)], totalMinor: 42n }),
        );
        let order = created.kind === "created" ? created.order : undefined;
        const sizes = [[item("Z", 9)], [item("D", 4), item("C", 3), item("B", 2), item("A", 1)], [item("Y", 5)]];
        for (const [round, items] of sizes.entries()) {
          const next = confirm({ ...order!, items }, `etag-${round}`);
          const written = await store!.update({ ...next.order, state: "PENDING" }, order!.etag, {
            ...next.event,
            type: "UPDATED",
            toState: "PENDING",
          });
          expect(written?.order.items).toEqual(items);
          expect(await store!.get("ord_1")).toEqual(written?.order);
          expect(written?.event.revision).toBe(round + 2);
          order = written!.order;
        }
      } finally {
        await store!.close();
      }
    });

    it("applies migrations once when replicas open together", async () => {
      const stores = await replicas("orders_migrate", 5);
      await closeAll(stores);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const schema = schemas.at(-1)!;
        expect((await client.query(`SELECT version FROM ${schema}.schema_migrations`)).rows).toEqual([{ version: 1 }]);
        expect((await client.query(`SELECT revision FROM ${schema}.event_log_head`)).rows).toEqual([{ revision: "0" }]);
      } finally {
        await client.end();
      }
    });

    it("keeps money exact beyond 2^53 as bigint columns", async () => {
      const [store] = await replicas("orders_money", 1);
      try {
        const record = recordOf("ord_1", "req-1");
        await store!.create(record);
        expect((await store!.get("ord_1"))?.items[0]?.unitPriceMinor).toBe(9_007_199_254_740_993n);
        expect((await store!.findByRequestId("req-1"))?.order.totalMinor).toBe(record.order.totalMinor);
      } finally {
        await store!.close();
      }
    });
  });

  describe("outages", () => {
    it("rejects opening a store on a port nothing listens on as STORE_UNAVAILABLE", async () => {
      const error = await openPostgresOrderStore({ url: "postgres://postgres@127.0.0.1:1/postgres" }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toEqual(unavailable());
    });

    it("fails every method with STORE_UNAVAILABLE while the database is down and recovers without reopening", async () => {
      const proxy = await startOutageProxy();
      const store = await openPostgresOrderStore({
        url: proxy.urlFor(url),
        schema: schemaFor("orders_outage"),
        connectionTimeoutMs: 1000,
      });
      try {
        const created = await store.create(recordOf("ord_1", "req-1"));
        const order = created.kind === "created" ? created.order : undefined;
        const next = confirm(order!, "e2");
        await proxy.down();
        const calls: [string, () => Promise<unknown>][] = [
          ["create", () => store.create(recordOf("ord_2", "req-2"))],
          ["findByRequestId", () => store.findByRequestId("req-1")],
          ["get", () => store.get("ord_1")],
          ["list", () => store.list({ filter: {}, limit: 5 })],
          ["update", () => store.update(next.order, order!.etag, next.event)],
          ["orderEvents", () => store.orderEvents("ord_1", 0, 10)],
          ["eventsAfter", () => store.eventsAfter(0, 10)],
          ["headRevision", () => store.headRevision()],
          ["firstRevisionSince", () => store.firstRevisionSince(T0)],
        ];
        for (const [name, call] of calls) {
          const error = await call().then(
            () => `${name} succeeded`,
            (e: unknown) => e,
          );
          expect(error, name).toEqual(unavailable());
        }
        // Concurrent creates (the first alone, the others in one statement behind it): each fails as unavailable.
        const burst = () => ["3", "4", "5"].map((n) => store.create(recordOf(`ord_${n}`, `req-${n}`)));
        for (const result of await Promise.allSettled(burst())) {
          expect(result.status === "rejected" && result.reason).toEqual(unavailable());
        }
        await proxy.up();
        expect(await store.get("ord_1")).toEqual(order);
        expect((await store.update(next.order, order!.etag, next.event))?.event.revision).toBe(2);
        const recovered = await Promise.all(burst());
        expect(recovered.map((outcome) => outcome.kind === "created" && outcome.event.revision)).toEqual([3, 4, 5]);
      } finally {
        await store.close();
        await proxy.close();
      }
    });

    it("re-LISTENs after the connection drops and wakes the feed for what it may have missed", async () => {
      const proxy = await startOutageProxy();
      const [store] = await replicas("orders_listen", 1);
      const errors: unknown[] = [];
      let notified = 0;
      const listener = await listenForOrderEvents({
        url: proxy.urlFor(url),
        onNotify: () => (notified += 1),
        onError: (e) => errors.push(e),
        minBackoffMs: 20,
        maxBackoffMs: 100,
      });
      try {
        await store!.create(recordOf("ord_1", "req-1"));
        await eventually(() => notified >= 1);
        await proxy.down();
        await eventually(() => errors.length >= 1);
        expect(errors[0]).toEqual(unavailable());
        const before = notified;
        await proxy.up();
        // The reconnect itself notifies, since commits during the outage were announced to nobody.
        await eventually(() => notified > before);
        const afterReconnect = notified;
        await store!.create(recordOf("ord_2", "req-2"));
        await eventually(() => notified > afterReconnect);
      } finally {
        await listener.close();
        await store!.close();
        await proxy.close();
      }
    });
  });
});
