// The typed UserService client: one promise method per RPC, StreamUsers and paging as async iterables, every call
// with an AbortSignal and a deadline, every failure an OrderlyError.
import { Profile, User } from "@orderly/proto/orderly/user/v1/user";
import {
  UserServiceClient as GeneratedUserClient,
  type BatchGetUsersResponse,
  type CreateUserResponse,
  type GetUserResponse,
  type ListUsersResponse,
  type UpdateUserResponse,
  type UserFilter,
} from "@orderly/proto/orderly/user/v1/user_service";
import { allPages, present, Transport, type CallOptions, type ClientOptions } from "./transport.js";

export type { User, Profile, UserFilter };

/** The fields a caller gives to create a user. */
export interface NewUserInput {
  email: string;
  profile?: Partial<Profile>;
}

/** One page of ListUsers. */
export interface UserPage {
  users: User[];
  /** Pass back as pageToken for the next page; "" when this was the last one. */
  nextPageToken: string;
}

/** A typed UserService client. */
export interface UserClient {
  /** CreateUser. */
  create(user: NewUserInput, options?: CallOptions): Promise<User>;
  /** GetUser. */
  get(id: string, options?: CallOptions): Promise<User>;
  /** BatchGetUsers: the users in the order of ids. */
  batchGet(ids: readonly string[], options?: CallOptions): Promise<User[]>;
  /** ListUsers: one page. */
  list(
    request?: { pageSize?: number; pageToken?: string; filter?: Partial<UserFilter> },
    options?: CallOptions,
  ): Promise<UserPage>;
  /** Every user matching the filter, fetching page after page as the loop asks for more. */
  listAll(filter?: Partial<UserFilter>, options?: CallOptions & { pageSize?: number }): AsyncIterable<User>;
  /** StreamUsers: every matching user over one server stream; breaking out of the loop cancels it. */
  stream(filter?: Partial<UserFilter>, options?: CallOptions): AsyncIterable<User>;
  /** UpdateUser: changes the fields named by updateMask; pass etag to update only an unchanged user. */
  update(
    user: { id: string; email?: string; profile?: Partial<Profile> },
    updateMask: readonly string[],
    options?: CallOptions & { etag?: string },
  ): Promise<User>;
  /** DeleteUser; pass etag to delete only an unchanged user. */
  delete(id: string, options?: CallOptions & { etag?: string }): Promise<void>;
  /** Closes the connection. */
  close(): void;
}

/** Creates a UserService client. */
export function createUserClient(options: ClientOptions): UserClient {
  const transport = new Transport(GeneratedUserClient, "orderly.user.v1.UserService", options);
  const grpc = transport.client;
  const filterOf = (filter?: Partial<UserFilter>): UserFilter => ({ emailContains: filter?.emailContains ?? "" });
  const list: UserClient["list"] = async (request = {}, call) => {
    const query = {
      pageSize: request.pageSize ?? 0,
      pageToken: request.pageToken ?? "",
      filter: filterOf(request.filter),
    };
    const response = await transport.unary<ListUsersResponse>(
      (md, opts, cb) => grpc.listUsers(query, md, opts, cb),
      call,
    );
    return { users: response.users, nextPageToken: response.nextPageToken };
  };

  return {
    async create(user, call) {
      const request = {
        user: User.fromPartial({ email: user.email, profile: Profile.fromPartial(user.profile ?? {}) }),
      };
      const response = await transport.unary<CreateUserResponse>(
        (md, opts, cb) => grpc.createUser(request, md, opts, cb),
        call,
      );
      return present(response.user, "user");
    },
    async get(id, call) {
      const response = await transport.unary<GetUserResponse>(
        (md, opts, cb) => grpc.getUser({ id }, md, opts, cb),
        call,
      );
      return present(response.user, "user");
    },
    async batchGet(ids, call) {
      const response = await transport.unary<BatchGetUsersResponse>(
        (md, opts, cb) => grpc.batchGetUsers({ ids: [...ids] }, md, opts, cb),
        call,
      );
      return response.users;
    },
    list,
    listAll: (filter, call = {}) =>
      allPages(async (pageToken) => {
        const page = await list({ filter, pageToken, ...(call.pageSize ? { pageSize: call.pageSize } : {}) }, call);
        return { items: page.users, nextPageToken: page.nextPageToken };
      }),
    async *stream(filter, call) {
      for await (const message of transport.serverStream(
        (md, opts) => grpc.streamUsers({ filter: filterOf(filter) }, md, opts),
        call,
      )) {
        yield present(message.user, "user");
      }
    },
    async update(user, updateMask, call = {}) {
      const request = {
        user: User.fromPartial({
          id: user.id,
          email: user.email ?? "",
          profile: Profile.fromPartial(user.profile ?? {}),
        }),
        updateMask: [...updateMask],
        etag: call.etag ?? "",
      };
      const response = await transport.unary<UpdateUserResponse>(
        (md, opts, cb) => grpc.updateUser(request, md, opts, cb),
        call,
      );
      return present(response.user, "user");
    },
    async delete(id, call = {}) {
      await transport.unary((md, opts, cb) => grpc.deleteUser({ id, etag: call.etag ?? "" }, md, opts, cb), call);
    },
    close: () => transport.close(),
  };
}
