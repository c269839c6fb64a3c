// The Users application service: every rule about who may do what to a user, and in which order the checks run.
// The gRPC handler is a thin adapter over this class (proto <-> domain, paging tokens); the store only persists.
import { monotonicFactory } from "ulid";
import {
  invalidArgument,
  mayAccess,
  newEtag,
  ownerMayNot,
  requireId,
  throwIfAborted,
  writeWithRetries,
  type Access,
  type Cancellation,
  type FieldViolation,
} from "@orderly/kit/domain";
import {
  normalizeEmail,
  USER_ID_PREFIX,
  USER_RESOURCE_TYPE,
  type NewUser,
  type User,
  type UserFilter,
  type UserPatch,
} from "./model.js";
import { applyUserMask, checkUserMask } from "./update-mask.js";
import { userEtagMismatch, userNotFound } from "./user-errors.js";
import type { DeleteOutcome, UserStore } from "./user-store.js";
import { validateNewUser } from "./validation.js";

/** The most ids one BatchGetUsers call may ask for. */
export const MAX_BATCH_GET = 100;

/** What Users needs; clock and newId exist so tests can pin time and ids. */
export interface UsersOptions {
  store: UserStore;
  clock?: () => Date;
  newId?: () => string;
}

/** One ListUsers page request, after the handler has decoded the page token and coerced page_size. */
export interface ListUsersQuery {
  filter: UserFilter;
  afterId?: string;
  limit: number;
}

/** One page of users; hasMore tells the handler whether to mint a next_page_token. */
export interface UserPage {
  users: User[];
  hasMore: boolean;
}

/** An UpdateUser request in domain terms. */
export interface UpdateUserRequest {
  id: string;
  patch: UserPatch;
  /** The update_mask paths. */
  paths: readonly string[];
  /** The etag the caller last saw; absent or empty means "last writer wins" (proto3 cannot tell them apart). */
  etag?: string;
}

/** The Users application service. */
export class Users {
  private readonly store: UserStore;
  private readonly clock: () => Date;
  private readonly newId: () => string;

  constructor(options: UsersOptions) {
    this.store = options.store;
    this.clock = options.clock ?? (() => new Date());
    if (options.newId) {
      this.newId = options.newId;
    } else {
      // Monotonic so ids made within one millisecond still sort in creation order (keyset paging relies on id order).
      const next = monotonicFactory();
      this.newId = () => USER_ID_PREFIX + next(this.clock().getTime());
    }
  }

  /** Validates and stores a new user; every broken rule is reported at once. */
  async create(input: NewUser, access: Access, signal?: Cancellation): Promise<User> {
    throwIfAborted(signal);
    // An owner-scoped caller owns only itself, and a user that does not exist yet cannot be it.
    if (access.ownOnly) throw ownerMayNot("create users");
    const candidate = { email: normalizeEmail(input.email), profile: input.profile };
    const violations = validateNewUser(candidate);
    if (violations.length > 0) throw invalidArgument(violations);
    return this.store.create({ id: this.newId(), ...candidate, now: this.clock(), etag: newEtag() }, signal);
  }

  /** The user, or NOT_FOUND when it is missing or the caller may not see it (indistinguishable on purpose). */
  async get(id: string, access: Access, signal?: Cancellation): Promise<User> {
    requireId(id);
    if (!mayAccess(access, id)) throw userNotFound(id);
    const user = await this.store.get(id, signal);
    if (!user) throw userNotFound(id);
    return user;
  }

  /** Users in the order of `ids` (duplicates repeat); NOT_FOUND names the first id that is missing or hidden. */
  async batchGet(ids: readonly string[], access: Access, signal?: Cancellation): Promise<User[]> {
    if (ids.length < 1 || ids.length > MAX_BATCH_GET) {
      throw invalidArgument([{ field: "ids", description: `must hold 1 to ${MAX_BATCH_GET} ids, got ${ids.length}` }]);
    }
    const violations: FieldViolation[] = [];
    ids.forEach((id, index) => {
      if (id === "") violations.push({ field: `ids[${index}]`, description: "must not be empty" });
    });
    if (violations.length > 0) throw invalidArgument(violations);
    // Hidden ids are reported exactly like missing ones, and before any read, so nothing leaks through timing either.
    const hidden = ids.find((id) => !mayAccess(access, id));
    if (hidden !== undefined) throw userNotFound(hidden);
    const found = await this.store.getMany([...new Set(ids)], signal);
    return ids.map((id) => {
      const user = found.get(id);
      if (!user) throw userNotFound(id);
      return user;
    });
  }

  /** One page in id order; an owner-scoped caller sees at most themselves. */
  async list(query: ListUsersQuery, access: Access, signal?: Cancellation): Promise<UserPage> {
    if (!Number.isInteger(query.limit) || query.limit < 1) {
      throw invalidArgument([{ field: "page_size", description: `must be a positive integer, got ${query.limit}` }]);
    }
    // One extra row tells us whether another page exists without a COUNT or a second query.
    const rows = await this.store.list(
      { filter: query.filter, afterId: query.afterId, limit: query.limit + 1, ownerId: ownerOf(access) },
      signal,
    );
    return { users: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
  }

  /**
   * Every matching user in id order, in the batches the store reads lazily; an owner-scoped caller sees at most
   * themselves.
   */
  stream(filter: UserFilter, access: Access, signal?: Cancellation): AsyncIterable<readonly User[]> {
    return this.store.scanBatches(filter, { ownerId: ownerOf(access) }, signal);
  }

  /**
   * Applies the masked fields with compare-and-set. With an etag, any concurrent change is ETAG_MISMATCH; without one,
   * a lost race is retried on fresh data up to UPDATE_RETRIES (@orderly/kit/domain) times, then ABORTED
   * (CONCURRENT_UPDATE).
   */
  async update(request: UpdateUserRequest, access: Access, signal?: Cancellation): Promise<User> {
    const { id, patch, paths } = request;
    const etag = request.etag || undefined;
    requireId(id);
    checkUserMask(paths);
    if (!mayAccess(access, id)) throw userNotFound(id);
    return writeWithRetries({ resourceType: USER_RESOURCE_TYPE, id, etag }, async () => {
      const current = await this.store.get(id, signal);
      if (!current) throw userNotFound(id);
      if (etag !== undefined && etag !== current.etag) throw userEtagMismatch(id);
      const masked = applyUserMask(current, patch, paths);
      const next = { email: normalizeEmail(masked.email), profile: masked.profile };
      const violations = validateNewUser(next);
      if (violations.length > 0) throw invalidArgument(violations);
      return this.store.update(
        { ...current, ...next, updateTime: this.clock(), etag: newEtag() },
        current.etag,
        signal,
      );
    });
  }

  /** Deletes the user; NOT_FOUND when missing or hidden, ABORTED (ETAG_MISMATCH) when a given etag is stale. */
  async delete(id: string, etag: string | undefined, access: Access, signal?: Cancellation): Promise<void> {
    requireId(id);
    if (!mayAccess(access, id)) throw userNotFound(id);
    const outcome: DeleteOutcome = await this.store.delete(id, etag || undefined, signal);
    if (outcome === "not_found") throw userNotFound(id);
    if (outcome === "etag_mismatch") throw userEtagMismatch(id);
  }
}

// A user's owner is the user itself, so an owner-scoped caller is restricted to its own id.
function ownerOf(access: Access): string | undefined {
  return access.ownOnly ? access.subject : undefined;
}
