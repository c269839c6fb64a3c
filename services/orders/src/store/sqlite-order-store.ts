// OrderStore on embedded SQLite (better-sqlite3). Every write (order, items, its event, the request id) is one
// synchronous transaction, so a change and its audit event commit together or not at all. The async methods only check
// the abort signal and wrap the result. Money columns are read with safeIntegers, so int64 minor units come back as
// bigint and are never squeezed through a double.
import Database from "better-sqlite3";
import { openSqliteDatabase } from "@orderly/storage/sqlite";
import { throwIfAborted } from "@orderly/kit/domain";
import type { LineItem, NewOrderEvent, Order, OrderEvent, OrderEventType, OrderState } from "../domain/model.js";
import type { CreateOrderRecord, CreateOutcome, OrderListQuery, OrderStore } from "../domain/order-store.js";
import { ORDER_MIGRATIONS } from "./sqlite-order-migrations.js";

/** Where and how to open the database. */
export interface SqliteOrderStoreOptions {
  /** A file path (its directory is created) or ":memory:". */
  path: string;
  /** How long a write waits for another connection's lock before failing (default 5000 ms). */
  busyTimeoutMs?: number;
}

interface OrderRow {
  id: string;
  user_id: string;
  currency_code: string;
  total_minor: bigint;
  ship_recipient: string;
  ship_line1: string;
  ship_line2: string;
  ship_city: string;
  ship_region: string;
  ship_postal_code: string;
  ship_country_code: string;
  state: OrderState;
  create_time: bigint;
  update_time: bigint;
  etag: string;
}

// What the order statements bind; times go in as numbers, money as bigint.
type OrderParams = Omit<OrderRow, "create_time" | "update_time"> & { create_time: number; update_time: number };

interface ItemRow {
  order_id: string;
  sku: string;
  quantity: bigint;
  unit_price_minor: bigint;
}

interface EventRow {
  revision: number;
  order_id: string;
  user_id: string;
  type: OrderEventType;
  from_state: OrderState | null;
  to_state: OrderState;
  actor: string;
  reason: string;
  time: number;
}

type EventParams = Omit<EventRow, "revision">;

const ORDER_COLUMNS =
  "id, user_id, currency_code, total_minor, ship_recipient, ship_line1, ship_line2, ship_city, ship_region, " +
  "ship_postal_code, ship_country_code, state, create_time, update_time, etag";
const EVENT_COLUMNS = "revision, order_id, user_id, type, from_state, to_state, actor, reason, time";

/** Opens (creating and migrating if needed) a SQLite-backed OrderStore. */
export async function openSqliteOrderStore(options: SqliteOrderStoreOptions): Promise<OrderStore> {
  const db = openSqliteDatabase({ path: options.path, migrations: ORDER_MIGRATIONS, ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }) });
  return new SqliteOrderStore(db);
}

class SqliteOrderStore implements OrderStore {
  // Prepared once: statement compilation costs more than most of these queries.
  private readonly insertOrderStmt;
  private readonly updateOrderStmt;
  private readonly getOrderStmt;
  private readonly itemsOfStmt;
  private readonly insertItemStmt;
  private readonly deleteItemsStmt;
  private readonly insertEventStmt;
  private readonly claimRequestStmt;
  private readonly findRequestStmt;
  private readonly orderEventsStmt;
  private readonly eventsAfterStmt;
  private readonly headStmt;
  private readonly firstSinceStmt;
  private readonly listStmts = new Map<string, Database.Statement<Record<string, string | number>, OrderRow>>();
  private readonly createTx;
  private readonly batchTx;
  private pendingCreates: { record: CreateOrderRecord; resolve: (outcome: CreateOutcome) => void; reject: (error: unknown) => void }[] = [];
  private readonly updateTx;

