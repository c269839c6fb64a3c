// OrderStore on embedded SQLite (better-sqlite3). Every write (order, items, its event, the request id) is one
// synchronous transaction, so a change and its audit event commit together or not at all. The async methods only check
// the abort signal and wrap the result. Money columns are read with safeIntegers, so int64 minor units come back as
// bigint and are never squeezed through a double.
import Database from "better-sqlite3";
import { oneRow } from "@orderly/storage";
import {
  namedAssignments,
  namedValues,
  checkpointInBackground,
  openSqliteDatabase,
  sqliteValues,
  type SqliteValues,
  type WalCheckpointer,
} from "@orderly/storage/sqlite";
import { throwIfAborted } from "@orderly/kit/domain";
import type { LineItem, NewOrderEvent, Order, OrderEvent } from "../domain/model.js";
import type { CreateOrderRecord, CreateOutcome, OrderListQuery, OrderStore } from "../domain/order-store.js";
import {
  EVENT_COLUMNS,
  EVENT_INSERT_COLUMNS,
  eventFromRow,
  eventRow,
  ITEM_COLUMNS,
  itemFromRow,
  itemRows,
  ORDER_COLUMNS,
  ORDER_UPDATE_COLUMNS,
  orderFromRow,
  orderRow,
  type EventRow,
  type ItemRow,
  type OrderRow,
  type StoredEventRow,
  type StoredItemRow,
  type StoredOrderRow,
} from "./order-rows.js";
import { SQLITE_ORDER_MIGRATIONS } from "./sqlite-order-migrations.js";

/** Where and how to open the database. */
export interface SqliteOrderStoreOptions {
  /** A file path (its directory is created) or ":memory:". */
  path: string;
  /** How long a write waits for another connection's lock before failing (default 5000 ms). */
  busyTimeoutMs?: number;
}

// Rows as SQLite stores and returns them: times in epoch milliseconds, int64 read as bigint (safeIntegers).
type SqliteOrderRow = SqliteValues<OrderRow>;
type SqliteEventRow = SqliteValues<EventRow>;

const ORDER_LIST = ORDER_COLUMNS.join(", ");
const EVENT_LIST = EVENT_COLUMNS.join(", ");

