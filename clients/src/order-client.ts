// The typed OrderService client: one promise method per RPC, paging and WatchOrders as async iterables. watch()
// remembers the last revision it saw and, when the stream breaks (UNAVAILABLE, a replica gone, or RESOURCE_EXHAUSTED
// for a reader that fell behind), reconnects from it: the server replays exactly what was missed.
import { randomUUID } from "node:crypto";
import {
  LineItem,
  Order,
  OrderEvent,
  OrderEventType,
  OrderState,
  ShippingAddress,
} from "@orderly/proto/orderly/order/v1/order";
import {
  OrderServiceClient as GeneratedOrderClient,
  type CancelOrderResponse,
  type ConfirmOrderResponse,
  type CreateOrderResponse,
  type DeliverOrderResponse,
  type GetOrderResponse,
  type ListOrderEventsResponse,
  type ListOrdersResponse,
  type OrderFilter,
  type ShipOrderResponse,
  type UpdateOrderResponse,
} from "@orderly/proto/orderly/order/v1/order_service";
import { Code, OrderlyError } from "@orderly/common";
import { allPages, present, Transport, type CallOptions, type ClientOptions } from "./transport.js";

export { OrderState, OrderEventType };
export type { Order, OrderEvent, LineItem, ShippingAddress, OrderFilter };

/** The fields a caller gives to create an order. */
export interface NewOrderInput {
  userId: string;
  items: { sku: string; quantity: number; unitPriceMinor: bigint }[];
  currencyCode: string;
  shippingAddress: Partial<ShippingAddress>;
}

/** One page of orders or events. */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** What a watch yields. */
export type WatchItem =
  | { kind: "event"; event: OrderEvent }
  /** Replay is done up to headRevision; live events follow. */
  | { kind: "sync"; headRevision: bigint }
  /** Nothing new up to headRevision. */
  | { kind: "heartbeat"; headRevision: bigint };

/** A running watch: iterate it; lastRevision is where a later watch can resume. */
export interface OrderWatch extends AsyncIterable<WatchItem> {
  /** The newest revision this watch has fully seen (events, sync and heartbeat markers). */
  readonly lastRevision: bigint;
}

/** Options of watch(). */
export interface WatchOptions extends Pick<CallOptions, "signal" | "requestId"> {
  orderId?: string;
  userId?: string;
  /** Replay events after this revision first; 0 or absent starts at the head. */
  sinceRevision?: bigint;
  /** Reconnect from lastRevision when the stream breaks with a retryable status (default true). */
  reconnect?: boolean;
  /** Wait between reconnects (default 250 ms, or the server's RetryInfo). */
  reconnectDelayMs?: number;
}

/** A typed OrderService client. */
export interface OrderClient {
  /**
   * CreateOrder. `idempotencyKey` (the request's request_id) defaults to a fresh UUID made once per create() call, so
   * the client's own retries of the call reuse it; pass your own and reuse it when you retry the create yourself.
   */
  create(order: NewOrderInput, options?: CallOptions & { idempotencyKey?: string }): Promise<Order>;
  /** GetOrder. */
  get(id: string, options?: CallOptions): Promise<Order>;
  /** GetOrder with its audit trail. */
  getWithEvents(id: string, options?: CallOptions): Promise<{ order: Order; events: OrderEvent[] }>;
  /** ListOrders: one page, newest first. */
  list(
    request?: { pageSize?: number; pageToken?: string; filter?: Partial<OrderFilter> },
    options?: CallOptions,
  ): Promise<Page<Order>>;
  /** Every order matching the filter, newest first, page after page. */
  listAll(filter?: Partial<OrderFilter>, options?: CallOptions & { pageSize?: number }): AsyncIterable<Order>;
  /** UpdateOrder (PENDING only): items and/or shipping address as named by updateMask. */
  update(
    order: { id: string; items?: NewOrderInput["items"]; shippingAddress?: Partial<ShippingAddress> },
    updateMask: readonly string[],
    options?: CallOptions & { etag?: string },
  ): Promise<Order>;
  /** CancelOrder. */
  cancel(id: string, options?: CallOptions & { etag?: string; reason?: string }): Promise<Order>;
  /** ConfirmOrder. */
  confirm(id: string, options?: CallOptions & { etag?: string }): Promise<Order>;
  /** ShipOrder. */
  ship(id: string, options?: CallOptions & { etag?: string }): Promise<Order>;
  /** DeliverOrder. */
  deliver(id: string, options?: CallOptions & { etag?: string }): Promise<Order>;
  /** ListOrderEvents, every page: the order's audit trail, oldest first. */
  events(orderId: string, options?: CallOptions & { pageSize?: number }): AsyncIterable<OrderEvent>;
  /** WatchOrders, resuming across broken streams. */
  watch(options?: WatchOptions): OrderWatch;
  /** Closes the connection. */
  close(): void;
}

const RECONNECTABLE = new Set<number>([Code.UNAVAILABLE, Code.RESOURCE_EXHAUSTED, Code.INTERNAL, Code.UNKNOWN]);

