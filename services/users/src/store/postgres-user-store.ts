// UserStore on PostgreSQL, for several replicas sharing one database. Same semantics as the SQLite store (the same
// contract suite runs against both): every method is one statement, so each sees one snapshot and needs no explicit
// transaction; a scan is a series of keyset queries pulled lazily and holds no connection between batches. Every
// error goes through mapPgError, so an outage is a retryable UNAVAILABLE rather than an INTERNAL.
import type pg from "pg";
import { oneRow } from "@orderly/storage";
import {
  createPgPool,
  mapPgError,
  migratePg,
  pgQuery,
  positionalAssignments,
  positionalValues,
  type PgPoolOptions,
} from "@orderly/storage/postgres";
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
import { POSTGRES_USER_MIGRATIONS } from "./postgres-user-migrations.js";
import {
  USER_COLUMNS,
  USER_SELECT_LIST,
  USER_UPDATE_COLUMNS,
  userFromRow,
  userRow,
  type StoredUserRow,
  type UserRow,
} from "./user-rows.js";

/** Where the users live: a URL (the store makes and owns its pool) or a shared pool made for the same schema. */
export interface PostgresUserStoreOptions extends Partial<Omit<PgPoolOptions, "url" | "schema">> {
  /** A postgres:// URL; required unless `pool` is given. */
  url?: string;
  /** The service's schema (default "users"); created and migrated at open. */
  schema?: string;
  /** A pool whose search_path is `schema` (see createPgPool); the store uses it and never ends it. */
  pool?: pg.Pool;
}

// strpos() rather than LIKE: a filter holding % or _ must match literally, with no escaping rules to get wrong.
const MATCHES = "($2::text IS NULL OR strpos(email, lower($2)) > 0)";
const PAGE = `SELECT ${USER_SELECT_LIST} FROM users WHERE id > $1 AND ${MATCHES} ORDER BY id LIMIT $3`;
// A separate statement so the owner restriction is a primary-key lookup, not a filter over the whole key range.
const OWNER_PAGE = `SELECT ${USER_SELECT_LIST} FROM users WHERE id = $4 AND id > $1 AND ${MATCHES} ORDER BY id LIMIT $3`;
const INSERT = `INSERT INTO users (${USER_SELECT_LIST}) VALUES (${positionalValues(USER_COLUMNS.length)}) RETURNING ${USER_SELECT_LIST}`;
// $1 and $2 are the id and the expected etag; the new values follow.
const UPDATE = `UPDATE users SET ${positionalAssignments(USER_UPDATE_COLUMNS, 3)} WHERE id = $1 AND etag = $2 RETURNING ${USER_SELECT_LIST}`;
const EMAIL_INDEX = "users_email_key";
const GET_MANY_CHUNK = 500;

/** Opens a PostgreSQL-backed UserStore, creating and migrating its schema first (safe when replicas start together). */
export async function openPostgresUserStore(options: PostgresUserStoreOptions): Promise<UserStore> {
  const { url, pool: shared, schema = "users", ...poolOptions } = options;
  const pool = shared ?? (url === undefined ? undefined : createPgPool({ ...poolOptions, url, schema }));
  if (!pool) throw new TypeError("openPostgresUserStore needs a url or a pool");
  try {
    await migratePg(pool, schema, POSTGRES_USER_MIGRATIONS);
  } catch (error) {
    if (!shared) await pool.end().catch(() => {});
    throw mapPgError(error);
  }
  return new PostgresUserStore(pool, !shared);
}

