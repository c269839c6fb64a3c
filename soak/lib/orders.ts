// Orders as the scenarios make and check them: inputs marked with a unique SKU per logical order (so rows can be
// counted per intended order, whatever idempotency key created them), users to own them, and the rows actually stored.
import pg from "pg";
import type { NewOrderInput, UserClient } from "@orderly/clients";

const ADDRESS = {
  recipient: "Margaret Hamilton",
  line1: "1 Apollo Way",
  city: "Cambridge",
  postalCode: "02139",
  countryCode: "US",
};

/** An order of one item whose SKU is `marker`, the key the row counts are grouped by. */
export function markedOrder(userId: string, marker: string): NewOrderInput {
  return {
    userId,
    items: [{ sku: marker, quantity: 1, unitPriceMinor: 1_000n }],
    currencyCode: "USD",
    shippingAddress: ADDRESS,
  };
}

/** Creates `count` users (soak-<tag>-<n>@example.com) and returns their ids. */
export async function createUsers(users: UserClient, tag: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await users.create({ email: `soak-${tag}-${i}@example.com` })).id);
  return ids;
}

/** One stored order as the row count sees it. */
export interface StoredOrder {
  orderId: string;
  /** The SKU of its first item. */
  marker: string;
  /** The idempotency key (CreateOrder's request_id) that claimed it, "" if none did. */
  idempotencyKey: string;
}

/** Every order in `schema` with its marker and claiming idempotency key, read straight from the tables. */
export async function storedOrders(url: string, schema = "orders"): Promise<StoredOrder[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ order_id: string; marker: string | null; request_id: string | null }>(
      `SELECT o.id AS order_id, i.sku AS marker, r.request_id
         FROM ${schema}.orders o
         LEFT JOIN ${schema}.order_items i ON i.order_id = o.id AND i.position = 0
         LEFT JOIN ${schema}.order_requests r ON r.order_id = o.id`,
    );
    return rows.map((row) => ({
      orderId: row.order_id,
      marker: row.marker ?? "",
      idempotencyKey: row.request_id ?? "",
    }));
  });
}

/** One event of the store's log. */
export interface StoredEvent {
  revision: bigint;
  orderId: string;
  userId: string;
}

/** The event log after `afterRevision`, oldest first, read straight from the table. */
export async function storedEvents(url: string, afterRevision: bigint, schema = "orders"): Promise<StoredEvent[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ revision: string; order_id: string; user_id: string }>(
      `SELECT revision, order_id, user_id FROM ${schema}.order_events WHERE revision > $1 ORDER BY revision`,
      [afterRevision.toString()],
    );
    return rows.map((row) => ({ revision: BigInt(row.revision), orderId: row.order_id, userId: row.user_id }));
  });
}

/** What the rows say about a set of intended orders, each known by its marker. */
export interface RowCount {
  /** Acknowledged orders with no row, or whose row is not the order the caller was given. */
  lost: string[];
  /** Extra rows beyond one per marker. */
  duplicates: number;
  /** Rows of markers that were never acknowledged. */
  unacknowledged: number;
  /** Rows whose marker the scenario never sent. */
  strangers: number;
  /** Rows with no idempotency key claiming them. */
  unclaimed: number;
  rows: number;
}

/** Compares the stored rows with what callers were told: `acknowledged` maps each marker to the order id returned. */
export function countRows(
  rows: readonly StoredOrder[],
  sent: ReadonlySet<string>,
  acknowledged: ReadonlyMap<string, string>,
): RowCount {
  const byMarker = new Map<string, StoredOrder[]>();
  for (const row of rows) byMarker.set(row.marker, [...(byMarker.get(row.marker) ?? []), row]);
  const lost = [...acknowledged]
    .filter(([marker, orderId]) => !byMarker.get(marker)?.some((row) => row.orderId === orderId))
    .map(([marker]) => marker);
  let duplicates = 0;
  let unacknowledged = 0;
  let strangers = 0;
  for (const [marker, found] of byMarker) {
    duplicates += found.length - 1;
    if (!sent.has(marker)) strangers += found.length;
    else if (!acknowledged.has(marker)) unacknowledged += found.length;
  }
  return {
    lost,
    duplicates,
    unacknowledged,
    strangers,
    unclaimed: rows.filter((row) => !row.idempotencyKey).length,
    rows: rows.length,
  };
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}
