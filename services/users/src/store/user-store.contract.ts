// The behaviour every UserStore must have, as a reusable vitest suite. It tests the interface only, so the SQLite store
// and a later PostgreSQL store run exactly the same checks: call describeUserStoreContract from each store's test.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DomainError } from "@orderly/kit/domain";
import type { Profile, User } from "../domain/model.js";
import type { UserRecord, UserStore } from "../domain/user-store.js";

const T0 = new Date("2025-01-02T03:04:05.678Z");
const T1 = new Date("2025-02-03T04:05:06.789Z");

/** Ids that sort in numeric order, so tests can state the expected id order directly. */
function idOf(n: number): string {
  return `usr_${String(n).padStart(6, "0")}`;
}

function profileOf(n: number): Profile {
  return {
    firstName: `First${n}`,
    lastName: `Last${n}`,
    avatarUrl: `https://img.example.com/${n}.png`,
    preferences: { theme: "dark", n: String(n) },
  };
}

function recordOf(n: number, overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id: idOf(n),
    email: `user${n}@example.com`,
    profile: profileOf(n),
    now: T0,
    etag: `etag-${n}`,
    ...overrides,
  };
}

// A "__proto__" key must round-trip as data, and non-ASCII must survive storage; built with fromEntries because an
// object literal would treat "__proto__" as the prototype instead of a key.
function tricky(): Record<string, string> {
  return Object.fromEntries([
    ["__proto__", "x"],
    ["é ✓", "😀"],
  ]);
}

