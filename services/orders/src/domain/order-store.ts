// The async store of orders, their audit events and CreateOrder's request ids. Implementations: SQLite (embedded,
// default) and PostgreSQL (several replicas). Every method takes an optional AbortSignal last and stops when it fires.
import type { NewOrderEvent, Order, OrderEvent, OrderFilter } from "./model.js";

/** A CreateOrder to store: the order, its CREATED event and the idempotency key with the request's content hash. */
export interface CreateOrderRecord {
  order: Order;
  event: NewOrderEvent;
  requestId: string;
  /** A hash of the request's content; the same requestId with another hash is a reuse. */
  requestHash: string;
}

/** The outcome of storing a CreateOrder. */
export type CreateOutcome =
  /** This call created the order. */
  | { kind: "created"; order: Order; event: OrderEvent }
  /** An earlier call with the same requestId and content created it; this is that order. */
  | { kind: "replayed"; order: Order }
  /** The requestId was used before with different content. */
  | { kind: "reused"; existingOrderId: string };

/** A ListOrders page query: newest first (id descending), keyset after `beforeId`. */
export interface OrderListQuery {
  filter: OrderFilter;
  /** Return orders with id < beforeId (the last id of the previous page). */
  beforeId?: string;
  limit: number;
}

/** Storage for orders and their event log. */
export interface OrderStore {
  /** Stores a new order and its CREATED event in one transaction, enforcing request-id idempotency atomically. */
  create(record: CreateOrderRecord, signal?: AbortSignal): Promise<CreateOutcome>;
  /** The order a request id created, with the request's content hash, if any. */
  findByRequestId(requestId: string, signal?: AbortSignal): Promise<{ order: Order; requestHash: string } | undefined>;
  /** One order. */
  get(id: string, signal?: AbortSignal): Promise<Order | undefined>;
  /** One page of orders, newest first. */
  list(query: OrderListQuery, signal?: AbortSignal): Promise<Order[]>;
  /**
   * Compare-and-set: writes `order` and appends `event` in one transaction if the stored etag equals expectedEtag.
   * Returns undefined when the etag differs or the order is gone.
   */
  update(
    order: Order,
    expectedEtag: string,
    event: NewOrderEvent,
    signal?: AbortSignal,
  ): Promise<{ order: Order; event: OrderEvent } | undefined>;
  /** An order's events, oldest first, with revision > afterRevision. */
  orderEvents(orderId: string, afterRevision: number, limit: number, signal?: AbortSignal): Promise<OrderEvent[]>;
  /** The store-wide event log after a revision, oldest first (what WatchOrders replays and tails). */
  eventsAfter(afterRevision: number, limit: number, signal?: AbortSignal): Promise<OrderEvent[]>;
  /** The newest revision in the log; 0 when it is empty. */
  headRevision(signal?: AbortSignal): Promise<number>;
  /** The oldest revision whose event time is at or after `since`; undefined when there is none. */
  firstRevisionSince(since: Date, signal?: AbortSignal): Promise<number | undefined>;
  /** Releases connections and files. */
  close(): Promise<void>;
}
