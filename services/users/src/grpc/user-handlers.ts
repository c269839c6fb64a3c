// UserService over gRPC: a thin adapter from the generated contract to the Users domain service. Every rule lives in
// the domain; every cross-cutting concern (auth, deadlines, errors, logging) lives in the kit's interceptors.
import type { ServiceHandlers } from "@orderly/kit";
import { pageSizeOf, type PageTokens } from "@orderly/kit";
import { invalidArgument } from "@orderly/kit/domain";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import type { Users } from "../domain/user-service.js";
import { encodeStreamUsers } from "./stream-users-encoding.js";
import { filterFromProto, newUserFromProto, patchFromProto, userToProto } from "./user-mapping.js";

/** The UserService handlers over a Users domain service. */
export function userHandlers(users: Users, pageTokens: PageTokens): ServiceHandlers<typeof UserServiceService> {
  return {
    async createUser(request, ctx) {
      const user = await users.create(newUserFromProto(request.user), ctx.caller.access, ctx.cancellation);
      return { user: userToProto(user) };
    },

    async getUser(request, ctx) {
      return { user: userToProto(await users.get(request.id, ctx.caller.access, ctx.cancellation)) };
    },

    async batchGetUsers(request, ctx) {
      const found = await users.batchGet(request.ids, ctx.caller.access, ctx.cancellation);
      return { users: found.map(userToProto) };
    },

    async listUsers(request, ctx) {
      const limit = pageSizeOf(request.pageSize);
      const filter = filterFromProto(request.filter);
      const afterId = pageTokens.decode(request.pageToken, filter);
      const query = { filter, limit, ...(afterId ? { afterId } : {}) };
      const page = await users.list(query, ctx.caller.access, ctx.cancellation);
      return {
        users: page.users.map(userToProto),
        nextPageToken: pageTokens.next(page.users.at(-1)?.id, page.hasMore, filter),
      };
    },

    async *streamUsers(request, ctx) {
      // Whole batches of encoded messages: the kit writes each batch in one HTTP/2 write (framed-writes.ts), one async
      // step and one copy per batch rather than per user.
      for await (const batch of users.stream(filterFromProto(request.filter), ctx.caller.access, ctx.cancellation)) {
        yield encodeStreamUsers(batch);
      }
    },

    async updateUser(request, ctx) {
      if (!request.user) throw invalidArgument([{ field: "user", description: "is required" }]);
      const user = await users.update(
        {
          id: request.user.id,
          patch: patchFromProto(request.user),
          paths: request.updateMask ?? [],
          etag: request.etag,
        },
        ctx.caller.access,
        ctx.cancellation,
      );
      return { user: userToProto(user) };
    },

    async deleteUser(request, ctx) {
      await users.delete(request.id, request.etag || undefined, ctx.caller.access, ctx.cancellation);
      return {};
    },
  };
}
