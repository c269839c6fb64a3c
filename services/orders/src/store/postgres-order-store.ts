// OrderStore on PostgreSQL, for several replicas sharing one database. Same semantics as the SQLite store (the same
// contract suite runs against both). Every write (request id, order, items, its event) is one transaction, so a change
// and its audit event commit together or not at all: create and update are each a single autocommit statement
// (CREATE_ORDER, UPDATE_ORDER_STATEMENT; one round trip, prepared once per connection). Every error goes through
// mapPgError, so an outage is a retryable UNAVAILABLE rather than an INTERNAL.
//
// Revisions. EventFeed and WatchOrders read "events after the last revision I saw", so a revision must never become
// visible after a higher one: with a sequence, transaction A can take 10, B take 11 and commit first, and a reader
// that saw 11 skips 10 forever. Instead each event-writing transaction bumps the single row of event_log_head as its
// last write (UPDATE ... RETURNING revision). The row lock it takes is held until commit, so the next writer gets its
// number only after this one has committed (or rolled back, in which case the number is reused: no gaps either).
// The cost, accepted on purpose: event-writing transactions serialize on that row from the bump to their commit.
// It is taken last, after the order's own row locks, so that window is the rest of one statement plus its commit.
// The same transaction calls pg_notify, delivered to LISTENers (postgres-order-notifications.ts) on commit.
import type pg from "pg";
import {
  createPgPool,
  mapPgError,
  migratePg,
  pgQuery,
  positionalAssignments,
  positionalValues,
  type PgPoolOptions,
} from "@orderly/storage/postgres";
import { throwIfAborted } from "@orderly/kit/domain";
import type { NewOrderEvent, Order, OrderEvent } from "../domain/model.js";
import type { CreateOrderRecord, CreateOutcome, OrderListQuery, OrderStore } from "../domain/order-store.js";
import { oneRow } from "@orderly/storage";
import {
  EVENT_COLUMNS,
  EVENT_INSERT_COLUMNS,
  eventFromRow,
  eventRow,
  itemFromRow,
  itemRows,
  ORDER_COLUMNS,
  ORDER_UPDATE_COLUMNS,
  orderFromRow,
  orderRow,
  type StoredEventRow,
  type StoredItemRow,
  type StoredOrderRow,
} from "./order-rows.js";
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

/** An orders row read with its items, which one statement aggregates as JSON (see ORDER_FIELDS). */
type OrderWithItemsRow = StoredOrderRow & { items: StoredItemRow[] };

// One statement reads an order with its items, so both come from one snapshot even while an update rewrites them.
// Prices travel as text inside the JSON: a JSON number would pass through a double.
const ORDER_FIELDS = `
  ${ORDER_COLUMNS.map((column) => `o.${column}`).join(", ")},
    coalesce((SELECT json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity, 'unit_price_minor', i.unit_price_minor::text)
                              ORDER BY i.position)
              FROM order_items i WHERE i.order_id = o.id), '[]'::json) AS items`;
const ORDER_SELECT = `SELECT ${ORDER_FIELDS} FROM orders o`;
const EVENT_LIST = EVENT_COLUMNS.join(", ");
/** The item rows of the order in CTE `order`, from three array parameters (skus, quantities, prices) at `first`. */
function itemRowsFrom(order: string, first: number): string {
  return `SELECT ${order}.id, t.position - 1, t.sku, t.quantity, t.price
    FROM ${order}, unnest($${first}::text[], $${first + 1}::integer[], $${first + 2}::bigint[])
      WITH ORDINALITY AS t(sku, quantity, price, position)`;
}

/**
 * The head and event CTEs both writing statements share: bump the head once `ready` holds (it reads the CTEs before,
 * so the bump comes after every row is written) and append the event from parameters at `firstEventParam`, returning
 * `returning` of it.
 */
function appendEvent(ready: string, firstEventParam: number, returning: string): string {
  return `head AS (
    UPDATE event_log_head SET revision = revision + 1
    WHERE ${ready}
    RETURNING revision
  ),
  event AS (
    INSERT INTO order_events (revision, ${EVENT_INSERT_COLUMNS.join(", ")})
    SELECT head.revision, ${positionalValues(EVENT_INSERT_COLUMNS.length, firstEventParam)} FROM head
    RETURNING ${returning}
  )`;
}

