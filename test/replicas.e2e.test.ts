// Several replicas on one PostgreSQL behave as one service: two UserService and two OrderService processes share the
// database; clients spread calls over both replicas. Checked: idempotent creation across replicas, a watch on one
// replica seeing commits made through the other (LISTEN/NOTIFY), resuming a watch on the other replica, concurrent
// transitions from two replicas (one wins, never a lost update), and a replica killed mid-run.
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  Code,
  createOrderClient,
  createUserClient,
  OrderState,
  type NewOrderInput,
  type OrderClient,
  type WatchItem,
} from "@orderly/clients";
import { failureOf, testToken } from "@orderly/kit/testing";
import { describePostgres, dropSchema, freshSchema, pgTestUrl } from "@orderly/storage/testing";
import { startServiceProcess, tempDataDir, testAuthEnv, type ServiceProcess } from "./support/service-process.js";

const url = pgTestUrl();
const usersSchema = freshSchema("e2e_users");
const ordersSchema = freshSchema("e2e_orders");
const address = {
  recipient: "Edsger Dijkstra",
  line1: "Plataanstraat 5",
  city: "Nuenen",
  postalCode: "5671 AL",
  countryCode: "NL",
};
const order = (userId: string, sku = "EWD-1"): NewOrderInput => ({
  userId,
  items: [{ sku, quantity: 1, unitPriceMinor: 500n }],
  currencyCode: "EUR",
  shippingAddress: address,
});

describePostgres("two replicas of each service on one PostgreSQL", () => {
  const users: ServiceProcess[] = [];
  const orders: ServiceProcess[] = [];
  let onA: OrderClient; // pinned to orders replica A
  let onB: OrderClient; // pinned to orders replica B
  let both: OrderClient; // round-robin over both
  let userId: string;

  beforeAll(async () => {
    const common = { ...(await testAuthEnv()), DATABASE_URL: url, DATA_DIR: tempDataDir() };
    for (let i = 0; i < 2; i++)
      users.push(
        await startServiceProcess("services/users/src/main.ts", {
          ...common,
          USERS_DB_SCHEMA: usersSchema,
          USERS_ADDRESS: "127.0.0.1:0",
        }),
      );
    const usersTarget = users.map((u) => u.address).join(",");
    for (let i = 0; i < 2; i++)
      orders.push(
        await startServiceProcess("services/orders/src/main.ts", {
          ...common,
          ORDERS_DB_SCHEMA: ordersSchema,
          ORDERS_ADDRESS: "127.0.0.1:0",
          USERS_TARGET: usersTarget,
        }),
      );
    const token = await testToken("adm_replicas", ["admin"]);
    const userAdmin = createUserClient({ address: users.map((u) => u.address), token });
    userId = (await userAdmin.create({ email: "edsger@example.com" })).id;
    userAdmin.close();
    onA = createOrderClient({ address: orders[0]!.address, token });
    onB = createOrderClient({ address: orders[1]!.address, token });
    both = createOrderClient({ address: orders.map((o) => o.address), token });
  }, 60_000);

  afterAll(async () => {
    for (const c of [onA, onB, both]) c?.close();
    await Promise.all([...orders, ...users].map((p) => p.stop()));
    await dropSchema(url, usersSchema);
    await dropSchema(url, ordersSchema);
  });

  it("a user created through one UserService replica is read through the other, and both serve CreateOrder", async () => {
    const token = await testToken("adm_replicas", ["admin"]);
    for (const replica of users) {
      const client = createUserClient({ address: replica.address, token });
      expect((await client.get(userId)).email).toBe("edsger@example.com");
      client.close();
    }
    expect((await onA.create(order(userId))).userId).toBe(userId);
    expect((await onB.create(order(userId))).userId).toBe(userId);
  });

  it("the same request_id sent concurrently to both replicas makes one order", async () => {
    const idempotencyKey = crypto.randomUUID();
    const body = order(userId, "IDEMPOTENT-1");
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? onA : onB).create(body, { idempotencyKey })),
    );
    expect(new Set(answers.map((o) => o.id)).size).toBe(1);
    const matching = [];
    for await (const o of both.listAll({ userId })) if (o.items[0]?.sku === "IDEMPOTENT-1") matching.push(o.id);
    expect(matching).toEqual([answers[0]!.id]);
  });

  it("a watch on replica B sees what is committed through replica A within 100 ms (median), in order, once each", async () => {
    const latencies: number[] = [];
    const revisions: bigint[] = [];
    const watch = onB.watch({ reconnect: false });
    const iterator = watch[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ kind: "sync" });
    for (let i = 0; i < 20; i++) {
      const created = await onA.create(order(userId, `WATCH-${i}`));
      for (;;) {
        const { value } = (await iterator.next()) as { value: WatchItem };
        if (value.kind !== "event") continue;
        latencies.push(Date.now() - value.event.time!.getTime());
        revisions.push(value.event.revision);
        expect(value.event.orderId).toBe(created.id);
        break;
      }
    }
    await iterator.return?.();
    latencies.sort((a, b) => a - b);
    console.log(`cross-replica watch delivery: median ${latencies[10]} ms, max ${latencies.at(-1)} ms over 20 commits`);
    expect(latencies[10]).toBeLessThan(100);
    expect(revisions).toEqual([...revisions].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(revisions).size).toBe(20);
  });

  it("a watch read on replica A resumes on replica B with exactly the events it missed", async () => {
    const first = await both.create(order(userId, "RESUME"));
    const watchA = onA.watch({
      userId,
      sinceRevision: (await both.getWithEvents(first.id)).events[0]!.revision - 1n,
      reconnect: false,
    });
    for await (const item of watchA) if (item.kind === "event") break;
    const missed = [await onA.confirm(first.id), await onB.ship(first.id), await onA.deliver(first.id)];
    const resumed: string[] = [];
    for await (const item of onB.watch({ userId, sinceRevision: watchA.lastRevision, reconnect: false })) {
      if (item.kind === "sync") break;
      if (item.kind === "event") resumed.push(OrderState[item.event.toState]);
    }
    expect(missed.map((o) => OrderState[o.state])).toEqual(resumed);
  });

  it("concurrent transitions with the same etag from two replicas: exactly one wins, the other is ABORTED or FAILED_PRECONDITION", async () => {
    for (let round = 0; round < 10; round++) {
      const o = await both.create(order(userId, `RACE-${round}`));
      const results = await Promise.allSettled([
        onA.confirm(o.id, { etag: o.etag }),
        onB.cancel(o.id, { etag: o.etag, reason: "race" }),
      ]);
      const wins = results.filter((r) => r.status === "fulfilled");
      expect(wins).toHaveLength(1);
      const loser = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect([Code.ABORTED, Code.FAILED_PRECONDITION]).toContain((await failureOf(Promise.reject(loser.reason))).code);
      const { order: final, events } = await both.getWithEvents(o.id);
      expect(events).toHaveLength(2);
      expect(events[1]!.toState).toBe(final.state);
    }
  });

  it("keeps serving through round-robin clients when one replica of each service is killed", async () => {
    const created: string[] = [];
    for (let i = 0; i < 60; i++) {
      if (i === 20) {
        await orders[0]!.kill();
        await users[0]!.kill();
      }
      const o = await both.create(order(userId, `SURVIVE-${i}`), { deadlineMs: 5_000 });
      expect((await both.get(o.id)).id).toBe(o.id);
      created.push(o.id);
    }
    expect(new Set(created).size).toBe(60);
  });
});
