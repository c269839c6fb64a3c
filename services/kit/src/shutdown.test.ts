// Graceful shutdown against a real server on 127.0.0.1:0 and real clients: health NOT_SERVING while the server still
// accepts during the drain, then open streams end with UNAVAILABLE SERVER_SHUTTING_DOWN while a unary call in flight
// still finishes OK, and the grace period bounds a stop whose handler ignores every signal.
import { setTimeout as sleep } from "node:timers/promises";
import { credentials } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Code } from "@orderly/common";
import { HealthCheckResponse_ServingStatus, HealthClient } from "@orderly/proto/grpc/health/v1/health";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import type { CallContext, MethodInfo } from "./context.js";
import { compose } from "./interceptor.js";
import { ConfigError, loadConfig } from "./config.js";
import { OpenStreams, SERVER_SHUTTING_DOWN, shutdownBudget } from "./shutdown.js";
import { bareUserClient, failureOf, startTestServer, testToken, testUser, notInTest } from "./testing.js";

/** Resolves when the signal fires, with its reason as a rejection: a stream that stays open until it is ended. */
const untilAborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) =>
    signal.aborted
      ? reject(signal.reason)
      : signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
  );

async function startServer() {
  return startTestServer((s) =>
    s.addService(UserServiceService, {
      async getUser(request) {
        // Ignores its signal on purpose: it must be allowed to finish, not be cut.
        if (request.id === "slow") await sleep(400);
        return { user: testUser(request.id) };
      },
      async *streamUsers(request, ctx) {
        yield { user: testUser("usr_first") };
        if (request.filter?.emailContains === "stubborn") await sleep(3_000);
        else await untilAborted(ctx.signal);
      },
      createUser: notInTest,
      batchGetUsers: notInTest,
      listUsers: notInTest,
      updateUser: notInTest,
      deleteUser: notInTest,
    }),
  );
}

/** Health of the whole server through a new connection, or the code of the failed check. */
async function health(address: string): Promise<string> {
  const client = new HealthClient(address, credentials.createInsecure());
  try {
    return await new Promise<string>((resolve) =>
      client.check({ service: "" }, (error, reply) =>
        resolve(error ? Code[error.code] : HealthCheckResponse_ServingStatus[reply.status]),
      ),
    );
  } finally {
    client.close();
  }
}

describe("OrderlyServer.shutdown", () => {
  it("answers NOT_SERVING while it drains, then ends open streams with UNAVAILABLE SERVER_SHUTTING_DOWN and lets unary calls finish", async () => {
    const server = await startServer();
    const client = bareUserClient(server.address, await testToken("adm_1", ["admin"]));
    const stream = client.stream({ emailContains: "forever" })[Symbol.asyncIterator]();
    expect((await stream.next()).value).toMatchObject({ id: "usr_first" });
    const inFlight = client.get("slow");
    await sleep(100);

    const started = performance.now();
    const stopped = server.server.shutdown({ drainMs: 300, graceMs: 5_000 });
    expect(await health(server.address)).toBe("NOT_SERVING"); // a new connection, still accepted during the drain
    const ended = await failureOf(stream.next());
    const endedAfterMs = performance.now() - started;
    expect([ended.code, ended.reason]).toEqual([Code.UNAVAILABLE, SERVER_SHUTTING_DOWN]);
    expect(ended.details.retryInfo?.retryDelayMs).toBeGreaterThan(0);
    expect(endedAfterMs).toBeGreaterThanOrEqual(250); // not before the drain
    expect((await inFlight).id).toBe("slow");
    await stopped;
    // The stream no longer holds the server open until the grace period ends.
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(await health(server.address)).toBe("UNAVAILABLE");
    client.close();
  });

  it("cuts what still runs when the grace period ends", async () => {
    const server = await startServer();
    const client = bareUserClient(server.address, await testToken("adm_1", ["admin"]));
    const stream = client.stream({ emailContains: "stubborn" })[Symbol.asyncIterator]();
    await stream.next();
    const started = performance.now();
    await server.server.shutdown({ drainMs: 0, graceMs: 500 });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(2_500);
    await failureOf(stream.next());
    expect(server.logs.some((l) => l.msg === "calls still running when the grace period ended; cutting them")).toBe(
      true,
    );
    client.close();
  });
});

describe("OpenStreams", () => {
  const method = (kind: MethodInfo["kind"]): MethodInfo => ({
    path: "/s/M",
    service: "s",
    name: "M",
    kind,
    isPublic: true,
    permission: "",
  });
  const context = (kind: MethodInfo["kind"]) => {
    const controller = new AbortController();
    return {
      method: method(kind),
      signal: controller.signal,
      abort: (reason: unknown) => controller.abort(reason),
    } as unknown as CallContext;
  };

  it("aborts open streams with SERVER_SHUTTING_DOWN, refuses new ones, and leaves unary calls alone", async () => {
    const streams = new OpenStreams();
    const call = compose([streams.interceptor], (_request, ctx) =>
      ctx.method.kind === "unary" ? Promise.resolve("done") : untilAborted(ctx.signal),
    );
    const open = call({}, context("server_streaming"));
    expect(streams.size).toBe(1);
    expect(streams.endAll()).toBe(1);
    await expect(open).rejects.toMatchObject({ reason: SERVER_SHUTTING_DOWN, kind: "unavailable" });
    expect(streams.size).toBe(0);
    await expect(call({}, context("server_streaming"))).rejects.toMatchObject({ reason: SERVER_SHUTTING_DOWN });
    await expect(call({}, context("unary"))).resolves.toBe("done");
  });
});

describe("shutdownBudget", () => {
  it("reads SHUTDOWN_GRACE_MS and SHUTDOWN_DRAIN_MS, keeps the grace's last fifth (at most 1 s) for closing stores", () => {
    expect(shutdownBudget(loadConfig("common", {}))).toEqual({
      graceMs: 10_000,
      drainMs: 1_000,
      closeReserveMs: 1_000,
    });
    expect(shutdownBudget(loadConfig("common", { SHUTDOWN_GRACE_MS: "2000", SHUTDOWN_DRAIN_MS: "0" }))).toEqual({
      graceMs: 2_000,
      drainMs: 0,
      closeReserveMs: 400,
    });
    expect(() => loadConfig("common", { SHUTDOWN_GRACE_MS: "soon" })).toThrow(ConfigError);
    expect(() => loadConfig("common", { SHUTDOWN_GRACE_MS: "0" })).toThrow(/SHUTDOWN_GRACE_MS/);
    expect(() => loadConfig("common", { SHUTDOWN_DRAIN_MS: "-1" })).toThrow(/SHUTDOWN_DRAIN_MS/);
  });
});