class PostgresUserStore implements UserStore {
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly ownsPool: boolean,
  ) {}

  async create(user: UserRecord, signal?: Cancellation): Promise<User> {
    const row = userRow({ ...user, createTime: user.now, updateTime: user.now });
    try {
      const [stored] = await pgQuery<StoredUserRow>(this.pool, INSERT, valuesOf(row, USER_COLUMNS), signal);
      return userFromRow(oneRow(stored, "inserting a user"));
    } catch (error) {
      throw mapUniqueEmail(error, row.email);
    }
  }

  async get(id: string, signal?: Cancellation): Promise<User | undefined> {
    const [row] = await pgQuery<StoredUserRow>(
      this.pool,
      `SELECT ${USER_SELECT_LIST} FROM users WHERE id = $1`,
      [id],
      signal,
    );
    return row && userFromRow(row);
  }

  async getMany(ids: readonly string[], signal?: Cancellation): Promise<Map<string, User>> {
    throwIfAborted(signal);
    const found = new Map<string, User>();
    const unique = [...new Set(ids)];
    // Chunked so a huge id list never becomes one huge array parameter or result set.
    for (let start = 0; start < unique.length; start += GET_MANY_CHUNK) {
      const chunk = unique.slice(start, start + GET_MANY_CHUNK);
      const rows = await pgQuery<StoredUserRow>(
        this.pool,
        `SELECT ${USER_SELECT_LIST} FROM users WHERE id = ANY($1::text[])`,
        [chunk],
        signal,
      );
      for (const row of rows) found.set(row.id, userFromRow(row));
    }
    return found;
  }

  async list(query: UserListQuery, signal?: Cancellation): Promise<User[]> {
    return (await this.page(query.filter, query.afterId ?? "", query.ownerId, query.limit, signal)).map(userFromRow);
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
      // A keyset query per batch rather than a cursor: no connection or transaction is held while the consumer is slow.
      const rows = await this.page(filter, afterId, options.ownerId, batchSize, signal);
      options.onBatch?.(rows.length);
      // The consumer may be slow; re-check so a cancelled stream stops before handing out another batch.
      throwIfAborted(signal);
      if (rows.length > 0) yield rows.map(userFromRow);
      const last = rows.at(-1);
      if (!last || rows.length < batchSize) return;
      afterId = last.id;
    }
  }

  async update(user: User, expectedEtag: string, signal?: Cancellation): Promise<User | undefined> {
    const row = userRow(user);
    try {
      const values = [row.id, expectedEtag, ...valuesOf(row, USER_UPDATE_COLUMNS)];
      const [stored] = await pgQuery<StoredUserRow>(this.pool, UPDATE, values, signal);
      return stored && userFromRow(stored);
    } catch (error) {
      throw mapUniqueEmail(error, row.email);
    }
  }

  async delete(id: string, expectedEtag: string | undefined, signal?: Cancellation): Promise<DeleteOutcome> {
    // One statement, so the etag check and the delete cannot be split by another writer.
    const [row] = await pgQuery<{ deleted: boolean; found: boolean }>(
      this.pool,
      `WITH gone AS (DELETE FROM users WHERE id = $1 AND ($2::text IS NULL OR etag = $2) RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM gone) AS deleted, EXISTS (SELECT 1 FROM users WHERE id = $1) AS found`,
      [id, expectedEtag ?? null],
      signal,
    );
    if (row?.deleted) return "deleted";
    return row?.found ? "etag_mismatch" : "not_found";
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPool) await this.pool.end();
  }

  private async page(
    filter: UserFilter,
    afterId: string,
    ownerId: string | undefined,
    limit: number,
    signal: Cancellation | undefined,
  ): Promise<StoredUserRow[]> {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    // Lower-cased here as well as in SQL, so matching folds case exactly as the stored (JS-lower-cased) emails were.
    const contains = filter.emailContains ? filter.emailContains.toLowerCase() : null;
    if (ownerId === undefined) return pgQuery<StoredUserRow>(this.pool, PAGE, [afterId, contains, limit], signal);
    return pgQuery<StoredUserRow>(this.pool, OWNER_PAGE, [afterId, contains, limit, ownerId], signal);
  }
}

function valuesOf(row: UserRow, columns: readonly (keyof UserRow)[]): unknown[] {
  return columns.map((column) => row[column]);
}

// Only the email index means "already exists"; any other constraint failure is a bug and stays internal.
function mapUniqueEmail(error: unknown, email: string): unknown {
  const pgError = error as { code?: unknown; constraint?: unknown };
  if (pgError.code === "23505" && pgError.constraint === EMAIL_INDEX) return emailAlreadyExists(email, error);
  return error;
}
