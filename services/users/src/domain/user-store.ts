// Where users live, as the domain needs it: a small async interface that an embedded SQLite store and a later
// PostgreSQL store both implement and both pass the same contract suite (../store/user-store.contract.ts).
// Every method takes an optional Cancellation last (an AbortSignal, or the call context's cancellation, which makes
// none): when the call's deadline passes or the caller cancels, the store stops before its next statement or batch
// and rejects with the abort's reason.
import type { Cancellation } from "@orderly/kit/domain";
import type { Profile, User, UserFilter } from "./model.js";

/** A user about to be inserted; the service has already validated it and made its id and etag. */
export interface UserRecord {
  id: string;
  /** Stored lower-cased; the store lower-cases again so uniqueness never depends on the caller. */
  email: string;
  profile: Profile;
  /** Becomes both create_time and update_time. */
  now: Date;
  etag: string;
}

/** One page of a keyset listing. */
export interface UserListQuery {
  filter: UserFilter;
  /** Only ids strictly greater than this; absent means from the start. */
  afterId?: string;
  /** Maximum rows returned; at least 1. */
  limit: number;
  /** When set, only the user with this id can match (an owner-scoped caller sees only themselves). */
  ownerId?: string;
}

/** How a scan reads the table. */
export interface UserScanOptions {
  /** Rows per keyset query (default 500); bounds memory however large the table is. */
  batchSize?: number;
  /** When set, only the user with this id can match. */
  ownerId?: string;
  /** Called after each batch is read with its row count; lets tests and metrics see how lazily the scan reads. */
  onBatch?: (rows: number) => void;
}

/** The outcome of a delete, so the service can choose NOT_FOUND or ABORTED without a second read. */
export type DeleteOutcome = "deleted" | "not_found" | "etag_mismatch";

/** The default number of rows per scan batch. */
export const DEFAULT_SCAN_BATCH_SIZE = 500;

/** Persistence for users. Implementations own uniqueness of email and atomic compare-and-set on etag. */
export interface UserStore {
  /** Inserts a user; rejects with ALREADY_EXISTS (reason EMAIL_ALREADY_EXISTS, metadata {email}) on a taken email. */
  create(user: UserRecord, signal?: Cancellation): Promise<User>;
  /** The user with this id, or undefined. */
  get(id: string, signal?: Cancellation): Promise<User | undefined>;
  /** The users among `ids` that exist, keyed by id; missing ids are simply absent and duplicates are fine. */
  getMany(ids: readonly string[], signal?: Cancellation): Promise<Map<string, User>>;
  /** Up to `limit` users matching the query, ordered by id ascending, strictly after `afterId`. */
  list(query: UserListQuery, signal?: Cancellation): Promise<User[]>;
  /**
   * Every matching user in id order, as the keyset batches it reads (`WHERE id > ? ORDER BY id LIMIT ?`): whole
   * batches, so a consumer pays one async step per batch rather than per row. The next batch is read only when the
   * consumer asks for more, so a slow consumer holds at most one batch and abandoning the iterator stops the reads.
   * Rows written after the scan started appear if their id is beyond the scan's position. Empty batches are not sent.
   */
  scanBatches(filter: UserFilter, options?: UserScanOptions, signal?: Cancellation): AsyncIterable<readonly User[]>;
  /**
   * Compare-and-set: writes `user`'s email, profile, updateTime and etag only if the stored etag equals
   * `expectedEtag`. Resolves to the stored user, or undefined when the etag differs or the user is gone; rejects with
   * EMAIL_ALREADY_EXISTS when another user holds the new email. createTime never changes.
   */
  update(user: User, expectedEtag: string, signal?: Cancellation): Promise<User | undefined>;
  /** Deletes the user if it exists and, when `expectedEtag` is given, its etag matches; atomically. */
  delete(id: string, expectedEtag: string | undefined, signal?: Cancellation): Promise<DeleteOutcome>;
  /** Releases the connection; further calls fail. Safe to call twice. */
  close(): Promise<void>;
}
