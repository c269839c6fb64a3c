// The shared deadline wheel: entries fire once their slot has passed (never early), cancelled ones never, and the
// whole wheel runs on one timer that is not re-armed once nothing is filed. Fake timers and an injected clock keep it
// exact. Then server streams past their deadline on the wire (streamStatusGate).
import {
  connect,
  constants,
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http2";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { Code } from "@orderly/common";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import { DeadlineWheel } from "./deadline.js";
import { startTestServer, streamUsersOnly, testToken, type TestServer } from "./testing.js";

describe("DeadlineWheel", () => {
  let clock = 1_000_000;
  const advance = async (ms: number) => {
    for (let step = 0; step < ms; step++) {
      clock += 1;
      await vi.advanceTimersByTimeAsync(1);
    }
  };
  beforeEach(() => {
    clock = 1_000_000;
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it("fires an entry after its time has passed, never before", async () => {
    const wheel = new DeadlineWheel(5, () => clock);
    const fired: number[] = [];
    wheel.add(clock + 12, { fire: () => fired.push(clock) });
    await advance(11);
    expect(fired).toEqual([]);
    await advance(10);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(1_000_012);
    expect(fired[0]).toBeLessThanOrEqual(1_000_012 + 10);
    expect(wheel.size).toBe(0);
  });

  it("never fires a cancelled entry, and fires the others of its slot", async () => {
    const wheel = new DeadlineWheel(5, () => clock);
    const fired: string[] = [];
    const cancelA = wheel.add(clock + 20, { fire: () => fired.push("a") });
    wheel.add(clock + 20, { fire: () => fired.push("b") });
    wheel.add(clock + 40, { fire: () => fired.push("c") });
    expect(wheel.size).toBe(3);
    cancelA();
    expect(wheel.size).toBe(2);
    await advance(35);
    expect(fired).toEqual(["b"]);
    await advance(20);
    expect(fired).toEqual(["b", "c"]);
  });

  it("keeps a single timer for many entries, re-armed for an earlier one, and none once nothing is filed", async () => {
    const wheel = new DeadlineWheel(5, () => clock);
    const fired: string[] = [];
    const cancels = Array.from({ length: 100 }, (_, i) =>
      wheel.add(clock + 100 + i, { fire: () => fired.push("late") }),
    );
    expect(vi.getTimerCount()).toBe(1);
    wheel.add(clock + 10, { fire: () => fired.push("early") });
    expect(vi.getTimerCount()).toBe(1);
    await advance(20);
    expect(fired).toEqual(["early"]);
    expect(vi.getTimerCount()).toBe(1);
    for (const cancel of cancels) cancel();
    await advance(200);
    expect(fired).toEqual(["early"]);
    expect(vi.getTimerCount()).toBe(0);
    wheel.add(clock + 5, { fire: () => {} });
    expect(vi.getTimerCount()).toBe(1);
  });
});

// On the wire, with a raw HTTP/2 client that trusts the server to end the call (as other languages' clients and
// proxies do): server streams whose deadline passes while they are still writing each get their status. grpc-js
// alone left most of them open for good (see streamStatusGate).
describe("server streams past their deadline", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer((s) =>
      s.addService(
        UserServiceService,
        streamUsersOnly(async function* (_request, ctx) {
          // Never ends by itself: writes batches, with the write backpressure of the kit, until the deadline.
          for (let batch = 0; !ctx.signal.aborted; batch++) {
            await new Promise((resolve) => setImmediate(resolve));
            yield Array.from({ length: 50 }, (_, i) => ({ user: longUser(`usr_${batch}_${i}`) }));
          }
        }),
      ),
    );
  });
  afterAll(() => server.close());

  it("end every one with DEADLINE_EXCEEDED in trailers, none left open", async () => {
    const token = await testToken("adm_1", ["admin"]);
    const sessions = await Promise.all([h2Connect(server.address), h2Connect(server.address)]);
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 48 }, (_, i) =>
          streamOutcome(sessions[i % sessions.length]!, {
            ":method": "POST",
            ":path": "/orderly.user.v1.UserService/StreamUsers",
            ":scheme": "http",
            "content-type": "application/grpc",
            te: "trailers",
            authorization: `Bearer ${token}`,
            "grpc-timeout": "200m",
          }),
        ),
      );
      expect(outcomes).toEqual(Array.from({ length: 48 }, () => `grpc-status ${Code.DEADLINE_EXCEEDED}`));
    } finally {
      for (const session of sessions) session.close();
    }
  });
});

const longUser = (id: string) => ({
  id,
  email: `${id}.${"x".repeat(150)}@example.com`,
  profile: undefined,
  createTime: new Date(0),
  updateTime: new Date(0),
  etag: "e1",
});

function h2Connect(address: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://${address}`);
    session.once("connect", () => resolve(session));
    session.once("error", reject);
  });
}

/**
 * Sends an empty StreamUsersRequest, reads the whole stream, and tells how it ended: "grpc-status N", "RST_STREAM N",
 * or "no status" when nothing ended it within 15 s (far past its deadline: then it would have stayed open).
 */
function streamOutcome(session: ClientHttp2Session, headers: OutgoingHttpHeaders): Promise<string> {
  return new Promise((resolve) => {
    const stream = session.request(headers);
    let status: string | undefined;
    const giveUp = setTimeout(() => {
      resolve("no status");
      stream.close(constants.NGHTTP2_CANCEL);
    }, 15_000);
    const statusOf = (headers: IncomingHttpHeaders) => headers["grpc-status"] as string | undefined;
    stream.on("response", (head) => (status ??= statusOf(head)));
    stream.on("trailers", (trailers: IncomingHttpHeaders) => (status = statusOf(trailers)));
    stream.on("data", () => {});
    stream.on("error", () => {});
    stream.on("close", () => {
      clearTimeout(giveUp);
      resolve(status === undefined ? `RST_STREAM ${stream.rstCode}` : `grpc-status ${status}`);
    });
    stream.end(Buffer.alloc(5)); // one message of 0 bytes: the empty request
  });
}