/** The rows of a batched scan, one at a time (pulling batches lazily, as a consumer would). */
async function* rowsOf<T>(batches: AsyncIterable<readonly T[]>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function aborted(): AbortSignal {
  const controller = new AbortController();
  controller.abort(new Error("caller went away"));
  return controller.signal;
}

/** Registers the UserStore contract for the store that `open` creates; each test gets a fresh, empty store. */
export function describeUserStoreContract(name: string, open: () => Promise<UserStore>): void {
  describe(`UserStore contract: ${name}`, () => {
    let store: UserStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    async function seed(...numbers: number[]): Promise<User[]> {
      const out: User[] = [];
      for (const n of numbers) out.push(await store.create(recordOf(n)));
      return out;
    }

    describe("create and get", () => {
      it("returns what was stored, field for field", async () => {
        const created = await store.create(recordOf(1, { profile: { ...profileOf(1), preferences: tricky() } }));
        const expected: User = {
          id: idOf(1),
          email: "user1@example.com",
          profile: { ...profileOf(1), preferences: tricky() },
          createTime: T0,
          updateTime: T0,
          etag: "etag-1",
        };
        expect(created).toEqual(expected);
        expect(await store.get(idOf(1))).toEqual(expected);
      });

      it("resolves undefined for an unknown id", async () => {
        await seed(1);
        expect(await store.get(idOf(2))).toBeUndefined();
      });

      it("stores the email lower-cased", async () => {
        const created = await store.create(recordOf(1, { email: "Ann.Smith@Example.COM" }));
        expect(created.email).toBe("ann.smith@example.com");
        expect((await store.get(idOf(1)))?.email).toBe("ann.smith@example.com");
      });

      it("rejects a duplicate email, whatever its case, with EMAIL_ALREADY_EXISTS", async () => {
        await store.create(recordOf(1, { email: "ann@example.com" }));
        const error = await store.create(recordOf(2, { email: "ANN@Example.com" })).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DomainError);
        expect(error).toMatchObject({
          kind: "already_exists",
          reason: "EMAIL_ALREADY_EXISTS",
          metadata: { email: "ann@example.com" },
        });
        expect(await store.get(idOf(2))).toBeUndefined();
      });
    });

    describe("getMany", () => {
      it("returns the existing users keyed by id and skips missing or repeated ids", async () => {
        const [u1, , u3] = await seed(1, 2, 3);
        const found = await store.getMany([idOf(3), idOf(9), idOf(1), idOf(3)]);
        expect([...found.keys()].sort()).toEqual([idOf(1), idOf(3)]);
        expect(found.get(idOf(1))).toEqual(u1);
        expect(found.get(idOf(3))).toEqual(u3);
      });

      it("returns an empty map for no ids", async () => {
        await seed(1);
        expect((await store.getMany([])).size).toBe(0);
      });
    });

    describe("list", () => {
      it("pages in id order, strictly after afterId", async () => {
        await seed(4, 2, 5, 1, 3);
        const first = await store.list({ filter: {}, limit: 2 });
        expect(first.map((u) => u.id)).toEqual([idOf(1), idOf(2)]);
        const second = await store.list({ filter: {}, afterId: idOf(2), limit: 2 });
        expect(second.map((u) => u.id)).toEqual([idOf(3), idOf(4)]);
        const last = await store.list({ filter: {}, afterId: idOf(4), limit: 2 });
        expect(last.map((u) => u.id)).toEqual([idOf(5)]);
        expect(await store.list({ filter: {}, afterId: idOf(5), limit: 2 })).toEqual([]);
      });

      it("filters by a case-insensitive email substring, taking % and _ literally", async () => {
        await store.create(recordOf(1, { email: "alice@shop.example" }));
        await store.create(recordOf(2, { email: "bob@other.example" }));
        await store.create(recordOf(3, { email: "carol_100%@shop.example" }));
        expect((await store.list({ filter: { emailContains: "SHOP" }, limit: 10 })).map((u) => u.id)).toEqual([
          idOf(1),
          idOf(3),
        ]);
        expect((await store.list({ filter: { emailContains: "_100%" }, limit: 10 })).map((u) => u.id)).toEqual([
          idOf(3),
        ]);
        expect((await store.list({ filter: { emailContains: "%" }, limit: 10 })).map((u) => u.id)).toEqual([idOf(3)]);
        expect((await store.list({ filter: { emailContains: "" }, limit: 10 })).map((u) => u.id)).toEqual([
          idOf(1),
          idOf(2),
          idOf(3),
        ]);
      });

      it("restricts to ownerId when given", async () => {
        await seed(1, 2, 3);
        expect((await store.list({ filter: {}, ownerId: idOf(2), limit: 10 })).map((u) => u.id)).toEqual([idOf(2)]);
        expect(await store.list({ filter: {}, ownerId: idOf(2), afterId: idOf(2), limit: 10 })).toEqual([]);
        expect(await store.list({ filter: { emailContains: "user3" }, ownerId: idOf(2), limit: 10 })).toEqual([]);
        expect(await store.list({ filter: {}, ownerId: idOf(9), limit: 10 })).toEqual([]);
      });
    });

    describe("scan", () => {
      it("yields every row in id order across many batches", async () => {
        const total = 1234;
        // Inserted in a scrambled order so insertion order cannot pass for id order.
        for (let i = 0; i < total; i++) await store.create(recordOf((i * 7919) % total));
        const batches: number[] = [];
        const ids = (
          await collect(rowsOf(store.scanBatches({}, { batchSize: 100, onBatch: (rows) => batches.push(rows) })))
        ).map((u) => u.id);
        expect(ids).toHaveLength(total);
        expect(ids).toEqual(Array.from({ length: total }, (_, n) => idOf(n)));
        expect(batches).toEqual([...Array<number>(12).fill(100), 34]);
      });

      it("uses batches of at most 500 rows by default", async () => {
        for (let n = 0; n < 1100; n++) await store.create(recordOf(n));
        const batches: number[] = [];
        expect(await collect(rowsOf(store.scanBatches({}, { onBatch: (rows) => batches.push(rows) })))).toHaveLength(
          1100,
        );
        expect(batches).toEqual([500, 500, 100]);
      });

      it("reads lazily: a consumer that stops early leaves the rest unread", async () => {
        for (let n = 0; n < 1000; n++) await store.create(recordOf(n));
        const batches: number[] = [];
        const seen: string[] = [];
        for await (const user of rowsOf(
          store.scanBatches({}, { batchSize: 100, onBatch: (rows) => batches.push(rows) }),
        )) {
          seen.push(user.id);
          if (seen.length === 5) break;
        }
        expect(seen).toEqual([0, 1, 2, 3, 4].map(idOf));
        // One batch read ahead at most; an eager scan would have read all ten.
        expect(batches.length).toBeLessThanOrEqual(2);
      });

      it("reads the next batch only when asked, so rows written meanwhile beyond its position appear", async () => {
        await seed(1, 2, 3, 4, 5, 6);
        const iterator = rowsOf(store.scanBatches({}, { batchSize: 2 }))[Symbol.asyncIterator]();
        const first = await iterator.next();
        expect(first.done ? undefined : first.value.id).toBe(idOf(1));
        // Rows 5 and beyond lie past the current batch and one read-ahead batch, so no lazy store has read them yet.
        await store.create(recordOf(9));
        await store.delete(idOf(6), undefined);
        const rest: string[] = [];
        for (let step = await iterator.next(); !step.done; step = await iterator.next()) rest.push(step.value.id);
        expect(rest).toEqual([2, 3, 4, 5, 9].map(idOf));
      });

      it("applies the filter and ownerId", async () => {
        for (let n = 0; n < 30; n++)
          await store.create(recordOf(n, { email: n % 3 === 0 ? `fizz${n}@example.com` : `user${n}@example.com` }));
        const fizz = await collect(rowsOf(store.scanBatches({ emailContains: "FIZZ" }, { batchSize: 4 })));
        expect(fizz.map((u) => u.id)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27].map(idOf));
        expect(
          (await collect(rowsOf(store.scanBatches({}, { ownerId: idOf(7), batchSize: 4 })))).map((u) => u.id),
        ).toEqual([idOf(7)]);
        expect(await collect(rowsOf(store.scanBatches({ emailContains: "fizz" }, { ownerId: idOf(7) })))).toEqual([]);
      });

      it("stops at the next batch when the signal fires mid-scan", async () => {
        await seed(1, 2, 3, 4, 5);
        const controller = new AbortController();
        const seen: string[] = [];
        const run = (async () => {
          for await (const user of rowsOf(store.scanBatches({}, { batchSize: 2 }, controller.signal))) {
            seen.push(user.id);
            if (seen.length === 3) controller.abort(new Error("deadline"));
          }
        })();
        await expect(run).rejects.toThrow("deadline");
        // The batch already handed out ([3, 4]) is the consumer's; the store hands out no further batch (5).
        expect(seen).toEqual([idOf(1), idOf(2), idOf(3), idOf(4)]);
      });
    });

    describe("update", () => {
      it("writes the new values when the etag matches, keeping createTime", async () => {
        const [u1] = await seed(1);
        const changed: User = {
          ...u1!,
          email: "New@Example.com",
          profile: profileOf(42),
          updateTime: T1,
          etag: "etag-1b",
          createTime: T1,
        };
        const updated = await store.update(changed, "etag-1");
        const expected = { ...changed, email: "new@example.com", createTime: T0 };
        expect(updated).toEqual(expected);
        expect(await store.get(idOf(1))).toEqual(expected);
      });

      it("resolves undefined and changes nothing when the etag is stale", async () => {
        const [u1] = await seed(1);
        expect(await store.update({ ...u1!, email: "x@example.com", etag: "etag-new" }, "etag-old")).toBeUndefined();
        expect(await store.get(idOf(1))).toEqual(u1);
      });

      it("resolves undefined when the user is gone", async () => {
        const [u1] = await seed(1);
        await store.delete(idOf(1), undefined);
        expect(await store.update({ ...u1!, etag: "etag-new" }, "etag-1")).toBeUndefined();
        expect(await store.get(idOf(1))).toBeUndefined();
      });

      it("rejects an email another user holds, and lets a user keep its own", async () => {
        const [u1] = await seed(1, 2);
        const error = await store
          .update({ ...u1!, email: "USER2@example.com", etag: "e2" }, "etag-1")
          .catch((e: unknown) => e);
        expect(error).toMatchObject({
          kind: "already_exists",
          reason: "EMAIL_ALREADY_EXISTS",
          metadata: { email: "user2@example.com" },
        });
        expect(await store.get(idOf(1))).toEqual(u1);
        expect((await store.update({ ...u1!, email: "USER1@example.com", etag: "e3" }, "etag-1"))?.etag).toBe("e3");
      });
    });

    describe("delete", () => {
      it("reports each outcome and deletes only on a match", async () => {
        await seed(1, 2);
        expect(await store.delete(idOf(1), "wrong")).toBe("etag_mismatch");
        expect(await store.get(idOf(1))).toBeDefined();
        expect(await store.delete(idOf(1), "etag-1")).toBe("deleted");
        expect(await store.get(idOf(1))).toBeUndefined();
        expect(await store.delete(idOf(1), "etag-1")).toBe("not_found");
        expect(await store.delete(idOf(2), undefined)).toBe("deleted");
        expect(await store.delete(idOf(2), undefined)).toBe("not_found");
      });

      it("frees the email for a new user", async () => {
        await seed(1);
        await store.delete(idOf(1), undefined);
        expect((await store.create(recordOf(2, { email: "user1@example.com" }))).email).toBe("user1@example.com");
      });
    });

    describe("cancellation", () => {
      it("rejects every method with the signal's reason and writes nothing", async () => {
        const [u1] = await seed(1);
        const signal = aborted();
        await expect(store.create(recordOf(2), signal)).rejects.toThrow("caller went away");
        await expect(store.get(idOf(1), signal)).rejects.toThrow("caller went away");
        await expect(store.getMany([idOf(1)], signal)).rejects.toThrow("caller went away");
        await expect(store.getMany([], signal)).rejects.toThrow("caller went away");
        await expect(store.list({ filter: {}, limit: 5 }, signal)).rejects.toThrow("caller went away");
        await expect(collect(rowsOf(store.scanBatches({}, {}, signal)))).rejects.toThrow("caller went away");
        await expect(store.update({ ...u1!, etag: "e2" }, "etag-1", signal)).rejects.toThrow("caller went away");
        await expect(store.delete(idOf(1), undefined, signal)).rejects.toThrow("caller went away");
        expect(await store.get(idOf(2))).toBeUndefined();
        expect(await store.get(idOf(1))).toEqual(u1);
      });
    });
  });
}
