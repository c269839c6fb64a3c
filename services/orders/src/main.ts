// OrderService as a process, listening on ORDERS_ADDRESS (default 127.0.0.1:50052), checking users through
// UserService at USERS_TARGET (default 127.0.0.1:50051; a comma list for several replicas) with its own service
// identity. Storage: PostgreSQL when DATABASE_URL is set (schema ORDERS_DB_SCHEMA, default "orders"; several replicas
// share it and learn of each other's writes through LISTEN/NOTIFY), else the embedded SQLite file under DATA_DIR.
// Every setting comes from the kit's config (loadConfigOrExit).
import { join } from "node:path";
import { createUserClient, tokenFromFile, type ClientOptions } from "@orderly/clients";
import {
  clientCredentialsOf,
  createPageTokens,
  loadConfigOrExit,
  pageTokenSecretOf,
  runServiceProcess,
  type Config,
  type Logger,
} from "@orderly/kit";
import type { Gauges } from "@orderly/kit/domain";
import { OrderServiceService } from "@orderly/proto/orderly/order/v1/order_service";
import { parseCurrencies } from "./domain/currencies.js";
import { EventFeed } from "./domain/event-feed.js";
import { Orders } from "./domain/order-service.js";
import { WatchStats } from "./domain/watch.js";
import type { OrderStore } from "./domain/order-store.js";
import { orderHandlers } from "./grpc/order-handlers.js";
import { grpcUserDirectory } from "./grpc/user-directory.js";
import { openSqliteOrderStore } from "./store/sqlite-order-store.js";

/** The store, the live feed of its event log, and how to stop both (listener first, then feed, then store). */
async function openStorage(
  config: Config<"orders">,
  logger: Logger,
  gauges: Gauges,
): Promise<{ store: OrderStore; feed: EventFeed; close(): Promise<void> }> {
  const onError = (error: unknown) => logger.warn({ err: error }, "event feed read failed");
  const url = config.DATABASE_URL;
  if (!url) {
    const store = await openSqliteOrderStore({ path: join(config.DATA_DIR, "orders.sqlite") });
    const feed = new EventFeed({ store, onError });
    await feed.start();
    const close = async () => {
      await feed.stop();
      await store.close();
    };
    return { store, feed, close };
  }
  // Imported only with a DATABASE_URL: pg is resident memory a SQLite process never uses (the bundle splits it off).
  const [{ openPostgresOrderStore }, { listenForOrderEvents }] = await Promise.all([
    import("./store/postgres-order-store.js"),
    import("./store/postgres-order-notifications.js"),
  ]);
  const store = await openPostgresOrderStore({
    url,
    schema: config.ORDERS_DB_SCHEMA,
    statementTimeoutMs: 15_000,
    gauges,
  });
  // Other replicas' commits arrive by NOTIFY; the poll is a safety net for a notification lost with a connection.
  const feed = new EventFeed({ store, onError, pollIntervalMs: 5_000 });
  // Listen before the feed reads its start position, so nothing committed in between is missed.
  const listener = await listenForOrderEvents({
    url,
    onNotify: (committedRevision) => feed.notify(committedRevision),
    onError: (error) => logger.warn({ err: error }, "LISTEN connection lost; reconnecting"),
  });
  await feed.start();
  const close = async () => {
    await listener.close();
    await feed.stop();
    await store.close();
  };
  return { store, feed, close };
}

/** TLS to UserService when USERS_TLS_CA_FILE is set: its files are read again every TLS_RELOAD_MS, like a server's. */
function usersTls(config: Config<"orders">, logger: Logger): Pick<ClientOptions, "credentials" | "channelOptions"> {
  const { USERS_TLS_CA_FILE: ca, USERS_TLS_CERT_FILE: cert, USERS_TLS_KEY_FILE: key } = config;
  if (!ca) return {};
  const file = (setting: string, path: string | undefined) => (path ? { setting, path } : undefined);
  const credentials = clientCredentialsOf(
    {
      ca: { setting: "USERS_TLS_CA_FILE", path: ca },
      cert: file("USERS_TLS_CERT_FILE", cert),
      key: file("USERS_TLS_KEY_FILE", key),
    },
    config.TLS_RELOAD_MS,
    (error) =>
      error
        ? logger.warn({ err: error }, "USERS_TLS_* files changed but are not usable; still using the previous ones")
        : logger.info("USERS_TLS_* certificates reloaded"),
  );
  const serverName = config.USERS_TLS_SERVER_NAME;
  return { credentials, ...(serverName ? { channelOptions: { "grpc.ssl_target_name_override": serverName } } : {}) };
}

const config = loadConfigOrExit("orders");
await runServiceProcess({
  name: "orders",
  address: config.ORDERS_ADDRESS,
  config,
  async register(server, logger) {
    const storage = await openStorage(config, logger, server.gauges);
    const users = createUserClient({
      address: config.USERS_TARGET,
      // Cached, read again ahead of its exp, when the file changes, and after UserService refused it. Without a token
      // file, OrderService's identity is its client certificate (USERS_TLS_CERT_FILE; UserService's TLS_PEER_ROLES).
      ...(config.SERVICE_TOKEN_FILE ? { tokenProvider: tokenFromFile(config.SERVICE_TOKEN_FILE) } : {}),
      ...usersTls(config, logger),
      // CreateOrder passes its deadline and signal to the check itself (grpcUserDirectory): no call scopes, so this
      // process runs without async hooks, which would otherwise cost every write of every WatchOrders delivery.
      inheritCallScope: false,
    });
    const orders = new Orders({
      store: storage.store,
      users: grpcUserDirectory(users),
      currencies: parseCurrencies(config.CURRENCIES.join(",")),
      // The last event's revision is committed: with nobody watching, the feed moves past it without reading.
      onCommitted: (events) => storage.feed.notify(events.at(-1)?.revision),
    });
    const stats = new WatchStats();
    stats.report(server.gauges);
    const watch = {
      store: storage.store,
      feed: storage.feed,
      heartbeatMs: config.WATCH_HEARTBEAT_MS,
      queueLimit: config.WATCH_QUEUE_LIMIT,
      stats,
    };
    server.addService(OrderServiceService, orderHandlers(orders, watch, createPageTokens(pageTokenSecretOf(config))));
    return async () => {
      users.close();
      await storage.close();
    };
  },
});
