// @orderly/storage/testing, for tests against a real PostgreSQL: where it is, whether it is up (decided once, at
// collection time), a describe that runs, skips or fails loudly in CI depending on that, throwaway schemas, and a TCP
// proxy that can simulate an outage so tests can watch a pool fail fast and recover.
import { createServer, connect, type Server, type Socket } from "node:net";
import pg from "pg";
import { describe, it } from "vitest";

/** The database tests use: ORDERLY_TEST_DATABASE_URL, or the local default cluster. */
export function pgTestUrl(): string {
  return process.env["ORDERLY_TEST_DATABASE_URL"] || "postgres://postgres@127.0.0.1:5432/postgres";
}

/** Whether a connection to `url` succeeds within 1.5 s. */
export async function postgresAvailable(url: string = pgTestUrl()): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

// Probed once per test file at import, so describePostgres decides while vitest collects tests.
const reachable = await postgresAvailable();

/**
 * describe() when PostgreSQL is reachable. When it is not: in CI (env CI set) a failing test, because silently skipped
 * database tests would pass a broken build; elsewhere describe.skip and one line saying how to run them.
 */
export function describePostgres(name: string, fn: () => void): void {
  if (reachable) {
    describe(name, fn);
    return;
  }
  const where = redact(pgTestUrl());
  if (process.env["CI"]) {
    describe(name, () => {
      it("needs PostgreSQL", () => {
        throw new Error(
          `PostgreSQL is required in CI; start it with pg_ctlcluster <version> main start (or set ORDERLY_TEST_DATABASE_URL); not reachable at ${where}`,
        );
      });
    });
    return;
  }
  console.log(`PostgreSQL not reachable at ${where}: skipping ${name} (start it to run them)`);
  describe.skip(name, fn);
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable ORDERLY_TEST_DATABASE_URL)";
  }
}

let counter = 0;

/** A schema name no other test (or test process) uses: `<prefix>_<time>_<pid>_<n>`. */
export function freshSchema(prefix: string): string {
  counter += 1;
  return `${prefix}_${Date.now().toString(36)}_${process.pid}_${counter}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
}

/** Drops a test schema and everything in it; for afterAll. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new RangeError(`not a schema name: ${schema}`);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** `url` with its host and port replaced, e.g. to go through an OutageProxy. */
export function withHostPort(url: string, host: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = host;
  parsed.port = String(port);
  return parsed.toString();
}

/** A TCP proxy to the database that a test can take down (connections cut, new ones refused) and bring back. */
export interface OutageProxy {
  readonly port: number;
  /** `url` rewritten to go through the proxy. */
  urlFor(url: string): string;
  /** Destroys every proxied connection and stops listening, so connects are refused. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

/** Starts an OutageProxy on 127.0.0.1 forwarding to `target` (default: the test database's host and port). */
export async function startOutageProxy(
  target: { host: string; port: number } = targetOf(pgTestUrl()),
): Promise<OutageProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  let server: Server = newServer();
  function newServer(): Server {
    return createServer((downstream) => {
      const upstream = connect(target.port, target.host);
      track(downstream);
      track(upstream);
      downstream.pipe(upstream).pipe(downstream);
      downstream.on("close", () => upstream.destroy());
      upstream.on("close", () => downstream.destroy());
    });
  }
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  const stop = (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  };
  const port = await listen(0);
  return {
    port,
    urlFor: (url) => withHostPort(url, "127.0.0.1", port),
    down: stop,
    async up() {
      server = newServer();
      await listen(port);
    },
    close: stop,
  };
}

function targetOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname || "127.0.0.1", port: Number(parsed.port || 5432) };
}