/**
 * The end of the update statement: appendEvent, then the order of CTE `order` with the items new_items wrote and the
 * event (columns prefixed with EVENT_PREFIX), notifying every feed.
 */
function appendEventReturning(order: string, ready: string, firstEventParam: number): string {
  return `${appendEvent(ready, firstEventParam, EVENT_LIST)}
  SELECT ${ORDER_COLUMNS.map((column) => `o.${column}`).join(", ")},
    coalesce((SELECT json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity, 'unit_price_minor', i.unit_price_minor::text)
                              ORDER BY i.position)
              FROM new_items i), '[]'::json) AS items,
    ${EVENT_COLUMNS.map((column) => `e.${column} AS ${EVENT_PREFIX}${column}`).join(", ")},
    pg_notify('${ORDER_EVENTS_CHANNEL}', e.revision::text) AS notified
  FROM ${order} o, event e`;
}

// CreateOrder as ONE statement, sent without BEGIN/COMMIT: a single statement is atomic, so the claim, the order, its
// items and its event commit together or not at all (the deferred order_requests -> orders key is checked at that
// commit). Each step is FROM the previous one, so when the claim returns no row (the request id is taken) nothing else
// is written, the head is not bumped and the statement returns no row. A concurrent claim of the same id makes the
// claim wait for the other transaction, as in an explicit one. The head is bumped only after the order and all its
// items are written (its WHERE reads both), so its lock is held from there to the commit right after, as before.
// It returns only the event's revision: every other value of the outcome is the record's own (see createdOutcome), so
// neither side builds, sends or parses the rows it just wrote.
const ORDER_COUNT = ORDER_COLUMNS.length;
const EVENT_PREFIX = "event_";
const CREATE_ORDER = `
  WITH claim AS (
    INSERT INTO order_requests (request_id, request_hash, order_id) VALUES ($${ORDER_COUNT + 1}, $${ORDER_COUNT + 2}, $1)
    ON CONFLICT (request_id) DO NOTHING RETURNING order_id
  ),
  new_order AS (
    INSERT INTO orders (${ORDER_COLUMNS.join(", ")}) SELECT ${positionalValues(ORDER_COUNT)} FROM claim
    RETURNING id
  ),
  new_items AS (
    INSERT INTO order_items (order_id, position, sku, quantity, unit_price_minor)
    ${itemRowsFrom("new_order", ORDER_COUNT + 3)}
    RETURNING 1
  ),
${appendEvent("EXISTS (SELECT 1 FROM new_order) AND (SELECT count(*) FROM new_items) >= 0", ORDER_COUNT + 6, "revision")}
  SELECT e.revision, pg_notify('${ORDER_EVENTS_CHANNEL}', e.revision::text) AS notified FROM event e`;