/** Opens (creating and migrating if needed) a SQLite-backed OrderStore. */
export async function openSqliteOrderStore(options: SqliteOrderStoreOptions): Promise<OrderStore> {
  const db = openSqliteDatabase({
    path: options.path,
    migrations: SQLITE_ORDER_MIGRATIONS,
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
  });
  // Creates commit often: their checkpoints run on a worker thread, never inside a call (wal-checkpointer.ts).
  const checkpointer = options.path === ":memory:" ? undefined : checkpointInBackground(db);
  return new SqliteOrderStore(db, checkpointer);
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
  private readonly listStmts = new Map<string, Database.Statement<Record<string, string | number>, StoredOrderRow>>();
  private readonly createTx;
  private readonly batchTx;
  private pendingCreates: {
    record: CreateOrderRecord;
    resolve: (outcome: CreateOutcome) => void;
    reject: (error: unknown) => void;
  }[] = [];
  private readonly updateTx;

  constructor(
    private readonly db: Database.Database,
    private readonly checkpointer?: WalCheckpointer,
  ) {
    this.insertOrderStmt = db.prepare<[SqliteOrderRow]>(
      `INSERT INTO orders (${ORDER_LIST}) VALUES (${namedValues(ORDER_COLUMNS)})`,
    );
    this.updateOrderStmt = db.prepare<[SqliteOrderRow & { expected: string }]>(
      `UPDATE orders SET ${namedAssignments(ORDER_UPDATE_COLUMNS)} WHERE id = @id AND etag = @expected`,
    );
    this.getOrderStmt = db
      .prepare<[string], StoredOrderRow>(`SELECT ${ORDER_LIST} FROM orders WHERE id = ?`)
      .safeIntegers(true);
    // One statement for a whole page of orders: the ids travel as a JSON array instead of a variable-length IN list.
    this.itemsOfStmt = db
      .prepare<[string], StoredItemRow & { order_id: string }>(
        `SELECT ${ITEM_COLUMNS.join(", ")} FROM order_items
         WHERE order_id IN (SELECT value FROM json_each(?)) ORDER BY order_id, position`,
      )
      .safeIntegers(true);
    this.insertItemStmt = db.prepare<[ItemRow]>(
      `INSERT INTO order_items (${ITEM_COLUMNS.join(", ")}) VALUES (${namedValues(ITEM_COLUMNS)})`,
    );
    this.deleteItemsStmt = db.prepare<[string]>("DELETE FROM order_items WHERE order_id = ?");
    this.insertEventStmt = db.prepare<[SqliteEventRow], StoredEventRow>(
      `INSERT INTO order_events (${EVENT_INSERT_COLUMNS.join(", ")}) VALUES (${namedValues(EVENT_INSERT_COLUMNS)})
       RETURNING ${EVENT_LIST}`,
    );
    this.claimRequestStmt = db.prepare<[string, string, string]>(
      "INSERT INTO order_requests (request_id, request_hash, order_id) VALUES (?, ?, ?) ON CONFLICT (request_id) DO NOTHING",
    );
    this.findRequestStmt = db.prepare<[string], { request_hash: string; order_id: string }>(
      "SELECT request_hash, order_id FROM order_requests WHERE request_id = ?",
    );
    this.orderEventsStmt = db.prepare<[string, number, number], StoredEventRow>(
      `SELECT ${EVENT_LIST} FROM order_events WHERE order_id = ? AND revision > ? ORDER BY revision LIMIT ?`,
    );
    this.eventsAfterStmt = db.prepare<[number, number], StoredEventRow>(
      `SELECT ${EVENT_LIST} FROM order_events WHERE revision > ? ORDER BY revision LIMIT ?`,
    );
    this.headStmt = db.prepare<[], { head: number }>("SELECT coalesce(max(revision), 0) AS head FROM order_events");
    this.firstSinceStmt = db.prepare<[number], { first: number | null }>(
      "SELECT min(revision) AS first FROM order_events WHERE time >= ?",
    );

    // The request id is claimed first, inside the transaction: of any number of concurrent creates with one request
    // id, exactly one inserts the claim and the order; every other one finds the claim and reads the winner back.
    this.batchTx = db.transaction((run: () => void) => run());
    this.createTx = db.transaction((record: CreateOrderRecord): CreateOutcome => {
      const claimed = this.claimRequestStmt.run(record.requestId, record.requestHash, record.order.id).changes === 1;
      if (!claimed) {
        const earlier = oneRow(this.findRequestStmt.get(record.requestId), "reading the claimed request id");
        if (earlier.request_hash !== record.requestHash) return { kind: "reused", existingOrderId: earlier.order_id };
        return { kind: "replayed", order: oneRow(this.readOrder(earlier.order_id), "reading the replayed order") };
      }
      this.insertOrderStmt.run(sqliteValues(orderRow(record.order)));
      this.writeItems(record.order);
      const event = this.appendEvent(record.event);
      return { kind: "created", order: oneRow(this.readOrder(record.order.id), "reading the new order"), event };
    });
    this.updateTx = db.transaction(
      (order: Order, expected: string, event: NewOrderEvent): { order: Order; event: OrderEvent } | undefined => {
        if (this.updateOrderStmt.run({ ...sqliteValues(orderRow(order)), expected }).changes === 0) return undefined;
        // Items are at most 100 rows; rewriting them is simpler than diffing and costs little.
        this.deleteItemsStmt.run(order.id);
        this.writeItems(order);
        const written = this.appendEvent(event);
        return { order: oneRow(this.readOrder(order.id), "reading the updated order"), event: written };
      },
    );
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
      const outcome = outcomes[i];
      if (outcome?.ok) pending.resolve(outcome.value);
      else pending.reject(outcome?.error);
    });
  }

  async findByRequestId(
    requestId: string,
    signal?: AbortSignal,
  ): Promise<{ order: Order; requestHash: string } | undefined> {
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

  async update(
    order: Order,
    expectedEtag: string,
    event: NewOrderEvent,
    signal?: AbortSignal,
  ): Promise<{ order: Order; event: OrderEvent } | undefined> {
    throwIfAborted(signal);
    return this.updateTx.immediate(order, expectedEtag, event);
  }

  async orderEvents(
    orderId: string,
    afterRevision: number,
    limit: number,
    signal?: AbortSignal,
  ): Promise<OrderEvent[]> {
    throwIfAborted(signal);
    return this.orderEventsStmt.all(orderId, afterRevision, limit).map(eventFromRow);
  }

  async eventsAfter(afterRevision: number, limit: number, signal?: AbortSignal): Promise<OrderEvent[]> {
    throwIfAborted(signal);
    return this.eventsAfterStmt.all(afterRevision, limit).map(eventFromRow);
  }

  async headRevision(signal?: AbortSignal): Promise<number> {
    throwIfAborted(signal);
    return oneRow(this.headStmt.get(), "reading the head revision").head;
  }

  async firstRevisionSince(since: Date, signal?: AbortSignal): Promise<number | undefined> {
    throwIfAborted(signal);
    return this.firstSinceStmt.get(since.getTime())?.first ?? undefined;
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop();
    if (this.db.open) this.db.close();
  }

  // One statement per filter combination rather than "(@x IS NULL OR col = @x)": the planner picks an index when the
  // statement is prepared, and only a statement that names user_id or state can use (user_id, id) or (state, id).
  private listStmt(
    byUser: boolean,
    byState: boolean,
    before: boolean,
  ): Database.Statement<Record<string, string | number>, StoredOrderRow> {
    const key = `${byUser}/${byState}/${before}`;
    let stmt = this.listStmts.get(key);
    if (!stmt) {
      const conditions = [
        byUser && "user_id = @user_id",
        byState && "state = @state",
        before && "id < @before_id",
      ].filter(Boolean);
      const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
      stmt = this.db.prepare<Record<string, string | number>, StoredOrderRow>(
        `SELECT ${ORDER_LIST} FROM orders ${where} ORDER BY id DESC LIMIT @limit`,
      );
      stmt.safeIntegers(true);
      this.listStmts.set(key, stmt);
    }
    return stmt;
  }

  private readOrder(id: string): Order | undefined {
    const row = this.getOrderStmt.get(id);
    return row && this.withItems([row])[0];
  }

  private withItems(rows: StoredOrderRow[]): Order[] {
    if (rows.length === 0) return [];
    const items = new Map<string, LineItem[]>(rows.map((row) => [row.id, []]));
    for (const item of this.itemsOfStmt.all(JSON.stringify(rows.map((row) => row.id)))) {
      items.get(item.order_id)?.push(itemFromRow(item));
    }
    return rows.map((row) => orderFromRow(row, items.get(row.id) ?? []));
  }

  private appendEvent(event: NewOrderEvent): OrderEvent {
    return eventFromRow(oneRow(this.insertEventStmt.get(sqliteValues(eventRow(event))), "inserting an event"));
  }

  private writeItems(order: Order): void {
    for (const row of itemRows(order)) this.insertItemStmt.run(row);
  }
}
