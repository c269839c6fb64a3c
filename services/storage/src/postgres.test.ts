import { createServer, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { DomainError } from "@orderly/kit/domain";
import {
  createPgPool,
  mapPgError,
  migratePg,
  pgQuery,
  pgUnavailable,
  pgUnstorableText,
  withTransaction,
  type Migration,
} from "./postgres.js";
import {
  describePostgres,
  dropSchema,
  freshSchema,
  pgTestUrl,
  postgresAvailable,
  startOutageProxy,
  withHostPort,
} from "./testing.js";

const url = pgTestUrl();

function unavailable(): unknown {
  return expect.objectContaining({ kind: "unavailable", reason: "STORE_UNAVAILABLE", retryAfterMs: 1000 });
}

describe("pgUnavailable", () => {
  const pgError = (code: string): Error => Object.assign(new Error(`pg error ${code}`), { code });

  it.each([
    ["a refused connect", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })],
    ["a reset", Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })],
    ["a broken pipe", Object.assign(new Error("write EPIPE"), { code: "EPIPE" })],
    ["an unknown host", Object.assign(new Error("getaddrinfo ENOTFOUND db"), { code: "ENOTFOUND" })],
    ["a timed-out socket", Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" })],
    ["pg's lost connection", new Error("Connection terminated unexpectedly")],
    ["pg's pool connect timeout", new Error("timeout exceeded when trying to connect")],
    ["SQLSTATE 08006 connection failure", pgError("08006")],
    ["SQLSTATE 08001 cannot establish", pgError("08001")],
    ["SQLSTATE 57P01 admin shutdown", pgError("57P01")],
    ["SQLSTATE 57P02 crash shutdown", pgError("57P02")],
    ["SQLSTATE 57P03 cannot connect now", pgError("57P03")],
    ["SQLSTATE 53300 too many connections", pgError("53300")],
    [
      "an AggregateError of refused addresses",
      new AggregateError([Object.assign(new Error("refused"), { code: "ECONNREFUSED" })], "connect failed"),
    ],
    [
      "a wrapped refused connect",
      new Error("outer", { cause: Object.assign(new Error("inner"), { code: "ECONNREFUSED" }) }),
    ],
  ])("maps %s to STORE_UNAVAILABLE with a retry hint and the cause", (_, error) => {
    const mapped = pgUnavailable(error);
    expect(mapped).toBeInstanceOf(DomainError);
    expect(mapped).toEqual(unavailable());
    expect(mapped?.cause).toBe(error);
    expect(mapped?.message).toBe("the database is unavailable; retry later");
    expect(mapPgError(error)).toEqual(unavailable());
  });

  it.each([
    ["a unique violation", pgError("23505")],
    ["a statement timeout", pgError("57014")],
    ["a syntax error", pgError("42601")],
    ["a plain bug", new Error("boom")],
    ["a domain error", new DomainError("aborted", "ETAG_MISMATCH", "stale")],
    ["a non-error", "ECONNREFUSED"],
  ])("leaves %s alone", (_, error) => {
    expect(pgUnavailable(error)).toBeUndefined();
    expect(mapPgError(error)).toBe(error);
  });
});

describe("createPgPool", () => {
  it.each(["", "Users", "users; DROP SCHEMA x", "1users", "a-b", "x".repeat(64)])(
    "rejects the schema name %j",
    (schema) => {
      expect(() => createPgPool({ url, schema })).toThrow(RangeError);
    },
  );

  it("fails fast with STORE_UNAVAILABLE on a port nothing listens on", async () => {
    const pool = createPgPool({ url: "postgres://postgres@127.0.0.1:1/postgres", schema: "x" });
    try {
      await expect(pgQuery(pool, "SELECT 1")).rejects.toEqual(unavailable());
      await expect(withTransaction(pool, async () => 1)).rejects.toEqual(unavailable());
    } finally {
      await pool.end();
    }
  });

  it("gives up connecting after connectionTimeoutMs when the server never answers", async () => {
    const sockets: Socket[] = [];
    const blackHole = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
    const port = (blackHole.address() as { port: number }).port;
    const pool = createPgPool({ url: withHostPort(url, "127.0.0.1", port), schema: "x", connectionTimeoutMs: 200 });
    try {
      const started = Date.now();
      await expect(pgQuery(pool, "SELECT 1")).rejects.toEqual(unavailable());
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await pool.end();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    }
  });
});

