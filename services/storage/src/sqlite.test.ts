// Opening an embedded store's file: the pragmas every SQLite store relies on.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteDatabase } from "./sqlite.js";

describe("openSqliteDatabase", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("opens in WAL mode with foreign keys on and a 2 MB page cache, not better-sqlite3's 16 MB", () => {
    const dir = mkdtempSync(join(tmpdir(), "orderly-sqlite-"));
    dirs.push(dir);
    const db = openSqliteDatabase({ path: join(dir, "nested", "x.sqlite"), migrations: [] });
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
      // Negative: KiB. A scan of a large table fills the whole cache and keeps it resident.
      expect(db.pragma("cache_size", { simple: true })).toBe(-2000);
    } finally {
      db.close();
    }
  });
});
