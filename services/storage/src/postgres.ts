// PostgreSQL plumbing shared by every server-backed store: a pool pinned to the service's own schema, append-only
// migrations that several replicas may start at once, transactions that never leak a client, and the one mapping from
// "the database is gone" to a retryable UNAVAILABLE. Stores are not domain code, so they may use it; no gRPC here.
import pg from "pg";
import { DomainError, throwIfAborted, type Cancellation, type Gauges } from "@orderly/kit/domain";
import { checkMigrationOrder, type Migration } from "./migrations.js";

export type { Migration } from "./migrations.js";

/** How to reach the database and which schema a service owns. */
export interface PgPoolOptions {
  /** A postgres:// connection URL. */
  url: string;
  /** The service's schema: every connection's search_path, so its tables need no qualifier. */
  schema: string;
  /** Connections at most (default 10). */
  max?: number;
  /** How long getting a connection may take before the call fails as unavailable (default 2000 ms). */
  connectionTimeoutMs?: number;
  /** Server-side limit per statement; unset means none. The backstop for a query a cancelled caller left running. */
  statementTimeoutMs?: number;
  /** Told about an idle connection's failure (the pool has already dropped it); ignored by default. */
  onIdleError?: (error: Error) => void;
  /** Where to report the pool's connections (total, idle) and the queries waiting for one, as metrics. */
  gauges?: Gauges;
}

/** The error every store raises while the database cannot be reached; callers may retry after retryAfterMs. */
export const STORE_UNAVAILABLE = "STORE_UNAVAILABLE";

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws unless `schema` is a plain lower-case SQL identifier, so it can be spliced into SQL and options safely. */
export function assertSchemaName(schema: string): void {
  if (!IDENTIFIER.test(schema))
    throw new RangeError(`schema must match ${IDENTIFIER.source}, got ${JSON.stringify(schema)}`);
}

/** A pg.Pool whose connections all use `schema` as search_path and give up connecting after connectionTimeoutMs. */
export function createPgPool(options: PgPoolOptions): pg.Pool {
  assertSchemaName(options.schema);
  const { connectionString, urlOptions } = splitOptions(options.url);
  const pool = new pg.Pool({
    connectionString,
    // Merged rather than left in the URL: pg lets a connection string's "options" replace this one wholesale.
    options: [urlOptions, `-c search_path=${options.schema}`].filter(Boolean).join(" "),
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 2000,
    ...(options.statementTimeoutMs === undefined ? {} : { statement_timeout: options.statementTimeoutMs }),
    // Keepalive notices a silently dead peer, so a dead idle connection is dropped instead of handed out.
    keepAlive: true,
  });
  // Without a listener, an idle connection's loss (a server restart) is an unhandled 'error' that kills the process.
  // pg-pool has already removed the broken client; the next call simply connects again.
  pool.on("error", (error) => options.onIdleError?.(error));
  const gauges = options.gauges;
  if (gauges) {
    gauges.add("orderly_pg_pool_connections", "PostgreSQL pool: connections open.", () => pool.totalCount);
    gauges.add("orderly_pg_pool_idle_connections", "PostgreSQL pool: connections idle.", () => pool.idleCount);
    gauges.add("orderly_pg_pool_waiting_clients", "PostgreSQL pool: queries waiting for a connection.", () => {
      return pool.waitingCount;
    });
  }
  return pool;
}

function splitOptions(url: string): { connectionString: string; urlOptions: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { connectionString: url, urlOptions: "" };
  }
  const urlOptions = parsed.searchParams.get("options") ?? "";
  if (!urlOptions) return { connectionString: url, urlOptions };
  parsed.searchParams.delete("options");
  return { connectionString: parsed.toString(), urlOptions };
}

/** Runs `fn` in a transaction on one pooled client: commits on success, rolls back on any failure or abort. */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  signal?: Cancellation,
): Promise<T> {
  throwIfAborted(signal);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw mapPgError(error);
  }
  // A checked-out client has no pool listener: its connection dying between queries must not crash the process.
  const onError = (): void => {};
  client.on("error", onError);
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    throwIfAborted(signal);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    if (pgUnavailable(error)) broken = error instanceof Error ? error : new Error(String(error));
    else {
      // A failed ROLLBACK means the connection is unusable: discard it rather than return it to the pool.
      await client.query("ROLLBACK").catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
    }
    throw mapPgError(error);
  } finally {
    client.removeListener("error", onError);
    // Releasing with an error destroys the connection, so no dead or mid-transaction client is ever reused.
    client.release(broken);
  }
}

/**
 * A statement each connection prepares once under `name` and then only binds and executes (no parse or plan per call).
 * For a large statement on a hot path; the name must be unique per text, and the text must not depend on search_path
 * changing on a connection.
 */
export interface PgPreparedStatement {
  name: string;
  text: string;
}

/** One statement on a pool or a transaction's client: checks the signal first and maps an outage to UNAVAILABLE. */
export async function pgQuery<R extends pg.QueryResultRow>(
  runner: pg.Pool | pg.PoolClient,
  text: string | PgPreparedStatement,
  values: readonly unknown[] = [],
  signal?: Cancellation,
): Promise<R[]> {
  throwIfAborted(signal);
  try {
    if (typeof text !== "string") return (await runner.query<R>({ ...text, values: values as unknown[] })).rows;
    return (await runner.query<R>(text, values as unknown[])).rows;
  } catch (error) {
    throw mapPgError(error);
  }
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ECONNABORTED",
]);
// admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections; plus every class-08 connection exception.
const UNAVAILABLE_STATES = new Set(["57P01", "57P02", "57P03", "53300"]);
const UNAVAILABLE_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "encountered a connection error and is not queryable",
];