describe("pgUnstorableText", () => {
  it.each(["22021", "22P05"])("maps SQLSTATE %s (text PostgreSQL cannot store) to INVALID_ARGUMENT", (code) => {
    const error = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code });
    const mapped = mapPgError(error);
    expect(mapped).toEqual(
      expect.objectContaining({
        kind: "invalid_argument",
        reason: "INVALID_ARGUMENT",
        fieldViolations: [{ field: "request", description: "text must not contain NUL (U+0000) characters" }],
      }),
    );
    expect((mapped as DomainError).cause).toBe(error);
  });

  it("leaves other errors alone", () => {
    expect(pgUnstorableText(Object.assign(new Error("unique"), { code: "23505" }))).toBeUndefined();
    expect(pgUnstorableText(new DomainError("aborted", "ETAG_MISMATCH", "stale"))).toBeUndefined();
  });
});

describePostgres("postgres plumbing", () => {
  const schemas: string[] = [];
  const schemaFor = (prefix: string): string => {
    const schema = freshSchema(prefix);
    schemas.push(schema);
    return schema;
  };
  afterAll(async () => {
    for (const schema of schemas) await dropSchema(url, schema);
  });

  const first: Migration = {
    version: 1,
    name: "create t",
    sql: "CREATE TABLE t (x integer NOT NULL); INSERT INTO t VALUES (1);",
  };
  const second: Migration = { version: 2, name: "add y", sql: "ALTER TABLE t ADD COLUMN y text NOT NULL DEFAULT ''" };

  it("refuses a NUL byte in text as INVALID_ARGUMENT, on a real server", async () => {
    const pool = createPgPool({ url, schema: "public" });
    try {
      const error = await pgQuery(pool, "SELECT $1::text AS t", ["usr_\u0000x"]).then(
        () => undefined,
        (e: unknown) => mapPgError(e),
      );
      expect(error).toEqual(expect.objectContaining({ kind: "invalid_argument", reason: "INVALID_ARGUMENT" }));
    } finally {
      await pool.end();
    }
  });

  describe("createPgPool", () => {
    it("pins every connection to the schema, keeps a URL's own options, and applies statementTimeoutMs", async () => {
      const schema = schemaFor("kit_pool");
      const withOptions = `${url}${url.includes("?") ? "&" : "?"}options=${encodeURIComponent("-c application_name=orderly_kit_test")}`;
      const pool = createPgPool({ url: withOptions, schema, max: 3, statementTimeoutMs: 100 });
      try {
        const settings = await Promise.all(
          [1, 2, 3].map(() =>
            pgQuery<{ search_path: string; app: string }>(
              pool,
              "SELECT current_setting('search_path') AS search_path, current_setting('application_name') AS app",
            ),
          ),
        );
        for (const [row] of settings) expect(row).toEqual({ search_path: schema, app: "orderly_kit_test" });
        await expect(pgQuery(pool, "SELECT pg_sleep(2)")).rejects.toMatchObject({ code: "57014" });
      } finally {
        await pool.end();
      }
    });
  });

  describe("migratePg", () => {
    it("applies only what a schema has not run, in order, and refuses a schema from a newer build", async () => {
      const schema = schemaFor("kit_migrate");
      const pool = createPgPool({ url, schema });
      try {
        expect(await migratePg(pool, schema, [first])).toEqual([1]);
        expect(await migratePg(pool, schema, [first])).toEqual([]);
        expect(await migratePg(pool, schema, [first, second])).toEqual([2]);
        expect(await pgQuery(pool, "SELECT x, y FROM t")).toEqual([{ x: 1, y: "" }]);
        await expect(migratePg(pool, schema, [first])).rejects.toThrow(/newer than this build/);
      } finally {
        await pool.end();
      }
    });

    it("rolls back a failing migration so it runs again next time", async () => {
      const schema = schemaFor("kit_broken");
      const pool = createPgPool({ url, schema });
      try {
        const broken: Migration = {
          version: 2,
          name: "broken",
          sql: "CREATE TABLE u (x integer); SELECT * FROM no_such_table;",
        };
        await expect(migratePg(pool, schema, [first, broken])).rejects.toThrow(/no_such_table/);
        expect(await pgQuery(pool, "SELECT to_regclass('u') AS u")).toEqual([{ u: null }]);
        expect(await migratePg(pool, schema, [first, second])).toEqual([2]);
      } finally {
        await pool.end();
      }
    });

    it("rejects a list whose versions are not 1, 2, 3...", async () => {
      const pool = createPgPool({ url, schema: "unused" });
      try {
        await expect(migratePg(pool, "unused", [second])).rejects.toThrow(/expected 1/);
      } finally {
        await pool.end();
      }
    });

    it("applies each migration once when several replicas start at the same time", async () => {
      const schema = schemaFor("kit_race");
      const pools = Array.from({ length: 6 }, () => createPgPool({ url, schema, max: 2 }));
      try {
        const applied = await Promise.all(pools.map((pool) => migratePg(pool, schema, [first, second])));
        expect(applied.flat().sort()).toEqual([1, 2]);
        expect(await pgQuery(pools[0]!, "SELECT version FROM schema_migrations ORDER BY version")).toEqual([
          { version: 1 },
          { version: 2 },
        ]);
        expect(await pgQuery(pools[0]!, "SELECT count(*)::int AS n FROM t")).toEqual([{ n: 1 }]);
      } finally {
        await Promise.all(pools.map((pool) => pool.end()));
      }
    });
  });

  describe("withTransaction", () => {
    it("commits on success, rolls back on failure or abort, and never leaks the one client", async () => {
      const schema = schemaFor("kit_tx");
      const pool = createPgPool({ url, schema, max: 1, connectionTimeoutMs: 1000 });
      try {
        await migratePg(pool, schema, [first]);
        await withTransaction(pool, (client) => pgQuery(client, "INSERT INTO t VALUES (2)"));
        await expect(
          withTransaction(pool, async (client) => {
            await pgQuery(client, "INSERT INTO t VALUES (3)");
            throw new Error("changed my mind");
          }),
        ).rejects.toThrow("changed my mind");
        const controller = new AbortController();
        await expect(
          withTransaction(
            pool,
            async (client) => {
              await pgQuery(client, "INSERT INTO t VALUES (4)", [], controller.signal);
              controller.abort(new Error("deadline"));
              await pgQuery(client, "INSERT INTO t VALUES (5)", [], controller.signal);
            },
            controller.signal,
          ),
        ).rejects.toThrow("deadline");
        await expect(withTransaction(pool, async () => 1, controller.signal)).rejects.toThrow("deadline");
        await expect(
          withTransaction(pool, (client) => pgQuery(client, "SELECT * FROM no_such_table")),
        ).rejects.toMatchObject({ code: "42P01" });
        // With max 1, a leaked client would make this wait for connectionTimeoutMs and fail.
        expect(await pgQuery(pool, "SELECT x FROM t ORDER BY x")).toEqual([{ x: 1 }, { x: 2 }]);
        expect(pool.totalCount).toBe(1);
        expect(pool.idleCount).toBe(1);
      } finally {
        await pool.end();
      }
    });
  });

  describe("an outage", () => {
    it("fails calls fast as STORE_UNAVAILABLE while the database is gone and recovers on the same pool", async () => {
      const proxy = await startOutageProxy();
      const pool = createPgPool({ url: proxy.urlFor(url), schema: "public", max: 3, connectionTimeoutMs: 1000 });
      try {
        // Fill the pool with idle connections, which the outage then kills under it.
        await Promise.all([1, 2, 3].map(() => pgQuery(pool, "SELECT pg_sleep(0.05)")));
        expect(pool.idleCount).toBe(3);
        await proxy.down();
        const started = Date.now();
        for (let i = 0; i < 5; i++) await expect(pgQuery(pool, "SELECT 1")).rejects.toEqual(unavailable());
        await expect(withTransaction(pool, (client) => pgQuery(client, "SELECT 1"))).rejects.toEqual(unavailable());
        expect(Date.now() - started).toBeLessThan(3000);
        await proxy.up();
        expect(await pgQuery(pool, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
      } finally {
        await pool.end();
        await proxy.close();
      }
    });

    it("discards a transaction's client whose connection dies between statements", async () => {
      const proxy = await startOutageProxy();
      const pool = createPgPool({ url: proxy.urlFor(url), schema: "public", max: 1, connectionTimeoutMs: 1000 });
      try {
        const failed = withTransaction(pool, async (client) => {
          await pgQuery(client, "SELECT 1");
          await proxy.down();
          // Let the client see its socket close while it is checked out and idle: that must not crash the process.
          await new Promise((resume) => setTimeout(resume, 50));
          await pgQuery(client, "SELECT 2");
        });
        await expect(failed).rejects.toEqual(unavailable());
        expect(pool.totalCount).toBe(0);
        await proxy.up();
        expect(await withTransaction(pool, (client) => pgQuery(client, "SELECT 3 AS three"))).toEqual([{ three: 3 }]);
      } finally {
        await pool.end();
        await proxy.close();
      }
    });

    it("ignores connections that drop while idle in the pool", async () => {
      const proxy = await startOutageProxy();
      const idleErrors: Error[] = [];
      const pool = createPgPool({
        url: proxy.urlFor(url),
        schema: "public",
        onIdleError: (error) => idleErrors.push(error),
      });
      try {
        await pgQuery(pool, "SELECT 1");
        await proxy.down();
        await new Promise((resume) => setTimeout(resume, 100));
        expect(idleErrors.length).toBeGreaterThan(0);
        expect(pool.totalCount).toBe(0);
        await proxy.up();
        expect(await pgQuery(pool, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
      } finally {
        await pool.end();
        await proxy.close();
      }
    });
  });
});

describe("postgresAvailable", () => {
  it("is false for a port nothing listens on", async () => {
    expect(await postgresAvailable("postgres://postgres@127.0.0.1:1/postgres")).toBe(false);
  });
});
