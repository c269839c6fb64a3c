// Connection limits on the wire: each GRPC_* setting goes through loadConfig and connectionOptions into a real server
// on 127.0.0.1:0, and is observed from outside, by a grpc-js client or by a raw node:http2 client that sees the frames
// (PING, GOAWAY, SETTINGS) a gRPC client hides.
import { connect, type ClientHttp2Session } from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { Code } from "@orderly/common";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import { loadConfig } from "./config.js";
import { connectionOptions } from "./connection.js";
import { bareUserClient, failureOf, startTestServer, testToken, type TestServer, notInTest } from "./testing.js";

const user = (id: string, email = `${id}@example.com`) => ({
  id,
  email,
  profile: undefined,
  createTime: new Date(0),
  updateTime: new Date(0),
  etag: "e1",
});

/** What the test server saw: the peer of every call, and how many GetUser handlers ran at once. */
interface Seen {
  peers: string[];
  inFlight: number;
  maxInFlight: number;
}

const servers: TestServer[] = [];
const sessions: ClientHttp2Session[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A UserService whose GetUser waits for `gate` (when given) and answers "big" with a large email. */
async function serverWith(
  env: Record<string, string>,
  gate?: () => Promise<void>,
): Promise<TestServer & { seen: Seen }> {
  const seen: Seen = { peers: [], inFlight: 0, maxInFlight: 0 };
  const server = await startTestServer(
    (s) =>
      s.addService(UserServiceService, {
        async getUser(request, ctx) {
          seen.peers.push(ctx.peer);
          seen.inFlight += 1;
          seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
          try {
            if (gate) await gate();
            return { user: user(request.id, request.id === "big" ? `${"a".repeat(4096)}@example.com` : undefined) };
          } finally {
            seen.inFlight -= 1;
          }
        },
        async *streamUsers() {
          yield* [];
          await notInTest();
        },
        createUser: notInTest,
        batchGetUsers: notInTest,
        updateUser: notInTest,
        deleteUser: notInTest,
        listUsers: notInTest,
      }),
    { grpc: connectionOptions(loadConfig("common", env)) },
  );
  servers.push(server);
  return Object.assign(server, { seen });
}

/** A raw HTTP/2 connection to the server, which sends no request unless asked. */
function rawSession(server: TestServer): ClientHttp2Session {
  const session = connect(`http://${server.address}`);
  session.on("error", () => undefined);
  sessions.push(session);
  return session;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(10);
}

describe("connection settings, mapped", () => {
  it("leaves timers set to 0 out, so grpc-js never fires them", () => {
    const off = connectionOptions(
      loadConfig("common", {
        GRPC_KEEPALIVE_TIME_MS: "0",
        GRPC_MAX_CONNECTION_IDLE_MS: "0",
        GRPC_MAX_CONNECTION_AGE_MS: "0",
      }),
    );
    expect(off).toEqual({
      "grpc.max_receive_message_length": 4 * 1024 * 1024,
      "grpc.max_send_message_length": 4 * 1024 * 1024,
      "grpc.max_concurrent_streams": 1_000,
      "grpc.keepalive_timeout_ms": 20_000,
    });
  });

  it("refuses a malformed limit, naming it", () => {
    expect(() => loadConfig("common", { GRPC_MAX_CONCURRENT_STREAMS: "0" })).toThrow(
      /GRPC_MAX_CONCURRENT_STREAMS="0" \(environment\): must be a whole number of streams, at least 1/,
    );
  });
});

describe("connection limits on the wire", () => {
  it("refuses a request bigger than GRPC_MAX_RECEIVE_MESSAGE_BYTES with RESOURCE_EXHAUSTED", async () => {
    const server = await serverWith({ GRPC_MAX_RECEIVE_MESSAGE_BYTES: "1024" });
    const client = bareUserClient(server.address, await testToken("u1", ["admin"]));
    expect((await client.get("small")).id).toBe("small");
    const error = await failureOf(client.get("x".repeat(2048)));
    expect(error.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(server.seen.peers).toHaveLength(1); // the handler never saw the oversize one
    expect((await client.get("after")).id).toBe("after"); // the connection is still good
    client.close();
  });

  it("fails a response bigger than GRPC_MAX_SEND_MESSAGE_BYTES with RESOURCE_EXHAUSTED", async () => {
    const server = await serverWith({ GRPC_MAX_SEND_MESSAGE_BYTES: "1024" });
    const client = bareUserClient(server.address, await testToken("u1", ["admin"]));
    expect((await client.get("small")).email).toBe("small@example.com");
    expect((await failureOf(client.get("big"))).code).toBe(Code.RESOURCE_EXHAUSTED);
    client.close();
  });

  it("announces GRPC_MAX_CONCURRENT_STREAMS in SETTINGS; a client's extra calls queue and all succeed", async () => {
    let release = () => {};
    let gate = new Promise<void>((resolve) => (release = resolve));
    const server = await serverWith({ GRPC_MAX_CONCURRENT_STREAMS: "2" }, () => gate);
    const raw = rawSession(server);
    const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
      raw.once("remoteSettings", resolve),
    );
    expect(settings.maxConcurrentStreams).toBe(2);

    const client = bareUserClient(server.address, await testToken("u1", ["admin"]));
    const calls = Array.from({ length: 5 }, (_, i) => client.get(`u${i}`));
    let answered = 0;
    void Promise.all(calls.map((c) => c.then(() => (answered += 1))));
    while (answered < 5) {
      await until(() => server.seen.inFlight >= Math.min(2, 5 - answered));
      await sleep(100); // room for calls beyond the limit to arrive, were they not queued
      expect(server.seen.inFlight).toBeLessThanOrEqual(2);
      const before = answered + server.seen.inFlight;
      release();
      gate = new Promise<void>((resolve) => (release = resolve));
      await until(() => answered >= before);
    }
    expect((await Promise.all(calls)).map((u) => u.id)).toEqual(["u0", "u1", "u2", "u3", "u4"]);
    expect(server.seen.maxInFlight).toBe(2);
    expect(new Set(server.seen.peers).size).toBe(1); // one connection: the client queued, it did not open another
    client.close();
  });

  it("pings each connection every GRPC_KEEPALIVE_TIME_MS", async () => {
    const server = await serverWith({ GRPC_KEEPALIVE_TIME_MS: "50" });
    const raw = rawSession(server);
    let pings = 0;
    raw.on("ping", () => (pings += 1));
    await until(() => pings >= 3);
    expect(raw.closed).toBe(false); // answered pings keep the connection
  });

  it("sends no keepalive ping when GRPC_KEEPALIVE_TIME_MS is 0, and answers the client's", async () => {
    const server = await serverWith({ GRPC_KEEPALIVE_TIME_MS: "0" });
    const raw = rawSession(server);
    let pings = 0;
    raw.on("ping", () => (pings += 1));
    await new Promise((resolve) => raw.once("remoteSettings", resolve));
    for (let i = 0; i < 3; i++) await new Promise((resolve) => raw.ping((error) => resolve(error)));
    await sleep(200);
    expect(pings).toBe(0);
  });

  it("closes a connection without calls after GRPC_MAX_CONNECTION_IDLE_MS with a GOAWAY", async () => {
    const server = await serverWith({ GRPC_MAX_CONNECTION_IDLE_MS: "100" });
    const raw = rawSession(server);
    const goaway = new Promise<number>((resolve) => raw.once("goaway", resolve));
    await new Promise((resolve) => raw.once("close", resolve));
    expect(await goaway).toBe(0); // NO_ERROR: a polite close, the client may reconnect
  });

  it("GOAWAYs a connection older than GRPC_MAX_CONNECTION_AGE_MS; a grpc-js client reconnects, calls all succeed", async () => {
    const server = await serverWith({ GRPC_MAX_CONNECTION_AGE_MS: "200", GRPC_MAX_CONNECTION_AGE_GRACE_MS: "1000" });
    const raw = rawSession(server);
    expect(await new Promise<number>((resolve) => raw.once("goaway", resolve))).toBe(0);

    const client = bareUserClient(server.address, await testToken("u1", ["admin"]));
    let calls = 0;
    while (new Set(server.seen.peers).size < 3) {
      expect((await client.get(`u${calls}`)).id).toBe(`u${calls}`);
      calls += 1;
      await sleep(20);
    }
    expect(calls).toBeGreaterThan(3);
    client.close();
  });

  it("cuts a call still open GRPC_MAX_CONNECTION_AGE_GRACE_MS after the age GOAWAY", async () => {
    const never = new Promise<void>(() => undefined);
    const server = await serverWith(
      { GRPC_MAX_CONNECTION_AGE_MS: "100", GRPC_MAX_CONNECTION_AGE_GRACE_MS: "200" },
      () => never,
    );
    const client = bareUserClient(server.address, await testToken("u1", ["admin"]));
    const error = await failureOf(client.get("held"));
    expect(error.code).toBe(Code.UNAVAILABLE);
    client.close();
  });
});
