// UserStore on embedded SQLite (better-sqlite3). Each call is one short synchronous statement, so the async methods
// only check the abort signal and wrap the result in a promise; a long read (scan) is split into keyset batches so it
// never holds the table in memory and yields to the event loop between batches.
import Database from "better-sqlite3";
import { oneRow } from "@orderly/storage";
import {
  namedAssignments,
  namedValues,
  openSqliteDatabase,
  sqliteValues,
  type SqliteValues,
} from "@orderly/storage/sqlite";
import { throwIfAborted, type Cancellation } from "@orderly/kit/domain";
import type { User, UserFilter } from "../domain/model.js";
import { emailAlreadyExists } from "../domain/user-errors.js";
import {
  DEFAULT_SCAN_BATCH_SIZE,
  type DeleteOutcome,
  type UserListQuery,
  type UserRecord,
  type UserScanOptions,
  type UserStore,
} from "../domain/user-store.js";
import { SQLITE_USER_MIGRATIONS } from "./sqlite-user-migrations.js";
import {
  USER_COLUMNS,
  USER_SELECT_LIST,
  USER_UPDATE_COLUMNS,
  userFromRow,
  userFromValues,
  userRow,
  type SqliteUserValues,
  type UserRow,
} from "./user-rows.js";

/** Where and how to open the database. */
export interface SqliteUserStoreOptions {
  /** A file path (its directory is created) or ":memory:". */
  path: string;
  /** How long a write waits for another connection's lock before failing (default 5000 ms). */
  busyTimeoutMs?: number;
}

/** A users row as SQLite stores and returns it: times in epoch milliseconds, preferences as JSON text. */
type SqliteUserRow = SqliteValues<UserRow>;

interface PageParams {
  afterId: string;
  contains: string | null;
  ownerId: string | null;
  limit: number;
}

// instr() rather than LIKE: a filter holding % or _ must match literally, with no escaping rules to get wrong.
const MATCHES = "(@contains IS NULL OR instr(email, lower(@contains)) > 0)";

/** Opens (creating and migrating if needed) a SQLite-backed UserStore. */
export async function openSqliteUserStore(options: SqliteUserStoreOptions): Promise<UserStore> {
  const db = openSqliteDatabase({
    path: options.path,
    migrations: SQLITE_USER_MIGRATIONS,
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
  });
  return new SqliteUserStore(db);
}

class SqliteUserStore implements UserStore {
  // Prepared once: statement compilation costs more than most of these queries.
  private readonly insertStmt;
  private readonly getStmt;
  private readonly getManyStmt;
  private readonly pageStmt;
  private readonly ownerPageStmt;
  private readonly scanStmt;
  private readonly ownerScanStmt;
  private readonly updateStmt;
  private readonly etagStmt;
  private readonly deleteStmt;
  private readonly deleteChecked;

  constructor(private readonly db: Database.Database) {
    this.insertStmt = db.prepare<[SqliteUserRow], SqliteUserRow>(
      `INSERT INTO users (${USER_SELECT_LIST}) VALUES (${namedValues(USER_COLUMNS)}) RETURNING ${USER_SELECT_LIST}`,
    );
    this.getStmt = db.prepare<[string], SqliteUserRow>(`SELECT ${USER_SELECT_LIST} FROM users WHERE id = ?`);
    // One statement for any number of ids: the ids travel as a JSON array instead of a variable-length IN list.
    this.getManyStmt = db.prepare<[string], SqliteUserRow>(
      `SELECT ${USER_SELECT_LIST} FROM users WHERE id IN (SELECT value FROM json_each(?))`,
    );
    this.pageStmt = db.prepare<[PageParams], SqliteUserRow>(
      `SELECT ${USER_SELECT_LIST} FROM users WHERE id > @afterId AND ${MATCHES} ORDER BY id LIMIT @limit`,
    );
    // A separate statement so the owner restriction is an index lookup, not a filter over the whole key range.
    this.ownerPageStmt = db.prepare<[PageParams], SqliteUserRow>(
      `SELECT ${USER_SELECT_LIST} FROM users WHERE id = @ownerId AND id > @afterId AND ${MATCHES} ORDER BY id LIMIT @limit`,
    );
    // The same two reads in raw mode (rows as arrays of USER_COLUMNS values), for long scans.
    this.scanStmt = db.prepare<[PageParams], SqliteUserValues>(this.pageStmt.source).raw(true);
    this.ownerScanStmt = db.prepare<[PageParams], SqliteUserValues>(this.ownerPageStmt.source).raw(true);
    this.updateStmt = db.prepare<[SqliteUserRow & { expected: string }], SqliteUserRow>(
      `UPDATE users SET ${namedAssignments(USER_UPDATE_COLUMNS)} WHERE id = @id AND etag = @expected RETURNING ${USER_SELECT_LIST}`,
    );
    this.etagStmt = db.prepare<[string], { etag: string }>("SELECT etag FROM users WHERE id = ?");
    this.deleteStmt = db.prepare<[string]>("DELETE FROM users WHERE id = ?");
    // Read-check-delete in one transaction so the etag cannot change between the check and the delete.
    this.deleteChecked = db.transaction((id: string, expected: string | undefined): DeleteOutcome => {
      const row = this.etagStmt.get(id);
      if (!row) return "not_found";
      if (expected !== undefined && row.etag !== expected) return "etag_mismatch";
      this.deleteStmt.run(id);
      return "deleted";
    });
  }

