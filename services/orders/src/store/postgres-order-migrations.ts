// The orders schema on PostgreSQL as an ordered list of migrations, applied at open by migratePg
// (@orderly/storage/postgres) inside the service's own schema. Append only: a released migration is never edited.
import type { Migration } from "@orderly/storage/postgres";

/** The PostgreSQL orders schema, oldest first. */
export const POSTGRES_ORDER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "create orders, items, events, request ids and the event log head",
    // Money is bigint minor units, read back as bigint (never through a double). Ids are COLLATE "C" so "newest first"
    // is byte order, as in SQLite. Times are timestamptz (microseconds, so milliseconds survive).
    // order_events.revision is not a sequence: it comes from the single-row event_log_head, bumped inside each writing
    // transaction, so revisions commit in order with no gaps (see postgres-order-store.ts for why).
    // order_requests.order_id is DEFERRABLE because create claims the request id before it inserts the order.
    sql: `
      CREATE TABLE orders (
        id                text COLLATE "C" NOT NULL PRIMARY KEY,
        user_id           text COLLATE "C" NOT NULL,
        currency_code     text        NOT NULL,
        total_minor       bigint      NOT NULL CHECK (total_minor >= 0),
        ship_recipient    text        NOT NULL,
        ship_line1        text        NOT NULL,
        ship_line2        text        NOT NULL DEFAULT '',
        ship_city         text        NOT NULL,
        ship_region       text        NOT NULL DEFAULT '',
        ship_postal_code  text        NOT NULL,
        ship_country_code text        NOT NULL,
        state             text        NOT NULL CHECK (state IN ('PENDING', 'CONFIRMED', 'SHIPPED', 'DELIVERED', 'CANCELLED')),
        create_time       timestamptz NOT NULL,
        update_time       timestamptz NOT NULL,
        etag              text        NOT NULL
      );
      CREATE INDEX orders_by_user ON orders (user_id, id DESC);
      CREATE INDEX orders_by_state ON orders (state, id DESC);

      CREATE TABLE order_items (
        order_id         text COLLATE "C" NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        position         integer NOT NULL,
        sku              text    NOT NULL,
        quantity         integer NOT NULL,
        unit_price_minor bigint  NOT NULL,
        PRIMARY KEY (order_id, position)
      );

      CREATE TABLE order_events (
        revision   bigint      NOT NULL PRIMARY KEY,
        order_id   text COLLATE "C" NOT NULL REFERENCES orders (id),
        user_id    text        NOT NULL,
        type       text        NOT NULL,
        from_state text,
        to_state   text        NOT NULL,
        actor      text        NOT NULL,
        reason     text        NOT NULL DEFAULT '',
        time       timestamptz NOT NULL
      );
      CREATE INDEX order_events_by_order ON order_events (order_id, revision);
      CREATE INDEX order_events_by_time ON order_events (time, revision);

      CREATE TABLE order_requests (
        request_id   text NOT NULL PRIMARY KEY,
        request_hash text NOT NULL,
        order_id     text COLLATE "C" NOT NULL REFERENCES orders (id) DEFERRABLE INITIALLY DEFERRED
      );

      CREATE TABLE event_log_head (
        singleton boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (singleton),
        revision  bigint  NOT NULL CHECK (revision >= 0)
      );
      INSERT INTO event_log_head (revision) VALUES (0);
    `,
  },
];
