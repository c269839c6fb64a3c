// OrderService as a process: the embedded SQLite store under DATA_DIR (default ./data), listening on ORDERS_ADDRESS
// (default 127.0.0.1:50052), checking users through UserService at USERS_TARGET (default 127.0.0.1:50051; a comma
// list for several replicas) with its own service identity.
import { join } from "node:path";
import { createUserClient } from "@orderly/clients";
import { createPageTokens, runServiceProcess, serviceTokenProvider } from "@orderly/kit";
import { OrderServiceService } from "@orderly/proto/orderly/order/v1/order_service";
import { currencySet, parseCurrencies } from "./domain/currencies.js";
import { EventFeed } from "./domain/event-feed.js";
import { Orders } from "./domain/order-service.js";
import { orderHandlers } from "./grpc/order-handlers.js";
import { grpcUserDirectory } from "./grpc/user-directory.js";
import { openSqliteOrderStore } from "./store/sqlite-order-store.js";

await runServiceProcess({
  name: "orders",
  address: process.env.ORDERS_ADDRESS ?? "127.0.0.1:50052",
  async register(server, logger) {
    const store = await openSqliteOrderStore({ path: join(process.env.DATA_DIR ?? "data", "orders.sqlite") });
    const feed = new EventFeed({ store, onError: (error) => logger.warn({ err: error }, "event feed read failed") });
    await feed.start();
    const users = createUserClient({
      address: (process.env.USERS_TARGET ?? "127.0.0.1:50051").split(","),
      tokenProvider: serviceTokenProvider(process.env.SERVICE_SUBJECT ?? "svc-orders"),
    });
    const orders = new Orders({
      store,
      users: grpcUserDirectory(users),
      ...(process.env.CURRENCIES ? { currencies: parseCurrencies(process.env.CURRENCIES) } : { currencies: currencySet() }),
      onCommitted: () => feed.notify(),
    });
    const watch = {
      store,
      feed,
      ...(process.env.WATCH_HEARTBEAT_MS ? { heartbeatMs: Number(process.env.WATCH_HEARTBEAT_MS) } : {}),
    };
    server.addService(OrderServiceService, orderHandlers(orders, watch, createPageTokens()));
    return async () => {
      await feed.stop();
      users.close();
      await store.close();
    };
  },
});
