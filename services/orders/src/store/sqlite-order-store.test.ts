import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { describeOrderStoreContract, orderRecord } from "./order-store.contract.js";
import { migrate, type Migration } from "@orderly/storage/sqlite";
import { SQLITE_ORDER_MIGRATIONS } from "./sqlite-order-migrations.js";
import { openSqliteOrderStore } from "./sqlite-order-store.js";

const tempDirs: string[] = [];
async function tempPath(file = "orders.db"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "orderly-orders-"));
  tempDirs.push(dir);
  // A nested, not-yet-existing directory proves the store creates the parent itself.
  return join(dir, "nested", file);
}
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeOrderStoreContract("sqlite file", async () => openSqliteOrderStore({ path: await tempPath() }));
describeOrderStoreContract("sqlite :memory:", () => openSqliteOrderStore({ path: ":memory:" }));

const recordOf = (id: string, requestId: string) => orderRecord(id, requestId);

describe("sqlite order store on disk", () => {
  it("keeps orders, events and request ids across re-opens, and does not re-apply migrations", async () => {
    const path = await tempPath();
    const first = await openSqliteOrderStore({ path });
    const record = recordOf("ord_1", "req-1");
    await first.create(record);
    await first.close();
    const before = readMigrations(path);
    expect(before.map((m) => m.version)).toEqual(SQLITE_ORDER_MIGRATIONS.map((m) => m.version));

    const second = await openSqliteOrderStore({ path });
    expect(await second.get("ord_1")).toEqual(record.order);
    expect(await second.findByRequestId("req-1")).toEqual({ order: record.order, requestHash: "h" });
    expect(await second.create(recordOf("ord_2", "req-1"))).toEqual({ kind: "replayed", order: record.order });
    const next = await second.create(recordOf("ord_3", "req-3"));
    expect(next.kind === "created" && next.event.revision).toBe(2);
    await second.close();
    expect(readMigrations(path)).toEqual(before);
  });

  it("enforces request ids in the database, across connections to one file", async () => {
    const path = await tempPath();
    const a = await openSqliteOrderStore({ path });
    const b = await openSqliteOrderStore({ path });
    try {
      const won = await a.create(recordOf("ord_1", "req-shared"));
      expect(won.kind).toBe("created");
      expect(await b.create(recordOf("ord_2", "req-shared"))).toEqual({
        kind: "replayed",
        order: recordOf("ord_1", "x").order,
      });
      expect(await b.eventsAfter(0, 10)).toHaveLength(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("stores money as SQLite integers and uses WAL journaling", async () => {
    const path = await tempPath();
    const store = await openSqliteOrderStore({ path });
    await store.create(recordOf("ord_1", "req-1"));
    await store.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.prepare("SELECT typeof(total_minor) AS t FROM orders").get()).toEqual({ t: "integer" });
      expect(db.prepare("SELECT typeof(unit_price_minor) AS t FROM order_items").get()).toEqual({ t: "integer" });
    } finally {
      db.close();
    }
  });

  it("never reuses a revision, even after the newest events are deleted", async () => {
    const path = await tempPath();
    const store = await openSqliteOrderStore({ path });
    await store.create(recordOf("ord_1", "req-1"));
    await store.close();
    const db = new Database(path);
    db.prepare("DELETE FROM order_events").run();
    db.close();
    const reopened = await openSqliteOrderStore({ path });
    const outcome = await reopened.create(recordOf("ord_2", "req-2"));
    expect(outcome.kind === "created" && outcome.event.revision).toBe(2);
    await reopened.close();
  });
});

describe("migrate", () => {
  const latest = Math.max(...SQLITE_ORDER_MIGRATIONS.map((m) => m.version));
  const extra: Migration = {
    version: latest + 1,
    name: "add note",
    sql: "ALTER TABLE orders ADD COLUMN note TEXT NOT NULL DEFAULT ''",
  };

  it("applies only the migrations a database has not run, and refuses one from a newer build", () => {
    const db = new Database(":memory:");
    expect(migrate(db, SQLITE_ORDER_MIGRATIONS)).toEqual(SQLITE_ORDER_MIGRATIONS.map((m) => m.version));
    expect(migrate(db, SQLITE_ORDER_MIGRATIONS)).toEqual([]);
    expect(migrate(db, [...SQLITE_ORDER_MIGRATIONS, extra])).toEqual([latest + 1]);
    expect(() => migrate(db, SQLITE_ORDER_MIGRATIONS)).toThrow(/newer than this build/);
    db.close();
  });
});

describe("schema", () => {
  // SQLite finds the child rows of a parent row (a deferred foreign key resolved by an insert, a delete, a key update)
  // by the child's column: without an index that leads with it, every such write scans the whole child table.
  it("indexes every foreign key column, so no write scans a child table", () => {
    const db = new Database(":memory:");
    migrate(db, SQLITE_ORDER_MIGRATIONS);
    const unindexed: string[] = [];
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all();
    for (const { name } of tables) {
      const leading = new Set(
        db
          .prepare<[], { name: string }>(`SELECT name FROM pragma_index_list('${name}')`)
          .all()
          .map(
            (index) =>
              db.prepare<[], { name: string }>(`SELECT name FROM pragma_index_info('${index.name}')`).get()?.name,
          ),
      );
      for (const key of db
        .prepare<[], { from: string; table: string }>(`SELECT "from", "table" FROM pragma_foreign_key_list('${name}')`)
        .all()) {
        if (!leading.has(key.from)) unindexed.push(`${name}.${key.from} -> ${key.table}`);
      }
    }
    expect(tables.length).toBeGreaterThan(3);
    expect(unindexed).toEqual([]);
    db.close();
  });
});

function readMigrations(path: string): { version: number; applied_at: number }[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare<[], { version: number; applied_at: number }>(
        "SELECT version, applied_at FROM schema_migrations ORDER BY version",
      )
      .all();
  } finally {
    db.close();
  }
}

describe("group commit", () => {
  it("commits concurrent creates together; a failing one rolls back alone and the others land", async () => {
    const store = await openSqliteOrderStore({ path: ":memory:" });
    const records = Array.from({ length: 20 }, (_, i) => recordOf(`ord_g${i}`, `req-g${i}`));
    // Same order id as record 0 under another request id: its insert fails inside the shared transaction.
    const clash = recordOf("ord_g0", "req-clash");
    const results = await Promise.allSettled([...records, clash].map((record) => store.create(record)));
    expect(results.slice(0, 20).every((r) => r.status === "fulfilled" && r.value.kind === "created")).toBe(true);
    expect(results[20]!.status).toBe("rejected");
    expect(await store.findByRequestId("req-clash")).toBeUndefined();
    const events = await store.eventsAfter(0, 100);
    expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await store.list({ filter: {}, limit: 100 })).length).toBe(20);
    await store.close();
  });
});