// Group commit: CREATE_ORDERS stores several creates in ONE statement with ONE bump of the head, so they share one
// commit (one WAL flush) and hold the head's row lock once. Each column of the records travels as one array; the items
// of all of them as five arrays keyed by order id. Claims are made in request-id order, so two replicas' batches wait
// for each other's claims in the same order and cannot deadlock. A record whose claim finds its request id taken
// (committed by someone else) writes nothing and returns no row; the caller then settles it as CREATE_ORDER's callers
// do. Events get consecutive revisions in the records' order, and one pg_notify announces the highest. Like
// CREATE_ORDER it returns only each created order's id and revision.
const ORDER_TYPES: Record<(typeof ORDER_COLUMNS)[number], string> = {
  id: "text",
  user_id: "text",
  currency_code: "text",
  total_minor: "bigint",
  ship_recipient: "text",
  ship_line1: "text",
  ship_line2: "text",
  ship_city: "text",
  ship_region: "text",
  ship_postal_code: "text",
  ship_country_code: "text",
  state: "text",
  create_time: "timestamptz",
  update_time: "timestamptz",
  etag: "text",
};
const EVENT_TYPES: Record<(typeof EVENT_INSERT_COLUMNS)[number], string> = {
  order_id: "text",
  user_id: "text",
  type: "text",
  from_state: "text",
  to_state: "text",
  actor: "text",
  reason: "text",
  time: "timestamptz",
};
const BATCH_INPUT = [
  ...ORDER_COLUMNS.map((column) => ({ name: column, type: ORDER_TYPES[column] })),
  { name: "request_id", type: "text" },
  { name: "request_hash", type: "text" },
  ...EVENT_INSERT_COLUMNS.map((column) => ({ name: `e_${column}`, type: EVENT_TYPES[column] })),
];
const FIRST_ITEM_PARAM = BATCH_INPUT.length + 1;
const CREATE_ORDERS = `
  WITH input AS (
    SELECT * FROM unnest(${BATCH_INPUT.map((column, i) => `$${i + 1}::${column.type}[]`).join(", ")})
      WITH ORDINALITY AS t(${BATCH_INPUT.map((column) => column.name).join(", ")}, ord)
  ),
  claim AS (
    INSERT INTO order_requests (request_id, request_hash, order_id)
    SELECT request_id, request_hash, id FROM input ORDER BY request_id
    ON CONFLICT (request_id) DO NOTHING RETURNING order_id
  ),
  new_order AS (
    INSERT INTO orders (${ORDER_COLUMNS.join(", ")})
    SELECT ${ORDER_COLUMNS.join(", ")} FROM input WHERE id IN (SELECT order_id FROM claim) ORDER BY ord
    RETURNING id
  ),
  new_items AS (
    INSERT INTO order_items (order_id, position, sku, quantity, unit_price_minor)
    SELECT t.order_id, t.position, t.sku, t.quantity, t.price
    FROM unnest($${FIRST_ITEM_PARAM}::text[], $${FIRST_ITEM_PARAM + 1}::integer[], $${FIRST_ITEM_PARAM + 2}::text[],
                $${FIRST_ITEM_PARAM + 3}::integer[], $${FIRST_ITEM_PARAM + 4}::bigint[])
      AS t(order_id, position, sku, quantity, price)
    WHERE t.order_id IN (SELECT id FROM new_order)
    RETURNING 1
  ),
  numbered AS (
    SELECT input.*, row_number() OVER (ORDER BY input.ord) AS k, count(*) OVER () AS n
    FROM input WHERE input.id IN (SELECT id FROM new_order)
  ),
  head AS (
    UPDATE event_log_head SET revision = revision + (SELECT count(*) FROM numbered)
    WHERE EXISTS (SELECT 1 FROM numbered) AND (SELECT count(*) FROM new_items) >= 0
    RETURNING revision
  ),
  event AS (
    INSERT INTO order_events (revision, ${EVENT_INSERT_COLUMNS.join(", ")})
    SELECT head.revision - numbered.n + numbered.k, ${EVENT_INSERT_COLUMNS.map((column) => `numbered.e_${column}`).join(", ")}
    FROM head, numbered
    RETURNING revision, order_id
  )
  SELECT e.order_id AS id, e.revision,
    (SELECT pg_notify('${ORDER_EVENTS_CHANNEL}', max(revision)::text) FROM event) AS notified
  FROM event e
  ORDER BY e.revision`;

/** The most creates one CREATE_ORDERS statement carries. */
const MAX_CREATE_BATCH = 64;

/** CREATE_ORDERS' parameters: one array per input column, then the five item arrays. */
/** A create's order columns, then its request id and hash: the head of both create statements' parameters. */
function claimValues(record: CreateOrderRecord): unknown[] {
  const row = orderRow(record.order);
  return [...ORDER_COLUMNS.map((column) => row[column]), record.requestId, record.requestHash];
}

/** A create's event columns: the tail of both create statements' parameters. */
function eventValues(record: CreateOrderRecord): unknown[] {
  const event = eventRow(record.event);
  return EVENT_INSERT_COLUMNS.map((column) => event[column]);
}

