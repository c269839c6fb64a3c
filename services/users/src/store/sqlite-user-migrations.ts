// The users database schema as an ordered list of migrations, applied at open. Append only: a released migration is
// never edited, because databases in the field have already run it; change the schema with a new version instead.
import type { Migration } from "@orderly/storage/sqlite";

/** The SQLite users schema, oldest first. */
export const SQLITE_USER_MIGRATIONS: readonly Migration[] = [
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