  constructor(private readonly db: Database.Database) {
    this.insertOrderStmt = db.prepare<[OrderParams]>(
      `INSERT INTO orders (${ORDER_COLUMNS}) VALUES (@id, @user_id, @currency_code, @total_minor, @ship_recipient, @ship_line1,
         @ship_line2, @ship_city, @ship_region, @ship_postal_code, @ship_country_code, @state, @create_time, @update_time, @etag)`,
    );
    // user_id, currency_code and create_time are immutable, so the CAS never writes them.
    this.updateOrderStmt = db.prepare<[OrderParams & { expected: string }]>(
      `UPDATE orders SET total_minor = @total_minor, ship_recipient = @ship_recipient, ship_line1 = @ship_line1,
         ship_line2 = @ship_line2, ship_city = @ship_city, ship_region = @ship_region, ship_postal_code = @ship_postal_code,
         ship_country_code = @ship_country_code, state = @state, update_time = @update_time, etag = @etag
       WHERE id = @id AND etag = @expected`,
    );
    this.getOrderStmt = db.prepare<[string], OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = ?`).safeIntegers(true);
    // One statement for a whole page of orders: the ids travel as a JSON array instead of a variable-length IN list.
    this.itemsOfStmt = db
      .prepare<[string], ItemRow>(
        `SELECT order_id, sku, quantity, unit_price_minor FROM order_items
         WHERE order_id IN (SELECT value FROM json_each(?)) ORDER BY order_id, position`,
      )
      .safeIntegers(true);
    this.insertItemStmt = db.prepare<[string, number, string, number, bigint]>(
      "INSERT INTO order_items (order_id, position, sku, quantity, unit_price_minor) VALUES (?, ?, ?, ?, ?)",
    );
    this.deleteItemsStmt = db.prepare<[string]>("DELETE FROM order_items WHERE order_id = ?");
    this.insertEventStmt = db.prepare<[EventParams], EventRow>(
      `INSERT INTO order_events (order_id, user_id, type, from_state, to_state, actor, reason, time)
       VALUES (@order_id, @user_id, @type, @from_state, @to_state, @actor, @reason, @time)
       RETURNING ${EVENT_COLUMNS}`,
    );
    this.claimRequestStmt = db.prepare<[string, string, string]>(
      "INSERT INTO order_requests (request_id, request_hash, order_id) VALUES (?, ?, ?) ON CONFLICT (request_id) DO NOTHING",
    );
    this.findRequestStmt = db.prepare<[string], { request_hash: string; order_id: string }>(
      "SELECT request_hash, order_id FROM order_requests WHERE request_id = ?",
    );
    this.orderEventsStmt = db.prepare<[string, number, number], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM order_events WHERE order_id = ? AND revision > ? ORDER BY revision LIMIT ?`,
    );
    this.eventsAfterStmt = db.prepare<[number, number], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM order_events WHERE revision > ? ORDER BY revision LIMIT ?`,
    );
    this.headStmt = db.prepare<[], { head: number }>("SELECT coalesce(max(revision), 0) AS head FROM order_events");
    this.firstSinceStmt = db.prepare<[number], { first: number | null }>("SELECT min(revision) AS first FROM order_events WHERE time >= ?");

    // The request id is claimed first, inside the transaction: of any number of concurrent creates with one request
    // id, exactly one inserts the claim and the order; every other one finds the claim and reads the winner back.
    this.batchTx = db.transaction((run: () => void) => run());
    this.createTx = db.transaction((record: CreateOrderRecord): CreateOutcome => {
      const claimed = this.claimRequestStmt.run(record.requestId, record.requestHash, record.order.id).changes === 1;
      if (!claimed) {
        const earlier = this.findRequestStmt.get(record.requestId)!;
        if (earlier.request_hash !== record.requestHash) return { kind: "reused", existingOrderId: earlier.order_id };
        return { kind: "replayed", order: this.readOrder(earlier.order_id)! };
      }
      this.insertOrderStmt.run(toParams(record.order));
      this.writeItems(record.order);
      const event = toEvent(this.insertEventStmt.get(toEventParams(record.event))!);
      return { kind: "created", order: this.readOrder(record.order.id)!, event };
    });
    this.updateTx = db.transaction((order: Order, expected: string, event: NewOrderEvent): { order: Order; event: OrderEvent } | undefined => {
      if (this.updateOrderStmt.run({ ...toParams(order), expected }).changes === 0) return undefined;
      // Items are at most 100 rows; rewriting them is simpler than diffing and costs little.
      this.deleteItemsStmt.run(order.id);
      this.writeItems(order);
      const written = toEvent(this.insertEventStmt.get(toEventParams(event))!);
      return { order: this.readOrder(order.id)!, event: written };
    });
  }

  async create(record: CreateOrderRecord, signal?: AbortSignal): Promise<CreateOutcome> {
    throwIfAborted(signal);
    return new Promise<CreateOutcome>((resolve, reject) => {
      if (this.pendingCreates.push({ record, resolve, reject }) === 1) setImmediate(() => this.commitCreates());
    });
  }

  /**
   * Group commit: the creates that arrived during one event-loop turn share one IMMEDIATE transaction, each in its
   * own savepoint (a nested better-sqlite3 transaction), so one failing record rolls back alone. A WAL commit writes
   * every page it touched, so K orders in one commit write far fewer pages than K commits. IMMEDIATE takes the write
   * lock up front, so two connections never both read "unclaimed" and then collide.
   */
  private commitCreates(): void {
    const batch = this.pendingCreates;
    this.pendingCreates = [];
    const outcomes: ({ ok: true; value: CreateOutcome } | { ok: false; error: unknown })[] = [];
    try {
      this.batchTx.immediate(() => {
        for (const { record } of batch) {
          try {
            outcomes.push({ ok: true, value: this.createTx(record) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(outcome.error);
    });
  }

  async findByRequestId(requestId: string, signal?: AbortSignal): Promise<{ order: Order; requestHash: string } | undefined> {
    throwIfAborted(signal);
    const found = this.findRequestStmt.get(requestId);
    const order = found && this.readOrder(found.order_id);
    return found && order && { order, requestHash: found.request_hash };
  }

  async get(id: string, signal?: AbortSignal): Promise<Order | undefined> {
    throwIfAborted(signal);
    return this.readOrder(id);
  }

  async list(query: OrderListQuery, signal?: AbortSignal): Promise<Order[]> {
    throwIfAborted(signal);
    const params: Record<string, string | number> = { limit: query.limit };
    if (query.filter.userId) params["user_id"] = query.filter.userId;
    if (query.filter.state) params["state"] = query.filter.state;
    if (query.beforeId !== undefined) params["before_id"] = query.beforeId;
    const rows = this.listStmt("user_id" in params, "state" in params, "before_id" in params).all(params);
    return this.withItems(rows);
  }

  async update(order: Order, expectedEtag: string, event: NewOrderEvent, signal?: AbortSignal): Promise<{ order: Order; event: OrderEvent } | undefined> {
    throwIfAborted(signal);
    return this.updateTx.immediate(order, expectedEtag, event);
  }

  async orderEvents(orderId: string, afterRevision: number, limit: number, signal?: AbortSignal): Promise<OrderEvent[]> {
    throwIfAborted(signal);
    return this.orderEventsStmt.all(orderId, afterRevision, limit).map(toEvent);
  }

  async eventsAfter(afterRevision: number, limit: number, signal?: AbortSignal): Promise<OrderEvent[]> {
    throwIfAborted(signal);
    return this.eventsAfterStmt.all(afterRevision, limit).map(toEvent);
  }

  async headRevision(signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    return this.headStmt.get()!.head;
  }

  async firstRevisionSince(since: Date, signal?: AbortSignal): Promise<number | undefined> {
    throwIfAborted(signal);
    return this.firstSinceStmt.get(since.getTime())?.first ?? undefined;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  // One statement per filter combination rather than "(@x IS NULL OR col = @x)": the planner picks an index when the
  // statement is prepared, and only a statement that names user_id or state can use (user_id, id) or (state, id).
  private listStmt(byUser: boolean, byState: boolean, before: boolean): Database.Statement<Record<string, string | number>, OrderRow> {
    const key = `${byUser}/${byState}/${before}`;
    let stmt = this.listStmts.get(key);
    if (!stmt) {
      const conditions = [byUser && "user_id = @user_id", byState && "state = @state", before && "id < @before_id"].filter(Boolean);
      const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
      stmt = this.db.prepare<Record<string, string | number>, OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders ${where} ORDER BY id DESC LIMIT @limit`);
      stmt.safeIntegers(true);
      this.listStmts.set(key, stmt);
    }
    return stmt;
  }

  private readOrder(id: string): Order | undefined {
    const row = this.getOrderStmt.get(id);
    return row && this.withItems([row])[0];
  }

  private withItems(rows: OrderRow[]): Order[] {
    if (rows.length === 0) return [];
    const items = new Map<string, LineItem[]>(rows.map((row) => [row.id, []]));
    for (const item of this.itemsOfStmt.all(JSON.stringify(rows.map((row) => row.id)))) {
      items.get(item.order_id)?.push({ sku: item.sku, quantity: Number(item.quantity), unitPriceMinor: item.unit_price_minor });
    }
    return rows.map((row) => toOrder(row, items.get(row.id) ?? []));
  }

  private writeItems(order: Order): void {
    order.items.forEach((item, position) => this.insertItemStmt.run(order.id, position, item.sku, item.quantity, item.unitPriceMinor));
  }
}

