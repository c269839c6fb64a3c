// The Orders application service: every rule about who may do what to an order, in which order the checks run, and
// which audit event each change writes. The gRPC handler is a thin adapter over this class (proto <-> domain, paging
// tokens); the store only persists, and UserDirectory is the only way it learns about users.
import { monotonicFactory } from "ulid";
import {
  invalidArgument,
  mayAccess,
  newEtag,
  ownerMayNot,
  requireId,
  throwIfAborted,
  writeWithRetries,
  type Access,
  type FieldViolation,
} from "@orderly/kit/domain";
import { currencySet, type CurrencySet } from "./currencies.js";
import {
  ORDER_ID_PREFIX,
  ORDER_RESOURCE_TYPE,
  type NewOrder,
  type NewOrderEvent,
  type Order,
  type OrderEvent,
  type OrderFilter,
} from "./model.js";
import { totalOf } from "./money.js";
import {
  invalidStateTransition,
  orderEtagMismatch,
  orderNotEditable,
  orderNotFound,
  requestIdReused,
  userNotFound,
} from "./order-errors.js";
import type { OrderStore } from "./order-store.js";
import { canonicalOrderContent, requestHashOf } from "./request-hash.js";
import { EVENT_TYPE_OF_ACTION, transition, type OrderAction } from "./state-machine.js";
import { applyOrderMask, checkOrderMask, type OrderPatch } from "./update-mask.js";
import type { UserDirectory } from "./user-directory.js";
import { validateNewOrder, validateOrderContent, validateReason, validateRequestId } from "./validation.js";

/** The most events GetOrder(include_events) returns; ListOrderEvents pages through any number. */
export const MAX_EVENTS_ON_GET = 1000;

/** What Orders needs; clock and newId exist so tests can pin time and ids. */
export interface OrdersOptions {
  store: OrderStore;
  users: UserDirectory;
  /** Accepted currencies; default USD, EUR and GBP. */
  currencies?: CurrencySet;
  clock?: () => Date;
  /** Makes a whole order id; default "ord_" + a monotonic ULID. */
  newId?: () => string;
  /**
   * Called after every committed write with its new events, oldest first. Must not throw: the write has already
   * happened, so a throw is reported as a process warning instead of failing the caller's request.
   */
  onCommitted?: (events: OrderEvent[]) => void;
}

/** A CreateOrder request in domain terms. */
export interface CreateOrderRequest {
  /** The caller's UUID for this intended order; compared case-insensitively. */
  requestId: string;
  order: NewOrder;
}

/** What GetOrder may add to the order. */
export interface GetOrderOptions {
  includeEvents?: boolean;
}

/** An order, with its audit trail (oldest first) when it was asked for. */
export interface OrderWithEvents {
  order: Order;
  events?: OrderEvent[];
}

/** One ListOrders page request, after the handler has decoded the page token and coerced page_size. */
export interface ListOrdersQuery {
  filter: OrderFilter;
  /** The last id of the previous page. */
  beforeId?: string;
  limit: number;
}

/** One page of orders, newest first; hasMore tells the handler whether to mint a next_page_token. */
export interface OrderPage {
  orders: Order[];
  hasMore: boolean;
}

/** An UpdateOrder request in domain terms. */
export interface UpdateOrderRequest {
  id: string;
  patch: OrderPatch;
  /** The update_mask paths. */
  paths: readonly string[];
  /** The etag the caller last saw; absent or empty means "last writer wins" (proto3 cannot tell them apart). */
  etag?: string;
}

/** The optional parts of Confirm/Ship/Deliver/CancelOrder. */
export interface TransitionOptions {
  /** Change the order only if its etag is still this; absent or empty means "whatever its version". */
  etag?: string;
  /** Why; recorded in the audit event (CancelOrder's reason). */
  reason?: string;
}

/** One ListOrderEvents page request. */
export interface OrderEventsQuery {
  /** Only events with a greater revision; 0 for the first page. */
  afterRevision: number;
  limit: number;
}

/** One page of an order's events, oldest first. */
export interface OrderEventPage {
  events: OrderEvent[];
  hasMore: boolean;
}

/** The Orders application service. */
export class Orders {
  private readonly store: OrderStore;
  private readonly users: UserDirectory;
  private readonly currencies: CurrencySet;
  private readonly clock: () => Date;
  private readonly newId: () => string;
  private readonly onCommitted: ((events: OrderEvent[]) => void) | undefined;

  constructor(options: OrdersOptions) {
    this.store = options.store;
    this.users = options.users;
    this.currencies = options.currencies ?? currencySet();
    this.clock = options.clock ?? (() => new Date());
    this.onCommitted = options.onCommitted;
    if (options.newId) {
      this.newId = options.newId;
    } else {
      // Monotonic so ids made within one millisecond still sort in creation order (newest-first paging relies on it).
      const next = monotonicFactory();
      this.newId = () => ORDER_ID_PREFIX + next(this.clock().getTime());
    }
  }

