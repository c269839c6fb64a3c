// The users schema on PostgreSQL as an ordered list of migrations, applied at open by migratePg
// (@orderly/storage/postgres) inside the service's own schema. Append only: a released migration is never edited;
// change it with a new version.
import type { Migration } from "@orderly/storage/postgres";

/** The PostgreSQL users schema, oldest first. */
export const POSTGRES_USER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "create users",
    // id is COLLATE "C" so keyset order is byte order, exactly as in SQLite, whatever the database's locale. Uniqueness
    // is on lower(email) so a writer that forgot to lower-case still cannot duplicate an address; the store stores it
    // lower-cased anyway. Times are timestamptz (microseconds, so milliseconds survive). preferences is jsonb.
    sql: `
      CREATE TABLE users (
        id          text COLLATE "C" NOT NULL PRIMARY KEY,
        email       text        NOT NULL,
        first_name  text        NOT NULL DEFAULT '',
        last_name   text        NOT NULL DEFAULT '',
        avatar_url  text        NOT NULL DEFAULT '',
        preferences jsonb       NOT NULL DEFAULT '{}'::jsonb,
        create_time timestamptz NOT NULL,
        update_time timestamptz NOT NULL,
        etag        text        NOT NULL
      );
      CREATE UNIQUE INDEX users_email_key ON users (lower(email));
    `,
  },
];