function batchValues(records: readonly CreateOrderRecord[]): unknown[] {
  const columns: unknown[][] = BATCH_INPUT.map(() => []);
  const orderIds: string[] = [];
  const positions: number[] = [];
  const skus: string[] = [];
  const quantities: number[] = [];
  const prices: bigint[] = [];
  for (const record of records) {
    const values = [...claimValues(record), ...eventValues(record)];
    columns.forEach((column, i) => column.push(values[i]));
    for (const item of itemRows(record.order)) {
      orderIds.push(item.order_id);
      positions.push(item.position);
      skus.push(item.sku);
      quantities.push(item.quantity);
      prices.push(item.unit_price_minor);
    }
  }
  return [...columns, orderIds, positions, skus, quantities, prices];
}

/** A create waiting for (or riding in) a CREATE_ORDERS statement. */
interface PendingCreate {
  record: CreateOrderRecord;
  signal: AbortSignal | undefined;
  resolve: (outcome: CreateOutcome) => void;
  reject: (error: unknown) => void;
}

/** The orders several request ids created, with each request's hash and id: findByRequestId's batched statement. */
const FIND_REQUESTS = `SELECT ${ORDER_FIELDS}, r.request_hash, r.request_id
  FROM order_requests r JOIN orders o ON o.id = r.order_id WHERE r.request_id = ANY($1::text[])`;

/** The most lookups one FIND_REQUESTS statement carries. */
const MAX_FIND_BATCH = 256;

type FoundRow = OrderWithItemsRow & { request_hash: string; request_id: string };

/** A findByRequestId waiting for (or riding in) a FIND_REQUESTS statement. */
interface PendingFind {
  requestId: string;
  signal: AbortSignal | undefined;
  resolve: (found: { order: Order; requestHash: string } | undefined) => void;
  reject: (error: unknown) => void;
}

/** CREATE_ORDERS' row per created order: its id and its event's revision (int8 as text). */
interface BatchCreatedRow {
  id: string;
  revision: string;
}

/** UPDATE_ORDER_STATEMENT's row: the order's columns and items, then the event's columns prefixed with EVENT_PREFIX. */
type UpdatedRow = OrderWithItemsRow & Record<`${typeof EVENT_PREFIX}${(typeof EVENT_COLUMNS)[number]}`, unknown>;

function updatedEvent(row: UpdatedRow): StoredEventRow {
  return Object.fromEntries(
    EVENT_COLUMNS.map((column) => [column, row[`${EVENT_PREFIX}${column}`]]),
  ) as unknown as StoredEventRow;
}

// A compare-and-set update as ONE autocommit statement, like CREATE_ORDER. Every step is FROM the CAS, so a lost CAS
// writes nothing and leaves the head alone. The items are rewritten without a DELETE of the rows the INSERT writes
// again (one statement cannot delete and re-insert a key): positions that still exist are upserted, the ones past the
// new length deleted. The order's row lock comes first and the head's last, as in the old transaction.
const UPDATE_COUNT = ORDER_UPDATE_COLUMNS.length;
const UPDATE_ORDER_STATEMENT = `
  WITH changed AS (
    UPDATE orders SET ${positionalAssignments(ORDER_UPDATE_COLUMNS, 3)} WHERE id = $1 AND etag = $2
    RETURNING ${ORDER_COLUMNS.join(", ")}
  ),
  dropped AS (
    DELETE FROM order_items i USING changed
    WHERE i.order_id = changed.id AND i.position >= cardinality($${UPDATE_COUNT + 3}::text[])
    RETURNING 1
  ),
  new_items AS (
    INSERT INTO order_items (order_id, position, sku, quantity, unit_price_minor)
    ${itemRowsFrom("changed", UPDATE_COUNT + 3)}
    ON CONFLICT (order_id, position)
      DO UPDATE SET sku = excluded.sku, quantity = excluded.quantity, unit_price_minor = excluded.unit_price_minor
    RETURNING position, sku, quantity, unit_price_minor
  ),
${appendEventReturning(
  "changed",
  "EXISTS (SELECT 1 FROM changed) AND (SELECT count(*) FROM new_items) >= 0 AND (SELECT count(*) FROM dropped) >= 0",
  UPDATE_COUNT + 6,
)}`;

