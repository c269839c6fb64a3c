// The orders domain's types. Plain data: no gRPC, no storage. Money is exact: bigint minor units of the order's
// currency, never floating point.

/** The resource type named in errors. */
export const ORDER_RESOURCE_TYPE = "orderly.order.v1.Order";

/** The prefix of every order id ("ord_" + ULID). */
export const ORDER_ID_PREFIX = "ord_";

/** The life of an order. */
export type OrderState = "PENDING" | "CONFIRMED" | "SHIPPED" | "DELIVERED" | "CANCELLED";

/** What an audit event records. */
export type OrderEventType = "CREATED" | "UPDATED" | "CONFIRMED" | "SHIPPED" | "DELIVERED" | "CANCELLED";

/** One line of an order. */
export interface LineItem {
  sku: string;
  quantity: number;
  /** Minor units (e.g. cents) of the order's currency. */
  unitPriceMinor: bigint;
}

/** A postal address. */
export interface ShippingAddress {
  recipient: string;
  line1: string;
  line2: string;
  city: string;
  region: string;
  postalCode: string;
  /** ISO 3166-1 alpha-2. */
  countryCode: string;
}

/** A stored order. */
export interface Order {
  id: string;
  userId: string;
  items: LineItem[];
  /** Sum of quantity x unitPriceMinor; computed by the domain, never taken from a caller. */
  totalMinor: bigint;
  /** ISO 4217. */
  currencyCode: string;
  shippingAddress: ShippingAddress;
  state: OrderState;
  createTime: Date;
  updateTime: Date;
  /** Opaque; changes on every write (AIP-154). */
  etag: string;
}

/** One entry of the audit trail and of the event log WatchOrders replays. */
export interface OrderEvent {
  /** Position in the store-wide log; unique and only growing. */
  revision: number;
  orderId: string;
  userId: string;
  type: OrderEventType;
  /** undefined for CREATED. */
  fromState: OrderState | undefined;
  toState: OrderState;
  /** The caller's subject. */
  actor: string;
  reason: string;
  time: Date;
}

/** An event before the store gives it its revision. */
export type NewOrderEvent = Omit<OrderEvent, "revision">;

/** What a caller gives to create an order. */
export interface NewOrder {
  userId: string;
  items: LineItem[];
  currencyCode: string;
  shippingAddress: ShippingAddress;
}

/** Restricts ListOrders; absent fields match everything. */
export interface OrderFilter {
  userId?: string;
  state?: OrderState;
}