  async create(user: UserRecord, signal?: Cancellation): Promise<User> {
    throwIfAborted(signal);
    const row = sqliteValues(userRow({ ...user, createTime: user.now, updateTime: user.now }));
    try {
      return userFromRow(oneRow(this.insertStmt.get(row), "inserting a user"));
    } catch (error) {
      throw mapUniqueEmail(error, row.email);
    }
  }

  async get(id: string, signal?: Cancellation): Promise<User | undefined> {
    throwIfAborted(signal);
    const row = this.getStmt.get(id);
    return row && userFromRow(row);
  }

  async getMany(ids: readonly string[], signal?: Cancellation): Promise<Map<string, User>> {
    throwIfAborted(signal);
    const found = new Map<string, User>();
    const unique = [...new Set(ids)];
    // Chunked so a huge id list never becomes one huge JSON parameter or result set.
    for (let start = 0; start < unique.length; start += GET_MANY_CHUNK) {
      throwIfAborted(signal);
      const chunk = unique.slice(start, start + GET_MANY_CHUNK);
      for (const row of this.getManyStmt.all(JSON.stringify(chunk))) found.set(row.id, userFromRow(row));
    }
    return found;
  }

  async list(query: UserListQuery, signal?: Cancellation): Promise<User[]> {
    throwIfAborted(signal);
    return this.page(query.filter, query.afterId ?? "", query.ownerId, query.limit).map(userFromRow);
  }

  async *scanBatches(
    filter: UserFilter,
    options: UserScanOptions = {},
    signal?: Cancellation,
  ): AsyncGenerator<readonly User[]> {
    const batchSize = options.batchSize ?? DEFAULT_SCAN_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    let afterId = "";
    for (;;) {
      throwIfAborted(signal);
      const params = pageParams(filter, afterId, options.ownerId, batchSize);
      const rows = (options.ownerId === undefined ? this.scanStmt : this.ownerScanStmt).all(params);
      options.onBatch?.(rows.length);
      // The consumer may be slow; re-check so a cancelled stream stops before handing out another batch.
      throwIfAborted(signal);
      if (rows.length > 0) yield rows.map(userFromValues);
      const last = rows.at(-1);
      if (!last || rows.length < batchSize) return;
      afterId = last[0];
      // Let other work run between batches: each batch is a synchronous read that blocks the event loop.
      await new Promise<void>((resume) => setImmediate(resume));
    }
  }

  async update(user: User, expectedEtag: string, signal?: Cancellation): Promise<User | undefined> {
    throwIfAborted(signal);
    const row = sqliteValues(userRow(user));
    try {
      const updated = this.updateStmt.get({ ...row, expected: expectedEtag });
      return updated && userFromRow(updated);
    } catch (error) {
      throw mapUniqueEmail(error, row.email);
    }
  }

  async delete(id: string, expectedEtag: string | undefined, signal?: Cancellation): Promise<DeleteOutcome> {
    throwIfAborted(signal);
    return this.deleteChecked.immediate(id, expectedEtag);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private page(filter: UserFilter, afterId: string, ownerId: string | undefined, limit: number): SqliteUserRow[] {
    const params = pageParams(filter, afterId, ownerId, limit);
    return (ownerId === undefined ? this.pageStmt : this.ownerPageStmt).all(params);
  }
}

function pageParams(filter: UserFilter, afterId: string, ownerId: string | undefined, limit: number): PageParams {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  // Lower-cased here as well as in SQL: SQLite's lower() folds ASCII only, while stored emails were folded by JS.
  const contains = filter.emailContains ? filter.emailContains.toLowerCase() : null;
  return { afterId, contains, ownerId: ownerId ?? null, limit };
}

const GET_MANY_CHUNK = 500;

// Only the email's UNIQUE index means "already exists"; any other constraint failure is a bug and stays internal.
function mapUniqueEmail(error: unknown, email: string): unknown {
  if (
    error instanceof Database.SqliteError &&
    error.code === "SQLITE_CONSTRAINT_UNIQUE" &&
    error.message.includes("users.email")
  ) {
    return emailAlreadyExists(email, error);
  }
  return error;
}
