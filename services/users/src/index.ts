// @orderly/users: the UserService's parts, for its process (main.ts) and for tests that need a real UserService.
export { Users, type UsersOptions } from "./domain/user-service.js";
export type { UserStore } from "./domain/user-store.js";
export { openSqliteUserStore } from "./store/sqlite-user-store.js";
export { userHandlers } from "./grpc/user-handlers.js";