/** Creates an OrderService client. */
export function createOrderClient(options: ClientOptions): OrderClient {
  const transport = new Transport(GeneratedOrderClient, "orderly.order.v1.OrderService", options);
  const grpc = transport.client;
  const filterOf = (filter?: Partial<OrderFilter>): OrderFilter => ({
    userId: filter?.userId ?? "",
    state: filter?.state ?? OrderState.ORDER_STATE_UNSPECIFIED,
  });
  const list: OrderClient["list"] = async (request = {}, call) => {
    const response = await transport.unary<ListOrdersResponse>(
      (md, opts, cb) =>
        grpc.listOrders(
          { pageSize: request.pageSize ?? 0, pageToken: request.pageToken ?? "", filter: filterOf(request.filter) },
          md,
          opts,
          cb,
        ),
      call,
    );
    return { items: response.orders, nextPageToken: response.nextPageToken };
  };
  const getWithEvents = async (id: string, includeEvents: boolean, call?: CallOptions) =>
    transport.unary<GetOrderResponse>((md, opts, cb) => grpc.getOrder({ id, includeEvents }, md, opts, cb), call);

  return {
    async create(order, call = {}) {
      const request = {
        requestId: call.idempotencyKey ?? randomUUID(),
        order: Order.fromPartial({ ...order, shippingAddress: ShippingAddress.fromPartial(order.shippingAddress) }),
      };
      const response = await transport.unary<CreateOrderResponse>(
        (md, opts, cb) => grpc.createOrder(request, md, opts, cb),
        call,
      );
      return present(response.order, "order");
    },
    async get(id, call) {
      return present((await getWithEvents(id, false, call)).order, "order");
    },
    async getWithEvents(id, call) {
      const response = await getWithEvents(id, true, call);
      return { order: present(response.order, "order"), events: response.events };
    },
    list,
    listAll: (filter, call = {}) =>
      allPages((pageToken) => list({ filter, pageToken, ...(call.pageSize ? { pageSize: call.pageSize } : {}) }, call)),
    async update(order, updateMask, call = {}) {
      const request = {
        order: Order.fromPartial({
          id: order.id,
          items: order.items ?? [],
          shippingAddress: ShippingAddress.fromPartial(order.shippingAddress ?? {}),
        }),
        updateMask: [...updateMask],
        etag: call.etag ?? "",
      };
      return present(
        (await transport.unary<UpdateOrderResponse>((md, opts, cb) => grpc.updateOrder(request, md, opts, cb), call))
          .order,
        "order",
      );
    },
    async cancel(id, call = {}) {
      const request = { id, reason: call.reason ?? "", etag: call.etag ?? "" };
      return present(
        (await transport.unary<CancelOrderResponse>((md, opts, cb) => grpc.cancelOrder(request, md, opts, cb), call))
          .order,
        "order",
      );
    },
    async confirm(id, call = {}) {
      return present(
        (
          await transport.unary<ConfirmOrderResponse>(
            (md, opts, cb) => grpc.confirmOrder({ id, etag: call.etag ?? "" }, md, opts, cb),
            call,
          )
        ).order,
        "order",
      );
    },
    async ship(id, call = {}) {
      return present(
        (
          await transport.unary<ShipOrderResponse>(
            (md, opts, cb) => grpc.shipOrder({ id, etag: call.etag ?? "" }, md, opts, cb),
            call,
          )
        ).order,
        "order",
      );
    },
    async deliver(id, call = {}) {
      return present(
        (
          await transport.unary<DeliverOrderResponse>(
            (md, opts, cb) => grpc.deliverOrder({ id, etag: call.etag ?? "" }, md, opts, cb),
            call,
          )
        ).order,
        "order",
      );
    },
    events: (orderId, call = {}) =>
      allPages(async (pageToken) => {
        const response = await transport.unary<ListOrderEventsResponse>(
          (md, opts, cb) => grpc.listOrderEvents({ orderId, pageSize: call.pageSize ?? 0, pageToken }, md, opts, cb),
          call,
        );
        return { items: response.events, nextPageToken: response.nextPageToken };
      }),
    watch(watchOptions = {}) {
      let lastRevision = watchOptions.sinceRevision ?? 0n;
      const reconnect = watchOptions.reconnect ?? true;
      const signal = watchOptions.signal;
      async function* run(): AsyncGenerator<WatchItem, void, undefined> {
        for (;;) {
          try {
            const request = {
              orderId: watchOptions.orderId ?? "",
              userId: watchOptions.userId ?? "",
              sinceRevision: lastRevision,
            };
            const stream = transport.serverStream((md, opts) => grpc.watchOrders(request, md, opts), {
              ...(signal ? { signal } : {}),
              ...(watchOptions.requestId ? { requestId: watchOptions.requestId } : {}),
            });
            for await (const message of stream) {
              const kind = message.kind;
              if (!kind) continue;
              if (kind.$case === "event") {
                lastRevision = kind.value.revision;
                yield { kind: "event", event: kind.value };
              } else {
                if (kind.value.headRevision > lastRevision) lastRevision = kind.value.headRevision;
                yield { kind: kind.$case, headRevision: kind.value.headRevision };
              }
            }
            return;
          } catch (error) {
            const failure = OrderlyError.from(error);
            if (!reconnect || signal?.aborted || !RECONNECTABLE.has(failure.code)) throw failure;
            const delay = failure.details.retryInfo?.retryDelayMs ?? watchOptions.reconnectDelayMs ?? 250;
            await new Promise((resolve) => setTimeout(resolve, delay));
          }
        }
      }
      const iterable = run();
      return {
        get lastRevision() {
          return lastRevision;
        },
        [Symbol.asyncIterator]: () => iterable,
      };
    },
    close: () => transport.close(),
  };
}
