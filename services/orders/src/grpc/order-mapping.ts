// proto <-> domain for orders. Only translation lives here: enums by name, money as bigint on both sides.
import {
  OrderEventType as ProtoEventType,
  OrderState as ProtoState,
  type LineItem as ProtoLineItem,
  type Order as ProtoOrder,
  type OrderEvent as ProtoEvent,
  type ShippingAddress as ProtoAddress,
} from "@orderly/proto/orderly/order/v1/order";
import type { OrderFilter as ProtoFilter } from "@orderly/proto/orderly/order/v1/order_service";
import type {
  LineItem,
  NewOrder,
  Order,
  OrderEvent,
  OrderEventType,
  OrderFilter,
  OrderState,
  ShippingAddress,
} from "../domain/model.js";

/** A domain state as the wire enum. */
export function stateToProto(state: OrderState | undefined): ProtoState {
  return state ? ProtoState[`ORDER_STATE_${state}`] : ProtoState.ORDER_STATE_UNSPECIFIED;
}

/** A wire state as the domain's; UNSPECIFIED (or an unknown number) is "no state". */
export function stateFromProto(state: ProtoState): OrderState | undefined {
  const name = ProtoState[state] as string | undefined;
  return name && state !== ProtoState.ORDER_STATE_UNSPECIFIED
    ? (name.slice("ORDER_STATE_".length) as OrderState)
    : undefined;
}

function eventTypeToProto(type: OrderEventType): ProtoEventType {
  return ProtoEventType[`ORDER_EVENT_TYPE_${type}`];
}

/** A domain order as the wire message. */
export function orderToProto(order: Order): ProtoOrder {
  return {
    id: order.id,
    userId: order.userId,
    items: order.items.map((item) => ({ sku: item.sku, quantity: item.quantity, unitPriceMinor: item.unitPriceMinor })),
    totalMinor: order.totalMinor,
    currencyCode: order.currencyCode,
    shippingAddress: { ...order.shippingAddress },
    state: stateToProto(order.state),
    createTime: order.createTime,
    updateTime: order.updateTime,
    etag: order.etag,
  };
}

/** A domain event as the wire message. */
export function eventToProto(event: OrderEvent): ProtoEvent {
  return {
    revision: BigInt(event.revision),
    orderId: event.orderId,
    userId: event.userId,
    type: eventTypeToProto(event.type),
    fromState: stateToProto(event.fromState),
    toState: stateToProto(event.toState),
    actor: event.actor,
    reason: event.reason,
    time: event.time,
  };
}

/** The create-time fields of a wire order (output-only fields are ignored). */
export function newOrderFromProto(order: ProtoOrder | undefined): NewOrder {
  return {
    userId: order?.userId ?? "",
    items: (order?.items ?? []).map(itemFromProto),
    currencyCode: order?.currencyCode ?? "",
    shippingAddress: addressFromProto(order?.shippingAddress),
  };
}

/** A wire line item as the domain's. */
export function itemFromProto(item: ProtoLineItem): LineItem {
  return { sku: item.sku, quantity: item.quantity, unitPriceMinor: item.unitPriceMinor };
}

/** A wire address as the domain's; a missing address becomes an empty one (validation reports it). */
export function addressFromProto(address: ProtoAddress | undefined): ShippingAddress {
  return {
    recipient: address?.recipient ?? "",
    line1: address?.line1 ?? "",
    line2: address?.line2 ?? "",
    city: address?.city ?? "",
    region: address?.region ?? "",
    postalCode: address?.postalCode ?? "",
    countryCode: address?.countryCode ?? "",
  };
}

/** A wire filter as the domain's; empty fields do not filter. */
export function filterFromProto(filter: ProtoFilter | undefined): OrderFilter {
  const state = filter ? stateFromProto(filter.state) : undefined;
  return { ...(filter?.userId ? { userId: filter.userId } : {}), ...(state ? { state } : {}) };
}
