// Checkpoints on a worker thread: the store's connection never runs one, the WAL stays bounded, and nothing is lost.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkpointInBackground, openSqliteDatabase, type CheckpointReport } from "./sqlite.js";

const MIGRATIONS = [{ version: 1, name: "t", sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)" }];

describe("checkpointInBackground", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const fileIn = () => {
    const dir = mkdtempSync(join(tmpdir(), "orderly-wal-"));
    dirs.push(dir);
    return join(dir, "x.sqlite");
  };

  it("copies the WAL into the database file on a worker while the store's connection never checkpoints", async () => {
    const path = fileIn();
    const db = openSqliteDatabase({ path, migrations: MIGRATIONS });
    const reports: CheckpointReport[] = [];
    const checkpointer = checkpointInBackground(db, { intervalMs: 10, onReport: (report) => reports.push(report) });
    const insert = db.prepare("INSERT INTO t (id, body) VALUES (?, ?)");
    try {
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
      let walPeak = 0;
      // 40 rounds of 100 commits of a 4 KB row: with no checkpoint at all their WAL grows to 50 MB.
      for (let round = 0; round < 40; round++) {
        for (let i = 0; i < 100; i++) insert.run(round * 100 + i, Buffer.alloc(4000, i));
        walPeak = Math.max(walPeak, statSync(`${path}-wal`).size);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      expect(reports.length).toBeGreaterThan(0);
      expect(reports.reduce((sum, report) => sum + report.checkpointed, 0)).toBeGreaterThan(1000);
      // Started again from its beginning after the checkpoints: at most half of that (11 MB or less when measured).
      expect(walPeak).toBeLessThan(25 * 1024 * 1024);
    } finally {
      await checkpointer.stop();
      db.close();
    }
    // Every row is there, read by a connection of its own after both have closed.
    const reader = new Database(path, { readonly: true });
    try {
      expect(reader.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 4000 });
    } finally {
      reader.close();
    }
  });

  it("hands checkpoints back to the store's connection when the worker is gone", async () => {
    const db = openSqliteDatabase({ path: fileIn(), migrations: MIGRATIONS });
    try {
      const checkpointer = checkpointInBackground(db, { intervalMs: 10 });
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
      await checkpointer.stop();
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
      // A worker that fails (here: its file does not exist, so it cannot open it) restores SQLite's own threshold.
      const elsewhere = { name: { value: join(tmpdir(), "orderly-missing", "x.sqlite") } };
      const failing = checkpointInBackground(Object.create(db, elsewhere) as Database.Database, { intervalMs: 10 });
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
      await vi.waitFor(() => expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000));
      await failing.stop();
    } finally {
      db.close();
    }
  });

  it("keeps the process alive while it stops, so what follows the store's close still runs", () => {
    // A real process with nothing else to do: without that, node exits as soon as only the stopping worker is left,
    // in the middle of the await, without an error and with status 0.
    const path = fileIn();
    const script = join(dirname(path), "stop.mts");
    writeFileSync(
      script,
      `import { checkpointInBackground, openSqliteDatabase } from ${JSON.stringify(join(import.meta.dirname, "sqlite.ts"))};
      const db = openSqliteDatabase({ path: ${JSON.stringify(path)}, migrations: [] });
      const checkpointer = checkpointInBackground(db);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await checkpointer.stop();
      db.close();
      console.log("after stop");`,
    );
    const result = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8" });
    expect(result.stdout).toBe("after stop\n");
    expect(result.status).toBe(0);
  });
});
