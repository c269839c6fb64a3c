// The users database schema as an ordered list of migrations, applied at open. Append only: a released migration is
// never edited, because databases in the field have already run it; change the schema with a new version instead.
import type { Database } from "better-sqlite3";

/** One schema step; `version` values are 1, 2, 3... in list order. */
export interface Migration {
  version: number;
  /** A short human name, for logs. */
  name: string;
  /** SQL run inside the migration's transaction. */
  sql: string;
}

/** The users schema, oldest first. */
export const USER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "create users",
    // WITHOUT ROWID clusters rows by id, so keyset pages and scans read contiguous pages in id order.
    sql: `
      CREATE TABLE users (
        id          TEXT    NOT NULL PRIMARY KEY,
        email       TEXT    NOT NULL UNIQUE,
        first_name  TEXT    NOT NULL DEFAULT '',
        last_name   TEXT    NOT NULL DEFAULT '',
        avatar_url  TEXT    NOT NULL DEFAULT '',
        preferences TEXT    NOT NULL DEFAULT '{}',
        create_time INTEGER NOT NULL,
        update_time INTEGER NOT NULL,
        etag        TEXT    NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];

/** Applies the migrations `db` has not run yet, each in its own transaction; returns the versions it applied. */
export function migrate(db: Database, migrations: readonly Migration[], now: () => Date = () => new Date()): number[] {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`migration ${migration.name} has version ${migration.version}, expected ${index + 1}`);
  });
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const latest = db.prepare<[], { version: number | null }>("SELECT max(version) AS version FROM schema_migrations");
  const record = db.prepare<[number, number]>("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
  const applied: number[] = [];
  for (const migration of migrations) {
    // IMMEDIATE takes the write lock before reading the version, so two processes opening one file cannot both apply it.
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
  if (current > migrations.length) throw new Error(`database schema version ${current} is newer than this build knows (${migrations.length})`);
  return applied;
}