/**
 * Opens a PostgreSQL-backed OrderStore, creating and migrating its schema first (safe when replicas start together).
 */
export async function openPostgresOrderStore(options: PostgresOrderStoreOptions): Promise<OrderStore> {
  const { url, pool: shared, schema = "orders", ...poolOptions } = options;
  const pool = shared ?? (url === undefined ? undefined : createPgPool({ ...poolOptions, url, schema }));
  if (!pool) throw new TypeError("openPostgresOrderStore needs a url or a pool");
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
  /** Creates waiting for the statement in flight to finish; then they go together (see CREATE_ORDERS). */
  private queuedCreates: PendingCreate[] = [];
  private sendingCreates = false;
  /** Request-id lookups waiting for the one in flight to finish; then they go together (see FIND_REQUESTS). */
  private queuedFinds: PendingFind[] = [];
  private sendingFinds = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly ownsPool: boolean,
  ) {}

  /**
   * A create goes out at once when no create statement of this store is in flight; otherwise it queues, and all that
   * queued meanwhile go in the next statement (group commit). One that is cancelled while queued writes nothing; once
   * sent, it commits or not with its batch, like any statement a cancelled caller had started.
   */
  async create(record: CreateOrderRecord, signal?: AbortSignal): Promise<CreateOutcome> {
    throwIfAborted(signal);
    return new Promise<CreateOutcome>((resolve, reject) => {
      this.queuedCreates.push({ record, signal, resolve, reject });
      if (!this.sendingCreates) void this.sendCreates();
    });
  }

  private async sendCreates(): Promise<void> {
    this.sendingCreates = true;
    try {
      while (this.queuedCreates.length > 0) await this.createBatch(this.takeBatch());
    } finally {
      this.sendingCreates = false;
    }
  }

  /**
   * Up to MAX_CREATE_BATCH queued creates, oldest first, at most one per request id (a twin waits for the next
   * statement, where its claim finds the first one's). Creates cancelled while queued are rejected and dropped.
   */
  private takeBatch(): PendingCreate[] {
    const batch: PendingCreate[] = [];
    const requestIds = new Set<string>();
    const rest: PendingCreate[] = [];
    for (const pending of this.queuedCreates) {
      if (pending.signal?.aborted) pending.reject(pending.signal.reason);
      else if (batch.length >= MAX_CREATE_BATCH || requestIds.has(pending.record.requestId)) rest.push(pending);
      else {
        requestIds.add(pending.record.requestId);
        batch.push(pending);
      }
    }
    this.queuedCreates = rest;
    return batch;
  }

  /** Stores `batch` and settles each of its creates; never throws. */
  private async createBatch(batch: PendingCreate[]): Promise<void> {
    const [only, ...others] = batch;
    if (!only) return;
    if (others.length === 0) {
      await settle(only, () => this.createOne(only.record, only.signal));
      return;
    }
    let rows: BatchCreatedRow[];
    try {
      rows = await pgQuery<BatchCreatedRow>(
        this.pool,
        { name: "orderly_orders_create_batch", text: CREATE_ORDERS },
        batchValues(batch.map((pending) => pending.record)),
      );
    } catch (error) {
      // The statement wrote nothing. Refused data (class 22, data exception; 23, integrity constraint violation) is
      // one record's fault: alone, each fails or succeeds on its own. Anything else (an outage, a timeout) is
      // everyone's, as it would have been for each of them alone.
      if (!refusedData(error)) {
        const mapped = mapPgError(error);
        for (const pending of batch) pending.reject(mapped);
        return;
      }
      for (const pending of batch) await settle(pending, () => this.createOne(pending.record));
      return;
    }
    const created = new Map(rows.map((row) => [row.id, row]));
    for (const pending of batch) {
      const row = created.get(pending.record.order.id);
      if (row) pending.resolve(createdOutcome(pending.record, row.revision));
      // The request id was taken by a committed claim: settled without holding up the next statement.
      else void settle(pending, () => this.earlierOutcome(pending.record, undefined));
    }
  }

  private async createOne(record: CreateOrderRecord, signal?: AbortSignal): Promise<CreateOutcome> {
    // One autocommit statement (see CREATE_ORDER): a fresh claim creates everything and returns its revision in one
    // round trip.
    const items = itemRows(record.order);
    const values = [
      ...claimValues(record),
      items.map((item) => item.sku),
      items.map((item) => item.quantity),
      items.map((item) => item.unit_price_minor),
      ...eventValues(record),
    ];
    const [created] = await pgQuery<{ revision: string }>(
      this.pool,
      { name: "orderly_orders_create", text: CREATE_ORDER },
      values,
      signal,
    );
    if (created) return createdOutcome(record, created.revision);
    return this.earlierOutcome(record, signal);
  }

  /** The outcome of a create whose claim found its request id taken: a replay of that order, or a reuse. */
  private async earlierOutcome(record: CreateOrderRecord, signal: AbortSignal | undefined): Promise<CreateOutcome> {
    // The claim found the request id taken (by a committed claim: a concurrent one made the statement wait for it).
    // A new statement, so under READ COMMITTED it sees the winner's committed row.
    const [earlier] = await pgQuery<{ request_hash: string; order_id: string }>(
      this.pool,
      "SELECT request_hash, order_id FROM order_requests WHERE request_id = $1",
      [record.requestId],
      signal,
    );
    if (!earlier) throw new Error(`request id ${record.requestId} conflicted but is not stored`);
    if (earlier.request_hash !== record.requestHash) return { kind: "reused", existingOrderId: earlier.order_id };
    const order = oneRow(await this.readOrder(this.pool, earlier.order_id, signal), "reading the replayed order");
    return { kind: "replayed", order };
  }

  /**
   * Batched like create: a lookup goes out at once when none of this store's is in flight; otherwise it queues, and
   * all that queued meanwhile go in one statement (request_id = ANY). One cancelled while queued is rejected unsent.
   */
  async findByRequestId(
    requestId: string,
    signal?: AbortSignal,
  ): Promise<{ order: Order; requestHash: string } | undefined> {
    throwIfAborted(signal);
    return new Promise((resolve, reject) => {
      this.queuedFinds.push({ requestId, signal, resolve, reject });
      if (!this.sendingFinds) void this.sendFinds();
    });
  }

  private async sendFinds(): Promise<void> {
    this.sendingFinds = true;
    try {
      while (this.queuedFinds.length > 0) {
        const batch: PendingFind[] = [];
        for (const pending of this.queuedFinds.splice(0, MAX_FIND_BATCH)) {
          if (pending.signal?.aborted) pending.reject(pending.signal.reason);
          else batch.push(pending);
        }
        await this.findBatch(batch);
      }
    } finally {
      this.sendingFinds = false;
    }
  }

  /** Looks up `batch` and settles each of its lookups; never throws. */
  private async findBatch(batch: PendingFind[]): Promise<void> {
    if (batch.length === 0) return;
    let rows: FoundRow[];
    try {
      rows = await pgQuery<FoundRow>(this.pool, { name: "orderly_orders_find_requests", text: FIND_REQUESTS }, [
        [...new Set(batch.map((pending) => pending.requestId))],
      ]);
    } catch (error) {
      // A request id PostgreSQL refuses (a NUL byte) fails the statement: alone, only that lookup fails.
      if (!refusedData(error) || batch.length === 1) {
        const mapped = mapPgError(error);
        for (const pending of batch) pending.reject(mapped);
        return;
      }
      for (const pending of batch) await this.findBatch([pending]);
      return;
    }
    const found = new Map(rows.map((row) => [row.request_id, row]));
    for (const pending of batch) {
      const row = found.get(pending.requestId);
      pending.resolve(row && { order: orderWithItems(row), requestHash: row.request_hash });
    }
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
    const rows = await pgQuery<OrderWithItemsRow>(
      this.pool,
      `${ORDER_SELECT} ${filter} ORDER BY o.id DESC LIMIT $${values.length}`,
      values,
      signal,
    );
    return rows.map(orderWithItems);
  }

  async update(
    order: Order,
    expectedEtag: string,
    event: NewOrderEvent,
    signal?: AbortSignal,
  ): Promise<{ order: Order; event: OrderEvent } | undefined> {
    const row = orderRow(order);
    const items = itemRows(order);
    const values = [
      row.id,
      expectedEtag,
      ...ORDER_UPDATE_COLUMNS.map((column) => row[column]),
      items.map((item) => item.sku),
      items.map((item) => item.quantity),
      items.map((item) => item.unit_price_minor),
      ...EVENT_INSERT_COLUMNS.map((column) => eventRow(event)[column]),
    ];
    const [updated] = await pgQuery<UpdatedRow>(
      this.pool,
      { name: "orderly_orders_update", text: UPDATE_ORDER_STATEMENT },
      values,
      signal,
    );
    // A lost CAS writes nothing: no items, no event, and the head revision is not even touched.
    if (!updated) return undefined;
    return { order: orderWithItems(updated), event: eventFromRow(updatedEvent(updated)) };
  }

  async orderEvents(
    orderId: string,
    afterRevision: number,
    limit: number,
    signal?: AbortSignal,
  ): Promise<OrderEvent[]> {
    const rows = await pgQuery<StoredEventRow>(
      this.pool,
      `SELECT ${EVENT_LIST} FROM order_events WHERE order_id = $1 AND revision > $2 ORDER BY revision LIMIT $3`,
      [orderId, afterRevision, limit],
      signal,
    );
    return rows.map(eventFromRow);
  }

  async eventsAfter(afterRevision: number, limit: number, signal?: AbortSignal): Promise<OrderEvent[]> {
    const rows = await pgQuery<StoredEventRow>(
      this.pool,
      `SELECT ${EVENT_LIST} FROM order_events WHERE revision > $1 ORDER BY revision LIMIT $2`,
      [afterRevision, limit],
      signal,
    );
    return rows.map(eventFromRow);
  }

  async headRevision(signal?: AbortSignal): Promise<number> {
    // The committed counter: it moves only when an event commits, so it equals the newest visible revision.
    const [row] = await pgQuery<{ revision: string }>(this.pool, "SELECT revision FROM event_log_head", [], signal);
    return Number(row?.revision ?? 0);
  }

  async firstRevisionSince(since: Date, signal?: AbortSignal): Promise<number | undefined> {
    const [row] = await pgQuery<{ first: string | null }>(
      this.pool,
      "SELECT min(revision) AS first FROM order_events WHERE time >= $1",
      [since],
      signal,
    );
    return row?.first == null ? undefined : Number(row.first);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPool) await this.pool.end();
  }

  private async readOrder(
    runner: pg.Pool | pg.PoolClient,
    id: string,
    signal: AbortSignal | undefined,
  ): Promise<Order | undefined> {
    const [row] = await pgQuery<OrderWithItemsRow>(runner, `${ORDER_SELECT} WHERE o.id = $1`, [id], signal);
    return row && orderWithItems(row);
  }
}

