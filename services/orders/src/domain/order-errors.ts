// The Orders domain's named failures, built on the kit's DomainError so the server maps them to gRPC in one place.
// The service and the stores raise these, so reason strings and detail shapes cannot drift between them.
import { DomainError, DomainReason, etagMismatch, notFound } from "@orderly/kit/domain";
import { ORDER_RESOURCE_TYPE, type Order } from "./model.js";
import { METHOD_OF_ACTION, statesAllowing, type OrderAction } from "./state-machine.js";

/** The proto type of a user, named in USER_NOT_FOUND's ResourceInfo (Orders must not import the Users service). */
export const USER_RESOURCE_TYPE = "orderly.user.v1.User";

/** The stable, documented ErrorInfo reasons the Orders domain produces (docs/product.md, "Errors"). */
export const OrderReason = {
  ...DomainReason,
  /** The order does not exist, or the caller may not know that it does. */
  ORDER_NOT_FOUND: "ORDER_NOT_FOUND",
  /** The order's state does not allow the requested Confirm/Ship/Deliver/Cancel. */
  INVALID_STATE_TRANSITION: "INVALID_STATE_TRANSITION",
  /** UpdateOrder on an order that is no longer PENDING. */
  ORDER_NOT_PENDING: "ORDER_NOT_PENDING",
  /** The request_id was used before for a CreateOrder with different content. */
  REQUEST_ID_REUSED: "REQUEST_ID_REUSED",
  /** CreateOrder named a user that does not exist. */
  USER_NOT_FOUND: "USER_NOT_FOUND",
} as const;

/** One of the reason strings in OrderReason. */
export type OrderReason = (typeof OrderReason)[keyof typeof OrderReason];

/** NOT_FOUND for an order that is missing or that the caller may not see (the two must look the same). */
export function orderNotFound(id: string): DomainError {
  return notFound(OrderReason.ORDER_NOT_FOUND, ORDER_RESOURCE_TYPE, id);
}

/** FAILED_PRECONDITION for a "-" cell of the state table, naming the state the order is in and the ones it needs. */
export function invalidStateTransition(order: Pick<Order, "id" | "state">, action: OrderAction): DomainError {
  const method = METHOD_OF_ACTION[action];
  const description = `order is ${order.state}; ${method} needs ${orList(statesAllowing(action))}`;
  return new DomainError(
    "failed_precondition",
    OrderReason.INVALID_STATE_TRANSITION,
    `cannot ${action} order ${JSON.stringify(order.id)}: ${description}`,
    {
      preconditionViolations: [{ type: "STATE", subject: order.id, description }],
      metadata: { id: order.id, state: order.state, action: method },
    },
  );
}

/** FAILED_PRECONDITION because UpdateOrder may change an order only while it is PENDING. */
export function orderNotEditable(order: Pick<Order, "id" | "state">): DomainError {
  const description = `order is ${order.state}; UpdateOrder needs PENDING`;
  return new DomainError(
    "failed_precondition",
    OrderReason.ORDER_NOT_PENDING,
    `cannot update order ${JSON.stringify(order.id)}: ${description}`,
    {
      preconditionViolations: [{ type: "STATE", subject: order.id, description }],
      metadata: { id: order.id, state: order.state },
    },
  );
}

/** ALREADY_EXISTS because this request_id already created an order from different content. */
export function requestIdReused(requestId: string, existingOrderId: string): DomainError {
  return new DomainError(
    "already_exists",
    OrderReason.REQUEST_ID_REUSED,
    `request_id ${JSON.stringify(requestId)} was already used for a different order; make a new request_id for a new order`,
    { metadata: { request_id: requestId, order_id: existingOrderId } },
  );
}

/** NOT_FOUND because CreateOrder named a user that UserService does not know. */
export function userNotFound(userId: string): DomainError {
  return notFound(OrderReason.USER_NOT_FOUND, USER_RESOURCE_TYPE, userId);
}

/** ABORTED because the caller's etag no longer matches the order's. */
export function orderEtagMismatch(id: string): DomainError {
  return etagMismatch(ORDER_RESOURCE_TYPE, id);
}

// "A", "A or B", "A, B or C": reads as a sentence in the precondition description.
function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}
