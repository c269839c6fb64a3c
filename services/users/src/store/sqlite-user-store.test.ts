import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { migrate, type Migration } from "@orderly/storage/sqlite";
import { SQLITE_USER_MIGRATIONS } from "./sqlite-user-migrations.js";
import { openSqliteUserStore } from "./sqlite-user-store.js";
import { describeUserStoreContract } from "./user-store.contract.js";

const tempDirs: string[] = [];
async function tempPath(file = "users.db"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "orderly-users-"));
  tempDirs.push(dir);
  // A nested, not-yet-existing directory proves the store creates the parent itself.
  return join(dir, "nested", "data", file);
}
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeUserStoreContract("sqlite file", async () => openSqliteUserStore({ path: await tempPath() }));
describeUserStoreContract("sqlite :memory:", () => openSqliteUserStore({ path: ":memory:" }));

describe("sqlite user store on disk", () => {
  it("keeps data across re-opens and does not re-apply migrations", async () => {
    const path = await tempPath();
    const first = await openSqliteUserStore({ path });
    await first.create({
      id: "usr_1",
      email: "a@example.com",
      profile: { firstName: "A", lastName: "", avatarUrl: "", preferences: {} },
      now: new Date(1000),
      etag: "e1",
    });
    await first.close();
    const before = readMigrations(path);
    expect(before.map((m) => m.version)).toEqual(SQLITE_USER_MIGRATIONS.map((m) => m.version));

    const second = await openSqliteUserStore({ path });
    expect((await second.get("usr_1"))?.email).toBe("a@example.com");
    await second.close();
    expect(readMigrations(path)).toEqual(before);
  });

  it("uses WAL journaling for a file", async () => {
    const path = await tempPath();
    await (await openSqliteUserStore({ path })).close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
  });
});

describe("migrate", () => {
  const extra: Migration = {
    version: 2,
    name: "add locale",
    sql: "ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT ''",
  };

  it("applies only the migrations a database has not run, in order", () => {
    const db = new Database(":memory:");
    expect(migrate(db, SQLITE_USER_MIGRATIONS)).toEqual([1]);
    expect(migrate(db, SQLITE_USER_MIGRATIONS)).toEqual([]);
    expect(migrate(db, [...SQLITE_USER_MIGRATIONS, extra])).toEqual([2]);
    const columns = db
      .prepare<[], { name: string }>("SELECT name FROM pragma_table_info('users')")
      .all()
      .map((c) => c.name);
    expect(columns).toContain("locale");
    db.close();
  });

  it("refuses a database migrated by a newer build", () => {
    const db = new Database(":memory:");
    migrate(db, [...SQLITE_USER_MIGRATIONS, extra]);
    expect(() => migrate(db, SQLITE_USER_MIGRATIONS)).toThrow(/newer than this build/);
    db.close();
  });

  it("rolls back a failing migration so it runs again next time", () => {
    const db = new Database(":memory:");
    const broken: Migration = {
      version: 2,
      name: "broken",
      sql: "CREATE TABLE t (x INTEGER); SELECT * FROM no_such_table;",
    };
    expect(() => migrate(db, [...SQLITE_USER_MIGRATIONS, broken])).toThrow(/no_such_table/);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 't'").get()).toBeUndefined();
    expect(migrate(db, [...SQLITE_USER_MIGRATIONS, extra])).toEqual([2]);
    db.close();
  });

  it("rejects a list whose versions are not 1, 2, 3...", () => {
    const db = new Database(":memory:");
    expect(() => migrate(db, [{ ...extra, version: 3 }])).toThrow(/expected 1/);
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