/** STORE_UNAVAILABLE (retry after 1 s) when `error` means the database cannot be reached; otherwise undefined. */
export function pgUnavailable(error: unknown): DomainError | undefined {
  if (error instanceof DomainError || !isConnectionFailure(error, 0)) return undefined;
  return new DomainError("unavailable", STORE_UNAVAILABLE, "the database is unavailable; retry later", {
    retryAfterMs: 1000,
    cause: error,
  });
}

// character_not_in_repertoire (a NUL byte, which PostgreSQL text can never hold) and untranslatable_character.
const UNSTORABLE_TEXT_STATES = new Set(["22021", "22P05"]);

/**
 * INVALID_ARGUMENT when `error` is PostgreSQL refusing a text value (a NUL byte in any string the request carried,
 * ids and filters included); otherwise undefined. The caller sent it, so it is the caller's error, not INTERNAL.
 */
export function pgUnstorableText(error: unknown): DomainError | undefined {
  if (error instanceof DomainError || typeof error !== "object" || error === null) return undefined;
  const { code } = error as { code?: unknown };
  if (typeof code !== "string" || !UNSTORABLE_TEXT_STATES.has(code)) return undefined;
  const description = "text must not contain NUL (U+0000) characters";
  return new DomainError("invalid_argument", "INVALID_ARGUMENT", `invalid request: request: ${description}`, {
    fieldViolations: [{ field: "request", description }],
    cause: error,
  });
}

/**
 * The error a store should throw: STORE_UNAVAILABLE for an outage, INVALID_ARGUMENT for text PostgreSQL cannot store,
 * anything else unchanged.
 */
export function mapPgError(error: unknown): unknown {
  return pgUnavailable(error) ?? pgUnstorableText(error) ?? error;
}

function isConnectionFailure(error: unknown, depth: number): boolean {
  if (typeof error !== "object" || error === null || depth > 4) return false;
  const { code, message, errors, cause } = error as {
    code?: unknown;
    message?: unknown;
    errors?: unknown;
    cause?: unknown;
  };
  if (
    typeof code === "string" &&
    (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))
  )
    return true;
  if (typeof message === "string" && UNAVAILABLE_MESSAGES.some((text) => message.includes(text))) return true;
  // Node reports a refused multi-address connect as an AggregateError of the per-address failures.
  if (Array.isArray(errors) && errors.some((inner) => isConnectionFailure(inner, depth + 1))) return true;
  return isConnectionFailure(cause, depth + 1);
}

/**
 * Applies the migrations the schema has not run, each in its own transaction, and returns the versions applied.
 * Every step holds a transaction-scoped advisory lock keyed by the schema, so replicas starting together queue up and
 * each migration runs exactly once. Refuses a schema migrated by a newer build, like the SQLite migrate().
 */
export async function migratePg(
  pool: pg.Pool,
  schema: string,
  migrations: readonly Migration[],
  now: () => Date = () => new Date(),
): Promise<number[]> {
  assertSchemaName(schema);
  checkMigrationOrder(migrations);
  // Schema creation happens under the lock too, so two replicas never race to create it.
  const prepare = async (client: pg.PoolClient): Promise<number> => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`orderly.migrate.${schema}`]);
    // Checked first: CREATE SCHEMA needs the CREATE privilege on the database even when the schema already exists.
    const exists = await pgQuery(client, "SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (exists.length === 0) await client.query(`CREATE SCHEMA ${schema}`);
    // SET LOCAL: the migration's unqualified names land in the schema whatever pool the caller passed.
    await client.query(`SET LOCAL search_path TO ${schema}`);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)",
    );
    const rows = await pgQuery<{ version: number | null }>(
      client,
      "SELECT max(version) AS version FROM schema_migrations",
    );
    return rows[0]?.version ?? 0;
  };
  const applied: number[] = [];
  for (const migration of migrations) {
    await withTransaction(pool, async (client) => {
      if ((await prepare(client)) >= migration.version) return;
      await client.query(migration.sql);
      await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [
        migration.version,
        now(),
      ]);
      applied.push(migration.version);
    });
  }
  const current = await withTransaction(pool, prepare);
  // A newer binary migrated this schema; running old code on it could corrupt data it does not understand.
  if (current > migrations.length)
    throw new Error(
      `database schema ${schema} version ${current} is newer than this build knows (${migrations.length})`,
    );
  return applied;
}

/** "$1, $2, $3" for `count` values starting at `$first`: the positional parameters of an INSERT's VALUES. */
export function positionalValues(count: number, first = 1): string {
  return Array.from({ length: count }, (_, index) => `$${first + index}`).join(", ");
}

/** "a = $3, b = $4": an UPDATE's SET list binding each column to the positional parameter from `$first` on. */
export function positionalAssignments(columns: readonly string[], first: number): string {
  return columns.map((column, index) => `${column} = $${first + index}`).join(", ");
}
