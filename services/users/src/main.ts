// UserService as a process: the embedded SQLite store under DATA_DIR (default ./data), listening on USERS_ADDRESS
// (default 127.0.0.1:50051).
import { join } from "node:path";
import { createPageTokens, runServiceProcess } from "@orderly/kit";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import { Users } from "./domain/user-service.js";
import { userHandlers } from "./grpc/user-handlers.js";
import { openSqliteUserStore } from "./store/sqlite-user-store.js";

await runServiceProcess({
  name: "users",
  address: process.env.USERS_ADDRESS ?? "127.0.0.1:50051",
  async register(server) {
    const store = await openSqliteUserStore({ path: join(process.env.DATA_DIR ?? "data", "users.sqlite") });
    server.addService(UserServiceService, userHandlers(new Users({ store }), createPageTokens()));
    return () => store.close();
  },
});
