// The orders tables as both stores see them: each table's columns, one row's shape and the mapping between rows and
// the domain's Order, LineItem and OrderEvent. The SQLite and PostgreSQL stores build their statements from these
// lists and map rows only through these functions, so a new column is one migration per engine plus a few lines here.
import { bigintOf, dateOf, type StoredInt64, type StoredTime } from "@orderly/storage";
import type { LineItem, NewOrderEvent, Order, OrderEvent, OrderEventType, OrderState } from "../domain/model.js";

/** Every column of orders, in the order statements list them. */
export const ORDER_COLUMNS = [
  "id",
  "user_id",
  "currency_code",
  "total_minor",
  "ship_recipient",
  "ship_line1",
  "ship_line2",
  "ship_city",
  "ship_region",
  "ship_postal_code",
  "ship_country_code",
  "state",
  "create_time",
  "update_time",
  "etag",
] as const;

const IMMUTABLE: readonly string[] = ["id", "user_id", "currency_code", "create_time"];

/** The columns a compare-and-set update writes; id, user_id, currency_code and create_time never change. */
export const ORDER_UPDATE_COLUMNS = ORDER_COLUMNS.filter((column) => !IMMUTABLE.includes(column));

/** A row of orders as the stores write it: money as bigint minor units, times as Date. */
export interface OrderRow {
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
  create_time: Date;
  update_time: Date;
  etag: string;
}

/** A row of orders as a driver reads it back (int8 as bigint or text, times as epoch ms or Date). */
export type StoredOrderRow = Omit<OrderRow, "total_minor" | "create_time" | "update_time"> & {
  total_minor: StoredInt64;
  create_time: StoredTime;
  update_time: StoredTime;
};

/** Every column of order_items, in the order statements list them. */
export const ITEM_COLUMNS = ["order_id", "position", "sku", "quantity", "unit_price_minor"] as const;

/** A row of order_items as the stores write it; position keeps the order's item order. */
export interface ItemRow {
  order_id: string;
  position: number;
  sku: string;
  quantity: number;
  unit_price_minor: bigint;
}

/** The columns of an item row a store reads back, as a driver returns them. */
export interface StoredItemRow {
  sku: string;
  quantity: number | bigint;
  unit_price_minor: StoredInt64;
}

/** Every column of order_events, in the order statements list them. */
export const EVENT_COLUMNS = [
  "revision",
  "order_id",
  "user_id",
  "type",
  "from_state",
  "to_state",
  "actor",
  "reason",
  "time",
] as const;

/** The columns a store writes for a new event: all but the revision, which the store assigns. */
export const EVENT_INSERT_COLUMNS = EVENT_COLUMNS.filter((column) => column !== "revision");

/** A row of order_events as the stores write it (without the revision). */
export interface EventRow {
  order_id: string;
  user_id: string;
  type: OrderEventType;
  /** null for CREATED. */
  from_state: OrderState | null;
  to_state: OrderState;
  actor: string;
  reason: string;
  time: Date;
}

/** A row of order_events as a driver reads it back. */
export type StoredEventRow = Omit<EventRow, "time"> & { revision: StoredInt64; time: StoredTime };

/** The orders row that stores `order` (its items go to itemRows). */
export function orderRow(order: Order): OrderRow {
  const address = order.shippingAddress;
  return {
    id: order.id,
    user_id: order.userId,
    currency_code: order.currencyCode,
    total_minor: order.totalMinor,
    ship_recipient: address.recipient,
    ship_line1: address.line1,
    ship_line2: address.line2,
    ship_city: address.city,
    ship_region: address.region,
    ship_postal_code: address.postalCode,
    ship_country_code: address.countryCode,
    state: order.state,
    create_time: order.createTime,
    update_time: order.updateTime,
    etag: order.etag,
  };
}

/** The order a stored row and its items hold. */
export function orderFromRow(row: StoredOrderRow, items: LineItem[]): Order {
  return {
    id: row.id,
    userId: row.user_id,
    items,
    totalMinor: bigintOf(row.total_minor),
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
    createTime: dateOf(row.create_time),
    updateTime: dateOf(row.update_time),
    etag: row.etag,
  };
}

/** The order_items rows that store `order`'s items, in position order. */
export function itemRows(order: Order): ItemRow[] {
  return order.items.map((item, position) => ({
    order_id: order.id,
    position,
    sku: item.sku,
    quantity: item.quantity,
    unit_price_minor: item.unitPriceMinor,
  }));
}

/** The line item a stored item row holds. */
export function itemFromRow(row: StoredItemRow): LineItem {
  return { sku: row.sku, quantity: Number(row.quantity), unitPriceMinor: bigintOf(row.unit_price_minor) };
}

/** The order_events row that stores a new event. */
export function eventRow(event: NewOrderEvent): EventRow {
  return {
    order_id: event.orderId,
    user_id: event.userId,
    type: event.type,
    from_state: event.fromState ?? null,
    to_state: event.toState,
    actor: event.actor,
    reason: event.reason,
    time: event.time,
  };
}

/** The event a stored row holds. */
export function eventFromRow(row: StoredEventRow): OrderEvent {
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
    time: dateOf(row.time),
  };
}
