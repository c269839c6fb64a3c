// SQLite plumbing shared by every embedded store: opening a file with the pragmas we rely on, and append-only schema
// migrations applied at open. Stores are not domain code, so they may use it; it imports nothing of gRPC.
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database, { type Database as DatabaseType } from "better-sqlite3";
import { checkMigrationOrder, type Migration } from "./migrations.js";

export type { Migration } from "./migrations.js";
export { checkpointInBackground, type CheckpointReport, type WalCheckpointer } from "./wal-checkpointer.js";

/** Each connection's SQLite page cache, KiB. */
const PAGE_CACHE_KIB = 2000;

/** Opens (creating its directory) and migrates a SQLite database; `:memory:` is allowed. */
export function openSqliteDatabase(options: {
  path: string;
  migrations: readonly Migration[];
  busyTimeoutMs?: number;
}): DatabaseType {
  if (options.path !== ":memory:") mkdirSync(dirname(resolve(options.path)), { recursive: true });
  const db = new Database(options.path);
  try {
    // WAL lets readers proceed while one writer commits; NORMAL sync is durable across app crashes in WAL mode.
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
    db.pragma("foreign_keys = ON");
    // SQLite's own default page cache (2 MB) instead of better-sqlite3's 16 MB: a scan of a large table (StreamUsers)
    // filled all 16 MB, resident for the life of the process. The file's pages stay in the OS page cache, so a miss
    // costs a read of a cached page, not a disk access.
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    migrate(db, options.migrations);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Applies the migrations `db` has not run yet, each in its own transaction; returns the versions it applied. */
export function migrate(
  db: DatabaseType,
  migrations: readonly Migration[],
  now: () => Date = () => new Date(),
): number[] {
  checkMigrationOrder(migrations);
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)",
  );
  const latest = db.prepare<[], { version: number | null }>("SELECT max(version) AS version FROM schema_migrations");
  const record = db.prepare<[number, number]>("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
  const applied: number[] = [];
  for (const migration of migrations) {
    // IMMEDIATE takes the write lock before reading the version, so two processes opening one file cannot both apply
    // it.
    db.transaction(() => {
      const current = latest.get()?.version ?? 0;
      if (current >= migration.version) return;
      db.exec(migration.sql);
      record.run(migration.version, now().getTime());
      applied.push(migration.version);
    }).immediate();
  }
  const current = latest.get()?.version ?? 0;
  // A newer binary migrated this file; running old code on it could corrupt data it does not understand.
  if (current > migrations.length)
    throw new Error(`database schema version ${current} is newer than this build knows (${migrations.length})`);
  return applied;
}

/** A row as better-sqlite3 binds it: every Date becomes epoch milliseconds, the form Orderly's SQLite tables store. */
export type SqliteValues<T> = { [K in keyof T]: T[K] extends Date ? number : T[K] };

/** The row with its Dates turned into epoch milliseconds, ready to bind as named parameters. */
export function sqliteValues<T extends object>(row: T): SqliteValues<T> {
  const values: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) values[column] = value instanceof Date ? value.getTime() : value;
  return values as SqliteValues<T>;
}

/** "@a, @b, @c": the named parameters of an INSERT's VALUES for `columns`. */
export function namedValues(columns: readonly string[]): string {
  return columns.map((column) => `@${column}`).join(", ");
}

/** "a = @a, b = @b": an UPDATE's SET list binding each column to its named parameter. */
export function namedAssignments(columns: readonly string[]): string {
  return columns.map((column) => `${column} = @${column}`).join(", ");
}
