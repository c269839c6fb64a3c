// OrderStore on PostgreSQL, for several replicas sharing one database. Same semantics as the SQLite store (the same
// contract suite runs against both). Every write (request id, order, items, its event) is one transaction, so a change
// and its audit event commit together or not at all. Every error goes through mapPgError, so an outage is a
// retryable UNAVAILABLE rather than an INTERNAL.
//
// Revisions. EventFeed and WatchOrders read "events after the last revision I saw", so a revision must never become
// visible after a higher one: with a sequence, transaction A can take 10, B take 11 and commit first, and a reader
// that saw 11 skips 10 forever. Instead each event-writing transaction bumps the single row of event_log_head as its
// last write (UPDATE ... RETURNING revision). The row lock it takes is held until commit, so the next writer gets its
// number only after this one has committed (or rolled back, in which case the number is reused: no gaps either).
// The cost, accepted on purpose: event-writing transactions serialize on that row from the bump to their commit.
// It is taken last, after the order's own row locks, to keep that window to one statement plus the commit.
// The same transaction calls pg_notify, delivered to LISTENers (postgres-order-notifications.ts) on commit.
import type pg from "pg";
import { createPgPool, mapPgError, migratePg, pgQuery, withTransaction, type PgPoolOptions } from "@orderly/storage/postgres";
import type { LineItem, NewOrderEvent, Order, OrderEvent, OrderEventType, OrderState } from "../domain/model.js";
import type { CreateOrderRecord, CreateOutcome, OrderListQuery, OrderStore } from "../domain/order-store.js";
import { POSTGRES_ORDER_MIGRATIONS } from "./postgres-order-migrations.js";

/** The channel every committed order event is announced on; the payload is its revision. */
export const ORDER_EVENTS_CHANNEL = "orderly_order_events";

/** Where the orders live: a URL (the store makes and owns its pool) or a shared pool made for the same schema. */
export interface PostgresOrderStoreOptions extends Partial<Omit<PgPoolOptions, "url" | "schema">> {
  /** A postgres:// URL; required unless `pool` is given. */
  url?: string;
  /** The service's schema (default "orders"); created and migrated at open. */
  schema?: string;
  /** A pool whose search_path is `schema` (see createPgPool); the store uses it and never ends it. */
  pool?: pg.Pool;
}

interface OrderRow {
  id: string;
  user_id: string;
  currency_code: string;
  /** int8 arrives as a decimal string; converted with BigInt, never Number. */
  total_minor: string;
  ship_recipient: string;
  ship_line1: string;
  ship_line2: string;
  ship_city: string;
  ship_region: string;
  ship_postal_code: string;
  ship_country_code: string;
  state: OrderState;
  create_time: Date;
  update_time: Date;
  etag: string;
  /** [sku, quantity, unit price as a decimal string] in position order. */
  items: [string, number, string][];
}

interface EventRow {
  revision: string;
  order_id: string;
  user_id: string;
  type: OrderEventType;
  from_state: OrderState | null;
  to_state: OrderState;
  actor: string;
  reason: string;
  time: Date;
}

// One statement reads an order with its items, so both come from one snapshot even while an update rewrites them.
// Prices travel as text inside the JSON: a JSON number would pass through a double.
const ORDER_FIELDS = `
  o.id, o.user_id, o.currency_code, o.total_minor, o.ship_recipient, o.ship_line1, o.ship_line2, o.ship_city,
    o.ship_region, o.ship_postal_code, o.ship_country_code, o.state, o.create_time, o.update_time, o.etag,
    coalesce((SELECT json_agg(json_build_array(i.sku, i.quantity, i.unit_price_minor::text) ORDER BY i.position)
              FROM order_items i WHERE i.order_id = o.id), '[]'::json) AS items`;
const ORDER_SELECT = `SELECT ${ORDER_FIELDS} FROM orders o`;
const EVENT_COLUMNS = "revision, order_id, user_id, type, from_state, to_state, actor, reason, time";
// Bump the head (the lock that orders commits, see the top of the file), write the event, announce it on commit.
const APPEND_EVENT = `
  WITH head AS (UPDATE event_log_head SET revision = revision + 1 RETURNING revision),
  event AS (
    INSERT INTO order_events (${EVENT_COLUMNS})
    SELECT head.revision, $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::timestamptz FROM head
    RETURNING ${EVENT_COLUMNS}
  )
  SELECT ${EVENT_COLUMNS}, pg_notify('${ORDER_EVENTS_CHANNEL}', revision::text) AS notified FROM event`;
const INSERT_ITEMS = `
  INSERT INTO order_items (order_id, position, sku, quantity, unit_price_minor)
  SELECT $1, t.position - 1, t.sku, t.quantity, t.price
  FROM unnest($2::text[], $3::integer[], $4::bigint[]) WITH ORDINALITY AS t(sku, quantity, price, position)`;