  /**
   * Creates a PENDING order, idempotently by request id: a retry with the same content returns the first order, a
   * reuse with other content is ALREADY_EXISTS (REQUEST_ID_REUSED). The user must exist (asked of UserDirectory).
   */
  async create(request: CreateOrderRequest, access: Access, signal?: AbortSignal, deadline?: Date): Promise<Order> {
    throwIfAborted(signal);
    const { order: input } = request;
    const violations = [...validateRequestId(request.requestId), ...validateNewOrder(input, this.currencies)];
    if (violations.length > 0) throw invalidArgument(violations);
    if (!mayAccess(access, input.userId)) throw ownerMayNot("create orders for another user");
    // UUIDs are case-insensitive; one spelling keeps a retry in different case from looking like a new request.
    const requestId = request.requestId.toLowerCase();
    const requestHash = requestHashOf(input);

    // The common retry: answered from the store without asking UserService or writing anything.
    const earlier = await this.store.findByRequestId(requestId, signal);
    if (earlier) {
      if (earlier.requestHash !== requestHash) throw requestIdReused(requestId, earlier.order.id);
      return earlier.order;
    }
    if (!(await this.users.exists(input.userId, signal, deadline))) throw userNotFound(input.userId);

    const now = this.clock();
    const order: Order = {
      id: this.newId(),
      userId: input.userId,
      items: input.items.map((item) => ({ ...item })),
      totalMinor: totalOf(input.items),
      currencyCode: input.currencyCode,
      shippingAddress: { ...input.shippingAddress },
      state: "PENDING",
      createTime: now,
      updateTime: now,
      etag: newEtag(),
    };
    const event = eventOf(order, "CREATED", undefined, access.subject, "", now);
    // A concurrent twin may have won since the fast path looked; the store settles that race atomically.
    const outcome = await this.store.create({ order, event, requestId, requestHash }, signal);
    switch (outcome.kind) {
      case "created":
        this.committed([outcome.event]);
        return outcome.order;
      case "replayed":
        return outcome.order;
      case "reused":
        throw requestIdReused(requestId, outcome.existingOrderId);
    }
  }

  /** The order (and its audit trail if asked), or NOT_FOUND when it is missing or hidden (indistinguishable). */
  async get(id: string, access: Access, options: GetOrderOptions = {}, signal?: AbortSignal): Promise<OrderWithEvents> {
    const order = await this.visible(id, access, signal);
    if (!options.includeEvents) return { order };
    return { order, events: await this.store.orderEvents(id, 0, MAX_EVENTS_ON_GET, signal) };
  }