function toParams(order: Order): OrderParams {
  const a = order.shippingAddress;
  return {
    id: order.id,
    user_id: order.userId,
    currency_code: order.currencyCode,
    total_minor: order.totalMinor,
    ship_recipient: a.recipient,
    ship_line1: a.line1,
    ship_line2: a.line2,
    ship_city: a.city,
    ship_region: a.region,
    ship_postal_code: a.postalCode,
    ship_country_code: a.countryCode,
    state: order.state,
    create_time: order.createTime.getTime(),
    update_time: order.updateTime.getTime(),
    etag: order.etag,
  };
}

function toOrder(row: OrderRow, items: LineItem[]): Order {
  return {
    id: row.id,
    userId: row.user_id,
    items,
    totalMinor: row.total_minor,
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
    createTime: new Date(Number(row.create_time)),
    updateTime: new Date(Number(row.update_time)),
    etag: row.etag,
  };
}

function toEventParams(event: NewOrderEvent): EventParams {
  return {
    order_id: event.orderId,
    user_id: event.userId,
    type: event.type,
    from_state: event.fromState ?? null,
    to_state: event.toState,
    actor: event.actor,
    reason: event.reason,
    time: event.time.getTime(),
  };
}

function toEvent(row: EventRow): OrderEvent {
  return {
    revision: row.revision,
    orderId: row.order_id,
    userId: row.user_id,
    type: row.type,
    fromState: row.from_state ?? undefined,
    toState: row.to_state,
    actor: row.actor,
    reason: row.reason,
    time: new Date(row.time),
  };
}
