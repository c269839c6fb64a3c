// @orderly/orders: the OrderService's parts, for its process (main.ts) and for tests.
export { Orders, type OrdersOptions } from "./domain/order-service.js";
export type { OrderStore } from "./domain/order-store.js";
export { EventFeed } from "./domain/event-feed.js";
export { watchOrders, type WatchDeps } from "./domain/watch.js";
export { openSqliteOrderStore } from "./store/sqlite-order-store.js";
export { orderHandlers } from "./grpc/order-handlers.js";
export { grpcUserDirectory } from "./grpc/user-directory.js";
