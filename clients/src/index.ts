// @orderly/clients: typed clients for Orderly's services. Public API first.
export {
  createUserClient,
  type UserClient,
  type NewUserInput,
  type UserPage,
  type User,
  type Profile,
  type UserFilter,
} from "./user-client.js";
export {
  createOrderClient,
  OrderState,
  OrderEventType,
  type OrderClient,
  type NewOrderInput,
  type OrderWatch,
  type WatchItem,
  type WatchOptions,
  type Page,
  type Order,
  type OrderEvent,
  type LineItem,
  type ShippingAddress,
  type OrderFilter,
} from "./order-client.js";
export type { ClientOptions, CallOptions } from "./transport.js";
export type { RetryOptions } from "./service-config.js";
// Re-exported from @orderly/common, which the server kit shares, so callers need only this package.
export { OrderlyError, Code, type ErrorDetails } from "@orderly/common";
export { runInCallScope, currentCallScope, outsideCallScope, type CallScope } from "@orderly/common";