/**
 * Whether PostgreSQL refused a statement's data (SQLSTATE class 22 or 23) rather than failing to run it; also when
 * that error is the cause of the one pgQuery mapped it to (a NUL byte's INVALID_ARGUMENT).
 */
function refusedData(error: unknown): boolean {
  for (let cause = error, depth = 0; typeof cause === "object" && cause !== null && depth < 3; depth++) {
    const { code } = cause as { code?: unknown };
    if (typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code)) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

/** Resolves `pending` with what `run` returns, or rejects it with what it throws. */
async function settle(pending: PendingCreate, run: () => Promise<CreateOutcome>): Promise<void> {
  try {
    pending.resolve(await run());
  } catch (error) {
    pending.reject(error);
  }
}

/**
 * A stored create's outcome. The statement wrote exactly the record's rows, so the order and event are the record's,
 * mapped through the same row functions a read uses; only the revision came from the database.
 */
function createdOutcome(record: CreateOrderRecord, revision: string): CreateOutcome {
  const order = orderFromRow(orderRow(record.order), itemRows(record.order).map(itemFromRow));
  return { kind: "created", order, event: eventFromRow({ ...eventRow(record.event), revision }) };
}

function orderWithItems(row: OrderWithItemsRow): Order {
  return orderFromRow(row, row.items.map(itemFromRow));
}
