// OrderService over gRPC: a thin adapter from the generated contract to the Orders domain service and the watch.
// Rules live in the domain; auth, deadlines, errors and logging live in the kit's interceptors.
import { Encoded, pageSizeOf, type PageTokens, type ServiceHandlers } from "@orderly/kit";
import { invalidArgument } from "@orderly/kit/domain";
import { OrderServiceService, WatchOrdersResponse } from "@orderly/proto/orderly/order/v1/order_service";
import type { OrderEvent } from "../domain/model.js";
import type { Orders } from "../domain/order-service.js";
import { watchOrders, type WatchDeps, type WatchItem } from "../domain/watch.js";
import {
  addressFromProto,
  eventToProto,
  filterFromProto,
  itemFromProto,
  newOrderFromProto,
  orderToProto,
} from "./order-mapping.js";

// A live event reaches every watcher as the same object (the feed reads it once), so it is mapped and encoded once for
// all of them rather than once per stream. The feed dispatches one event to every watcher before the next, so the
// last one encoded is checked first, before the map.
const encodedEvents = new WeakMap<OrderEvent, Encoded<WatchOrdersResponse>>();
let last: { event: OrderEvent; encoded: Encoded<WatchOrdersResponse> } | undefined;

function encodedEvent(event: OrderEvent): Encoded<WatchOrdersResponse> {
  if (last?.event === event) return last.encoded;
  let encoded = encodedEvents.get(event);
  if (!encoded) {
    const bytes = WatchOrdersResponse.encode({ kind: { $case: "event", value: eventToProto(event) } }).finish();
    encoded = new Encoded(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    encodedEvents.set(event, encoded);
  }
  last = { event, encoded };
  return encoded;
}

/** A watch item as the message it is sent as. */
function watchMessage(item: WatchItem): WatchOrdersResponse | Encoded<WatchOrdersResponse> {
  if (item.kind === "event") return encodedEvent(item.event);
  const value = { headRevision: BigInt(item.headRevision) };
  return { kind: item.kind === "sync" ? { $case: "sync", value } : { $case: "heartbeat", value } };
}

/** The OrderService handlers over an Orders domain service and the watch machinery. */
export function orderHandlers(
  orders: Orders,
  watch: WatchDeps,
  pageTokens: PageTokens,
): ServiceHandlers<typeof OrderServiceService> {
  const transition =
    (move: "confirm" | "ship" | "deliver" | "cancel") =>
    async (
      request: { id: string; etag: string; reason?: string },
      ctx: Parameters<ServiceHandlers<typeof OrderServiceService>["confirmOrder"]>[1],
    ) => {
      const order = await orders[move](
        request.id,
        { etag: request.etag, reason: request.reason ?? "" },
        ctx.caller.access,
        ctx.signal,
      );
      return { order: orderToProto(order) };
    };

  return {
    async createOrder(request, ctx) {
      const order = await orders.create(
        { requestId: request.requestId, order: newOrderFromProto(request.order) },
        ctx.caller.access,
        ctx.signal,
        ctx.deadline,
      );
      return { order: orderToProto(order) };
    },

    async getOrder(request, ctx) {
      const found = await orders.get(
        request.id,
        ctx.caller.access,
        { includeEvents: request.includeEvents },
        ctx.signal,
      );
      return { order: orderToProto(found.order), events: (found.events ?? []).map(eventToProto) };
    },

    async listOrders(request, ctx) {
      const limit = pageSizeOf(request.pageSize);
      const filter = filterFromProto(request.filter);
      const beforeId = pageTokens.decode(request.pageToken, filter);
      const page = await orders.list(
        { filter, limit, ...(beforeId ? { beforeId } : {}) },
        ctx.caller.access,
        ctx.signal,
      );
      return {
        orders: page.orders.map(orderToProto),
        nextPageToken: pageTokens.next(page.orders.at(-1)?.id, page.hasMore, filter),
      };
    },

    async updateOrder(request, ctx) {
      if (!request.order) throw invalidArgument([{ field: "order", description: "is required" }]);
      const patch = {
        items: request.order.items.map(itemFromProto),
        shippingAddress: addressFromProto(request.order.shippingAddress),
      };
      const order = await orders.update(
        { id: request.order.id, patch, paths: request.updateMask ?? [], etag: request.etag },
        ctx.caller.access,
        ctx.signal,
      );
      return { order: orderToProto(order) };
    },

    cancelOrder: transition("cancel"),
    confirmOrder: transition("confirm"),
    shipOrder: transition("ship"),
    deliverOrder: transition("deliver"),

    async listOrderEvents(request, ctx) {
      const limit = pageSizeOf(request.pageSize);
      const scope = { orderId: request.orderId };
      const after = pageTokens.decode(request.pageToken, scope);
      const page = await orders.events(
        request.orderId,
        { afterRevision: after ? Number(after) : 0, limit },
        ctx.caller.access,
        ctx.signal,
      );
      const last = page.events.at(-1);
      return {
        events: page.events.map(eventToProto),
        nextPageToken: pageTokens.next(last && String(last.revision), page.hasMore, scope),
      };
    },

    watchOrders(request, ctx) {
      if (request.sinceRevision < 0n)
        throw invalidArgument([{ field: "since_revision", description: "must not be negative" }]);
      // Pushed, not pulled: the feed's dispatch writes each live event straight to every watcher that takes it.
      return (sink) =>
        watchOrders(
          watch,
          { orderId: request.orderId, userId: request.userId, sinceRevision: Number(request.sinceRevision) },
          ctx.caller.access,
          ctx.signal,
          { send: (item) => sink.send(watchMessage(item)), whenWritable: () => sink.whenWritable() },
        );
    },
  };
}
