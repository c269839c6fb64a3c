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
export type { ClientOptions, CallOptions, TlsOptions } from "./transport.js";
export { tlsCredentials } from "./transport.js";
export { refreshingToken, tokenFromFile, type TokenProvider, type RefreshingTokenProvider } from "./token-provider.js";
export type { RefreshOptions, TokenFileOptions } from "./token-provider.js";
export { DEFAULT_RETRY, Reason, type RetryPolicy, type RetryOptions, type RetryCause } from "./retry-policy.js";
export type { RetryBudgetOptions } from "./retry-budget.js";
export type { CircuitBreakerOptions } from "./circuit-breaker.js";
export type { ClientObserver, AttemptEvent, RetryEvent, BreakerEvent, BreakerState, GiveUpReason } from "./observer.js";
// Re-exported from @orderly/common, which the server kit shares, so callers need only this package.
export { OrderlyError, Code, type ErrorDetails } from "@orderly/common";
export { runInCallScope, currentCallScope, outsideCallScope, type CallScope } from "@orderly/common";