  /** One page, newest first; an owner-scoped caller sees only their own orders, whatever user filter they asked for. */
  async list(query: ListOrdersQuery, access: Access, signal?: AbortSignal): Promise<OrderPage> {
    requireLimit(query.limit);
    let filter = query.filter;
    if (access.ownOnly) {
      // Asking for someone else's orders is not an error: that user simply has none the caller can see.
      if (filter.userId && filter.userId !== access.subject) return { orders: [], hasMore: false };
      filter = { ...filter, userId: access.subject };
    }
    // One extra row tells us whether another page exists without a COUNT or a second query.
    const rows = await this.store.list({ filter, beforeId: query.beforeId, limit: query.limit + 1 }, signal);
    return { orders: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
  }

  /**
   * Changes items and/or the shipping address of a PENDING order with compare-and-set, recomputing the total and
   * writing an UPDATED event. With an etag, any concurrent change is ETAG_MISMATCH; without one, a lost race is
   * retried on fresh data up to UPDATE_RETRIES (@orderly/kit/domain) times, then ABORTED (CONCURRENT_UPDATE).
   */
  async update(request: UpdateOrderRequest, access: Access, signal?: AbortSignal): Promise<Order> {
    const { id, patch, paths } = request;
    const etag = request.etag || undefined;
    requireId(id);
    checkOrderMask(paths);
    return writeWithRetries({ resourceType: ORDER_RESOURCE_TYPE, id, etag }, async () => {
      const current = await this.visible(id, access, signal);
      if (etag !== undefined && etag !== current.etag) throw orderEtagMismatch(id);
      if (current.state !== "PENDING") throw orderNotEditable(current);
      const masked = applyOrderMask(current, patch, paths);
      const violations = validateOrderContent({ ...masked, currencyCode: current.currencyCode }, this.currencies);
      if (violations.length > 0) throw invalidArgument(violations);
      // Writing the same content again would only add noise to the audit trail and invalidate clients' etags.
      if (canonicalOrderContent({ ...current, ...masked }) === canonicalOrderContent(current)) return current;
      const now = this.clock();
      const next: Order = {
        ...current,
        ...masked,
        totalMinor: totalOf(masked.items),
        updateTime: now,
        etag: newEtag(),
      };
      const event = eventOf(next, "UPDATED", current.state, access.subject, "", now);
      return this.written(await this.store.update(next, current.etag, event, signal));
    });
  }

  /** PENDING -> CONFIRMED. */
  confirm(id: string, options: TransitionOptions, access: Access, signal?: AbortSignal): Promise<Order> {
    return this.move("confirm", id, options, access, signal);
  }

  /** CONFIRMED -> SHIPPED. */
  ship(id: string, options: TransitionOptions, access: Access, signal?: AbortSignal): Promise<Order> {
    return this.move("ship", id, options, access, signal);
  }

  /** SHIPPED -> DELIVERED. */
  deliver(id: string, options: TransitionOptions, access: Access, signal?: AbortSignal): Promise<Order> {
    return this.move("deliver", id, options, access, signal);
  }

  /** PENDING or CONFIRMED -> CANCELLED; a CANCELLED order is returned unchanged, with no new event. */
  cancel(id: string, options: TransitionOptions, access: Access, signal?: AbortSignal): Promise<Order> {
    return this.move("cancel", id, options, access, signal);
  }

  /** One page of an order's audit trail, oldest first; NOT_FOUND exactly as get. */
  async events(
    orderId: string,
    query: OrderEventsQuery,
    access: Access,
    signal?: AbortSignal,
  ): Promise<OrderEventPage> {
    requireLimit(query.limit);
    if (!Number.isSafeInteger(query.afterRevision) || query.afterRevision < 0) {
      throw invalidArgument([
        { field: "page_token", description: `must resume at a revision of 0 or more, got ${query.afterRevision}` },
      ]);
    }
    await this.visible(orderId, access, signal);
    const rows = await this.store.orderEvents(orderId, query.afterRevision, query.limit + 1, signal);
    return { events: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
  }

  // The state machine decides; a lost CAS without an etag re-reads and decides again, because the state may have
  // moved (e.g. a concurrent cancel makes a confirm invalid rather than something to retry blindly).
  private async move(
    action: OrderAction,
    id: string,
    options: TransitionOptions,
    access: Access,
    signal: AbortSignal | undefined,
  ): Promise<Order> {
    const etag = options.etag || undefined;
    const reason = options.reason ?? "";
    requireId(id);
    const violations = validateReason(reason);
    if (violations.length > 0) throw invalidArgument(violations);
    return writeWithRetries({ resourceType: ORDER_RESOURCE_TYPE, id, etag }, async () => {
      const current = await this.visible(id, access, signal);
      if (etag !== undefined && etag !== current.etag) throw orderEtagMismatch(id);
      const step = transition(current.state, action);
      if (!step) throw invalidStateTransition(current, action);
      if (!step.changes) return current;
      const now = this.clock();
      const next: Order = { ...current, state: step.to, updateTime: now, etag: newEtag() };
      const event = eventOf(next, EVENT_TYPE_OF_ACTION[action], current.state, access.subject, reason, now);
      return this.written(await this.store.update(next, current.etag, event, signal));
    });
  }

  // Missing and hidden orders fail identically, so an owner-scoped caller cannot probe for other users' order ids.
  private async visible(id: string, access: Access, signal: AbortSignal | undefined): Promise<Order> {
    requireId(id);
    const order = await this.store.get(id, signal);
    if (!order || !mayAccess(access, order.userId)) throw orderNotFound(id);
    return order;
  }

  // A won compare-and-set announces its event; a lost one (undefined) is passed on for writeWithRetries to retry.
  private written(result: { order: Order; event: OrderEvent } | undefined): Order | undefined {
    if (!result) return undefined;
    this.committed([result.event]);
    return result.order;
  }

  private committed(events: OrderEvent[]): void {
    if (!this.onCommitted) return;
    try {
      this.onCommitted(events);
    } catch (error) {
      process.emitWarning(error instanceof Error ? error : new Error(String(error)), {
        code: "ORDERLY_ON_COMMITTED_FAILED",
      });
    }
  }
}

function eventOf(
  order: Order,
  type: NewOrderEvent["type"],
  fromState: NewOrderEvent["fromState"],
  actor: string,
  reason: string,
  time: Date,
): NewOrderEvent {
  return { orderId: order.id, userId: order.userId, type, fromState, toState: order.state, actor, reason, time };
}

function requireLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) {
    const violation: FieldViolation = { field: "page_size", description: `must be a positive integer, got ${limit}` };
    throw invalidArgument([violation]);
  }
}
