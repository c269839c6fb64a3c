// The order life cycle as data: one table, copied cell for cell from docs/product.md#states, so reviewing the rules
// means reading the table, and the service never decides a move with its own if/else.
import type { OrderEventType, OrderState } from "./model.js";

/** What a caller can do to an order's state: ConfirmOrder, ShipOrder, DeliverOrder and CancelOrder. */
export type OrderAction = "confirm" | "ship" | "deliver" | "cancel";

/** Every state, in life-cycle order. */
export const ORDER_STATES: readonly OrderState[] = ["PENDING", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED"];

/** Every action, in the column order of the table. */
export const ORDER_ACTIONS: readonly OrderAction[] = ["confirm", "ship", "deliver", "cancel"];

/** A cell of the table: the state an action leads to, or "-" when the action is not allowed from that state. */
export type TransitionCell = OrderState | "-";

/**
 * from state -> action -> to state, exactly as docs/product.md#states; CANCELLED x cancel stays CANCELLED (a no-op
 * success).
 */
export const TRANSITIONS: { readonly [From in OrderState]: { readonly [Action in OrderAction]: TransitionCell } } = {
  PENDING: { confirm: "CONFIRMED", ship: "-", deliver: "-", cancel: "CANCELLED" },
  CONFIRMED: { confirm: "-", ship: "SHIPPED", deliver: "-", cancel: "CANCELLED" },
  SHIPPED: { confirm: "-", ship: "-", deliver: "DELIVERED", cancel: "-" },
  DELIVERED: { confirm: "-", ship: "-", deliver: "-", cancel: "-" },
  CANCELLED: { confirm: "-", ship: "-", deliver: "-", cancel: "CANCELLED" },
};

/** The audit event type each action writes when it changes the state. */
export const EVENT_TYPE_OF_ACTION: { readonly [Action in OrderAction]: OrderEventType } = {
  confirm: "CONFIRMED",
  ship: "SHIPPED",
  deliver: "DELIVERED",
  cancel: "CANCELLED",
};

/** The RPC that performs each action; errors name it because that is what a client called. */
export const METHOD_OF_ACTION: { readonly [Action in OrderAction]: string } = {
  confirm: "ConfirmOrder",
  ship: "ShipOrder",
  deliver: "DeliverOrder",
  cancel: "CancelOrder",
};

/** The allowed move of `action` from `state`, or undefined for a "-" cell; `changes` is false for a no-op success. */
export function transition(state: OrderState, action: OrderAction): { to: OrderState; changes: boolean } | undefined {
  const to = TRANSITIONS[state][action];
  if (to === "-") return undefined;
  return { to, changes: to !== state };
}

/** The states from which `action` is allowed, in life-cycle order (what an error tells the caller it needs). */
export function statesAllowing(action: OrderAction): OrderState[] {
  return ORDER_STATES.filter((state) => TRANSITIONS[state][action] !== "-");
}