/** Opens a PostgreSQL-backed OrderStore, creating and migrating its schema first (safe when replicas start together). */
export async function openPostgresOrderStore(options: PostgresOrderStoreOptions): Promise<OrderStore> {
  const { url, pool: shared, schema = "orders", ...poolOptions } = options;
  if (!shared && !url) throw new TypeError("openPostgresOrderStore needs a url or a pool");
  const pool = shared ?? createPgPool({ ...poolOptions, url: url!, schema });
  try {
    await migratePg(pool, schema, POSTGRES_ORDER_MIGRATIONS);
  } catch (error) {
    if (!shared) await pool.end().catch(() => {});
    throw mapPgError(error);
  }
  return new PostgresOrderStore(pool, !shared);
}

class PostgresOrderStore implements OrderStore {
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly ownsPool: boolean,
  ) {}

  async create(record: CreateOrderRecord, signal?: AbortSignal): Promise<CreateOutcome> {
    return withTransaction(
      this.pool,
      async (client): Promise<CreateOutcome> => {
        // The claim comes first. A concurrent claim of the same id (from this process or another replica) makes this
        // INSERT wait for that transaction; once it commits, DO NOTHING returns no row and we read the winner back.
        const claimed = await pgQuery(
          client,
          "INSERT INTO order_requests (request_id, request_hash, order_id) VALUES ($1, $2, $3) ON CONFLICT (request_id) DO NOTHING RETURNING 1",
          [record.requestId, record.requestHash, record.order.id],
          signal,
        );
        if (claimed.length === 0) {
          // A new statement, so under READ COMMITTED it sees the winner's committed row.
          const [earlier] = await pgQuery<{ request_hash: string; order_id: string }>(
            client,
            "SELECT request_hash, order_id FROM order_requests WHERE request_id = $1",
            [record.requestId],
            signal,
          );
          if (!earlier) throw new Error(`request id ${record.requestId} conflicted but is not stored`);
          if (earlier.request_hash !== record.requestHash) return { kind: "reused", existingOrderId: earlier.order_id };
          return { kind: "replayed", order: (await this.readOrder(client, earlier.order_id, signal))! };
        }
        const o = record.order;
        const a = o.shippingAddress;
        await pgQuery(
          client,
          `INSERT INTO orders (id, user_id, currency_code, total_minor, ship_recipient, ship_line1, ship_line2, ship_city,
             ship_region, ship_postal_code, ship_country_code, state, create_time, update_time, etag)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
          [o.id, o.userId, o.currencyCode, o.totalMinor.toString(), a.recipient, a.line1, a.line2, a.city, a.region, a.postalCode, a.countryCode, o.state, o.createTime, o.updateTime, o.etag],
          signal,
        );
        await this.writeItems(client, o, signal);
        const event = await this.appendEvent(client, record.event, signal);
        return { kind: "created", order: (await this.readOrder(client, o.id, signal))!, event };
      },
      signal,
    );
  }

  async findByRequestId(requestId: string, signal?: AbortSignal): Promise<{ order: Order; requestHash: string } | undefined> {
    const [row] = await pgQuery<OrderRow & { request_hash: string }>(
      this.pool,
      `SELECT ${ORDER_FIELDS}, r.request_hash FROM order_requests r JOIN orders o ON o.id = r.order_id WHERE r.request_id = $1`,
      [requestId],
      signal,
    );
    return row && { order: toOrder(row), requestHash: row.request_hash };
  }

  async get(id: string, signal?: AbortSignal): Promise<Order | undefined> {
    return this.readOrder(this.pool, id, signal);
  }

  async list(query: OrderListQuery, signal?: AbortSignal): Promise<Order[]> {
    const values: unknown[] = [];
    const conditions: string[] = [];
    const where = (column: string, operator: string, value: unknown): void => {
      values.push(value);
      conditions.push(`o.${column} ${operator} $${values.length}`);
    };
    // Only the conditions that apply, so the planner can use (user_id, id DESC) or (state, id DESC).
    if (query.filter.userId) where("user_id", "=", query.filter.userId);
    if (query.filter.state) where("state", "=", query.filter.state);
    if (query.beforeId !== undefined) where("id", "<", query.beforeId);
    values.push(query.limit);
    const filter = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
    const rows = await pgQuery<OrderRow>(this.pool, `${ORDER_SELECT} ${filter} ORDER BY o.id DESC LIMIT $${values.length}`, values, signal);
    return rows.map(toOrder);
  }

  async update(order: Order, expectedEtag: string, event: NewOrderEvent, signal?: AbortSignal): Promise<{ order: Order; event: OrderEvent } | undefined> {
    return withTransaction(
      this.pool,
      async (client) => {
        const a = order.shippingAddress;
        // user_id, currency_code and create_time are immutable, so the CAS never writes them.
        const changed = await pgQuery(
          client,
          `UPDATE orders SET total_minor = $3, ship_recipient = $4, ship_line1 = $5, ship_line2 = $6, ship_city = $7,
             ship_region = $8, ship_postal_code = $9, ship_country_code = $10, state = $11, update_time = $12, etag = $13
           WHERE id = $1 AND etag = $2
           RETURNING 1`,
          [order.id, expectedEtag, order.totalMinor.toString(), a.recipient, a.line1, a.line2, a.city, a.region, a.postalCode, a.countryCode, order.state, order.updateTime, order.etag],
          signal,
        );
        // A lost CAS writes nothing: no items, no event, and the head revision is not even touched.
        if (changed.length === 0) return undefined;
        // Items are at most 100 rows; rewriting them is simpler than diffing and costs little.
        await pgQuery(client, "DELETE FROM order_items WHERE order_id = $1", [order.id], signal);
        await this.writeItems(client, order, signal);
        const written = await this.appendEvent(client, event, signal);
        return { order: (await this.readOrder(client, order.id, signal))!, event: written };
      },
      signal,
    );
  }

  async orderEvents(orderId: string, afterRevision: number, limit: number, signal?: AbortSignal): Promise<OrderEvent[]> {
    const rows = await pgQuery<EventRow>(
      this.pool,
      `SELECT ${EVENT_COLUMNS} FROM order_events WHERE order_id = $1 AND revision > $2 ORDER BY revision LIMIT $3`,
      [orderId, afterRevision, limit],
      signal,
    );
    return rows.map(toEvent);
  }

  async eventsAfter(afterRevision: number, limit: number, signal?: AbortSignal): Promise<OrderEvent[]> {
    const rows = await pgQuery<EventRow>(this.pool, `SELECT ${EVENT_COLUMNS} FROM order_events WHERE revision > $1 ORDER BY revision LIMIT $2`, [afterRevision, limit], signal);
    return rows.map(toEvent);
  }

  async headRevision(signal?: AbortSignal): Promise<number> {
    // The committed counter: it moves only when an event commits, so it equals the newest visible revision.
    const [row] = await pgQuery<{ revision: string }>(this.pool, "SELECT revision FROM event_log_head", [], signal);
    return Number(row?.revision ?? 0);
  }

  async firstRevisionSince(since: Date, signal?: AbortSignal): Promise<number | undefined> {
    const [row] = await pgQuery<{ first: string | null }>(this.pool, "SELECT min(revision) AS first FROM order_events WHERE time >= $1", [since], signal);
    return row?.first == null ? undefined : Number(row.first);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPool) await this.pool.end();
  }

  private async readOrder(runner: pg.Pool | pg.PoolClient, id: string, signal: AbortSignal | undefined): Promise<Order | undefined> {
    const [row] = await pgQuery<OrderRow>(runner, `${ORDER_SELECT} WHERE o.id = $1`, [id], signal);
    return row && toOrder(row);
  }

  private async writeItems(client: pg.PoolClient, order: Order, signal: AbortSignal | undefined): Promise<void> {
    if (order.items.length === 0) return;
    await pgQuery(
      client,
      INSERT_ITEMS,
      [order.id, order.items.map((i) => i.sku), order.items.map((i) => i.quantity), order.items.map((i) => i.unitPriceMinor.toString())],
      signal,
    );
  }

  private async appendEvent(client: pg.PoolClient, event: NewOrderEvent, signal: AbortSignal | undefined): Promise<OrderEvent> {
    const [row] = await pgQuery<EventRow>(
      client,
      APPEND_EVENT,
      [event.orderId, event.userId, event.type, event.fromState ?? null, event.toState, event.actor, event.reason, event.time],
      signal,
    );
    return toEvent(row!);
  }
}

function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    userId: row.user_id,
    items: row.items.map(([sku, quantity, price]): LineItem => ({ sku, quantity, unitPriceMinor: BigInt(price) })),
    totalMinor: BigInt(row.total_minor),
    currencyCode: row.currency_code,
    shippingAddress: {
      recipient: row.ship_recipient,
      line1: row.ship_line1,
      line2: row.ship_line2,
      city: row.ship_city,
      region: row.ship_region,
      postalCode: row.ship_postal_code,
      countryCode: row.ship_country_code,
    },
    state: row.state,
    createTime: row.create_time,
    updateTime: row.update_time,
    etag: row.etag,
  };
}

function toEvent(row: EventRow): OrderEvent {
  return {
    // Revisions stay far below 2^53, so a number is exact.
    revision: Number(row.revision),
    orderId: row.order_id,
    userId: row.user_id,
    type: row.type,
    fromState: row.from_state ?? undefined,
    toState: row.to_state,
    actor: row.actor,
    reason: row.reason,
    time: row.time,
  };
}
