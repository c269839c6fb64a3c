// UserService as a process, listening on USERS_ADDRESS (default 127.0.0.1:50051). Storage: PostgreSQL when
// DATABASE_URL is set (schema USERS_DB_SCHEMA, default "users"; several replicas may share it), else the embedded
// SQLite file under DATA_DIR (default ./data).
import { join } from "node:path";
import { createPageTokens, runServiceProcess } from "@orderly/kit";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import type { UserStore } from "./domain/user-store.js";
import { Users } from "./domain/user-service.js";
import { userHandlers } from "./grpc/user-handlers.js";
import { openPostgresUserStore } from "./store/postgres-user-store.js";
import { openSqliteUserStore } from "./store/sqlite-user-store.js";

function openStore(): Promise<UserStore> {
  const url = process.env.DATABASE_URL;
  if (url)
    return openPostgresUserStore({ url, schema: process.env.USERS_DB_SCHEMA ?? "users", statementTimeoutMs: 15_000 });
  return openSqliteUserStore({ path: join(process.env.DATA_DIR ?? "data", "users.sqlite") });
}

await runServiceProcess({
  name: "users",
  address: process.env.USERS_ADDRESS ?? "127.0.0.1:50051",
  async register(server) {
    const store = await openStore();
    server.addService(UserServiceService, userHandlers(new Users({ store }), createPageTokens()));
    return () => store.close();
  },
});
