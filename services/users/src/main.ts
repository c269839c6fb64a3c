// UserService as a process, listening on USERS_ADDRESS (default 127.0.0.1:50051). Storage: PostgreSQL when
// DATABASE_URL is set (schema USERS_DB_SCHEMA, default "users"; several replicas may share it), else the embedded
// SQLite file under DATA_DIR (default ./data). Every setting comes from the kit's config (loadConfigOrExit).
import { join } from "node:path";
import { createPageTokens, loadConfigOrExit, pageTokenSecretOf, runServiceProcess, type Config } from "@orderly/kit";
import type { Gauges } from "@orderly/kit/domain";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import type { UserStore } from "./domain/user-store.js";
import { Users } from "./domain/user-service.js";
import { userHandlers } from "./grpc/user-handlers.js";
import { openSqliteUserStore } from "./store/sqlite-user-store.js";

async function openStore(config: Config<"users">, gauges: Gauges): Promise<UserStore> {
  const url = config.DATABASE_URL;
  if (url) {
    // Imported only with a DATABASE_URL: pg is resident memory a SQLite process never uses (the bundle splits it off).
    const { openPostgresUserStore } = await import("./store/postgres-user-store.js");
    return openPostgresUserStore({ url, schema: config.USERS_DB_SCHEMA, statementTimeoutMs: 15_000, gauges });
  }
  return openSqliteUserStore({ path: join(config.DATA_DIR, "users.sqlite") });
}

const config = loadConfigOrExit("users");
await runServiceProcess({
  name: "users",
  address: config.USERS_ADDRESS,
  config,
  async register(server) {
    const store = await openStore(config, server.gauges);
    server.addService(
      UserServiceService,
      userHandlers(new Users({ store }), createPageTokens(pageTokenSecretOf(config))),
    );
    return () => store.close();
  },
});
