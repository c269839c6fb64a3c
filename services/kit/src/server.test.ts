// The kit's interceptor chain against a real grpc-js server on 127.0.0.1:0, called by a real client: auth, deadlines,
// cancellation, error mapping, request ids, logging and health, each asserted on the wire.
import { credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, OrderlyError } from "@orderly/common";
import { HealthCheckResponse_ServingStatus, HealthClient } from "@orderly/proto/grpc/health/v1/health";
import {
  StreamUsersResponse,
  UserServiceClient,
  UserServiceService,
} from "@orderly/proto/orderly/user/v1/user_service";
import { Encoded } from "./service.js";
import { DomainError } from "./domain/errors.js";
import {
  bareUserClient,
  failureOf as failure,
  startTestServer,
  testToken,
  type BareUserClient,
  type TestServer,
  testUser,
  notInTest,
} from "./testing.js";

const aborted: unknown[] = [];
const lateSignals: {
  aborted: boolean;
  reason: unknown;
  runningAborted: boolean;
  cancellation: { aborted: boolean; reason: unknown };
}[] = [];
let streamed = 0;

async function sleepUntilAborted(signal: AbortSignal, ms: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      aborted.push(signal.reason);
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

let server: TestServer;
let admin: BareUserClient;

const connect = (token?: string): BareUserClient => bareUserClient(server.address, token);

beforeAll(async () => {
  server = await startTestServer(
    (s) =>
      s.addService(UserServiceService, {
        async getUser(request, ctx) {
          if (request.id === "boom") throw new Error("database password is hunter2");
          if (request.id === "domain")
            throw new DomainError("not_found", "USER_NOT_FOUND", "no such user", {
              resource: { type: "orderly.user.v1.User", name: "domain" },
            });
          if (request.id === "slow") await sleepUntilAborted(ctx.signal, 5_000);
          if (request.id === "ignores-signal") await new Promise((r) => setTimeout(r, 1_500));
          if (request.id === "late-signal") {
            // Reads its signal only after the deadline passed: it must already be aborted, with the deadline's reason.
            // Its cancellation (what stores take) says the same, and said not aborted while the call was running.
            const runningAborted = ctx.cancellation.aborted;
            await new Promise((r) => setTimeout(r, 400));
            const cancellation = { aborted: ctx.cancellation.aborted, reason: ctx.cancellation.reason };
            lateSignals.push({
              aborted: ctx.signal.aborted,
              reason: ctx.signal.reason as unknown,
              runningAborted,
              cancellation,
            });
          }
          if (request.id === "whoami")
            return { user: { ...testUser(ctx.caller.subject), etag: ctx.caller.access.ownOnly ? "own" : "all" } };
          if (request.id === "deadline")
            return { user: { ...testUser("deadline"), etag: String((ctx.deadline?.getTime() ?? 0) - Date.now()) } };
          return { user: testUser(request.id) };
        },
        async *streamUsers(request, ctx) {
          if (request.filter?.emailContains === "batched") {
            yield [{ user: testUser("usr_b1") }, { user: testUser("usr_b2") }];
            yield { user: testUser("usr_b3") };
            yield [];
            return;
          }
          if (request.filter?.emailContains === "pre-encoded") {
            const bytes = StreamUsersResponse.encode({ user: testUser("usr_encoded") }).finish();
            yield new Encoded<StreamUsersResponse>(Buffer.from(bytes));
            yield { user: testUser("usr_plain") };
            return;
          }
          for (let i = 0; i < 100_000; i++) {
            streamed = i + 1;
            yield { user: testUser(`usr_${i}`) };
            if (ctx.signal.aborted) return;
          }
        },
        createUser: notInTest,
        batchGetUsers: notInTest,
        listUsers: notInTest,
        updateUser: notInTest,
        deleteUser: notInTest,
      }),
    { deadlines: { defaultMs: 300, maxMs: 1_000 } },
  );
  admin = connect(await testToken("adm_1", ["admin"]));
});

afterAll(async () => {
  admin.close();
  await server.close();
});

describe("auth", () => {
  const cases: [string, () => Promise<string | undefined>, string][] = [
    ["no token", async () => undefined, "TOKEN_MISSING"],
    ["an expired token", () => testToken("adm_1", ["admin"], { expiresInSeconds: -3600 }), "TOKEN_EXPIRED"],
    [
      "a token signed with another key",
      () => testToken("adm_1", ["admin"], { secret: "another-secret-that-is-long-enough-32b" }),
      "TOKEN_INVALID",
    ],
    [
      "a token for another audience",
      () => testToken("adm_1", ["admin"], { audience: "someone-else" }),
      "TOKEN_INVALID",
    ],
  ];
  for (const [name, token, reason] of cases) {
    it(`answers ${name} with UNAUTHENTICATED ${reason}`, async () => {
      const t = await token();
      const client = connect(t);
      const error = await failure(client.get("usr_1"));
      client.close();
      expect(error.code).toBe(Code.UNAUTHENTICATED);
      expect(error.reason).toBe(reason);
      expect(error.details.errorInfo?.domain).toBe("orderly");
    });
  }

  it("answers a valid token without the permission with PERMISSION_DENIED naming it", async () => {
    const client = connect(await testToken("nobody", ["unknown-role"]));
    const error = await failure(client.get("usr_1"));
    client.close();
    expect(error.code).toBe(Code.PERMISSION_DENIED);
    expect(error.details.errorInfo?.metadata).toEqual({ permission: "users:read" });
  });

  it("hands the handler a typed caller with own-only reach for :own permissions", async () => {
    const client = connect(await testToken("usr_7", ["user"]));
    expect(await client.get("whoami")).toMatchObject({ id: "usr_7", etag: "own" });
    client.close();
    expect(await admin.get("whoami")).toMatchObject({ id: "adm_1", etag: "all" });
  });
});

describe("errors", () => {
  it("maps a domain error to its code with ErrorInfo and ResourceInfo", async () => {
    const error = await failure(admin.get("domain"));
    expect(error.code).toBe(Code.NOT_FOUND);
    expect(error.reason).toBe("USER_NOT_FOUND");
    expect(error.details.resourceInfo).toMatchObject({ resourceType: "orderly.user.v1.User", resourceName: "domain" });
  });

  it("turns an unexpected failure into INTERNAL with a generic message; the stack only reaches the log", async () => {
    const error = await failure(admin.get("boom", { requestId: "req-boom" }));
    expect(error.code).toBe(Code.INTERNAL);
    expect(error.message).toBe("internal error");
    expect(JSON.stringify(error.details)).not.toContain("hunter2");
    const logged = server.logs.find((l) => l.requestId === "req-boom" && l.msg === "unexpected failure");
    expect(JSON.stringify(logged)).toContain("hunter2");
    expect(await admin.get("usr_after")).toMatchObject({ id: "usr_after" });
  });
});

describe("deadlines and cancellation", () => {
  it("applies the default deadline to a call that sets none, and stops the handler's work", async () => {
    const raw = new UserServiceClient(server.address, credentials.createInsecure());
    const md = new Metadata();
    md.set("authorization", `Bearer ${await testToken("adm_1", ["admin"])}`);
    const started = Date.now();
    const error = await new Promise<OrderlyError>((resolve) =>
      raw.getUser({ id: "slow" }, md, (e) => resolve(OrderlyError.from(e))),
    );
    raw.close();
    expect(error.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(aborted.some((r) => r instanceof DomainError && r.reason === "DEADLINE_EXCEEDED")).toBe(true);
  });

  it("caps a caller's deadline at the maximum", async () => {
    const seen = await admin.get("deadline", { deadlineMs: 30_000 });
    expect(Number(seen.etag)).toBeLessThanOrEqual(1_000);
    expect(Number(seen.etag)).toBeGreaterThan(500);
  });

  it("answers DEADLINE_EXCEEDED on time even when the handler ignores its signal", async () => {
    const started = Date.now();
    const error = await failure(admin.get("ignores-signal", { deadlineMs: 200 }));
    expect(error.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("gives a handler that first reads its signal after the deadline an aborted one, with the abort's reason", async () => {
    const error = await failure(admin.get("late-signal", { deadlineMs: 100 }));
    expect(error.code).toBe(Code.DEADLINE_EXCEEDED);
    await new Promise((r) => setTimeout(r, 500));
    expect(lateSignals).toHaveLength(1);
    expect(lateSignals[0]?.aborted).toBe(true);
    // grpc-js's own deadline timer may end the call (as "cancelled") a moment before the kit's: either reason is right.
    const reason = lateSignals[0]?.reason;
    expect(reason).toBeInstanceOf(DomainError);
    expect(["deadline_exceeded", "cancelled"]).toContain((reason as DomainError).kind);
    expect(lateSignals[0]?.runningAborted).toBe(false);
    expect(lateSignals[0]?.cancellation.aborted).toBe(true);
    expect(lateSignals[0]?.cancellation.reason).toBe(reason);
  });

  it("aborts the handler's signal when the caller cancels", async () => {
    const before = aborted.length;
    const controller = new AbortController();
    const call = admin.get("slow", { signal: controller.signal, deadlineMs: 900 });
    setTimeout(() => controller.abort(), 100);
    const error = await failure(call);
    expect(error.code).toBe(Code.CANCELLED);
    await new Promise((r) => setTimeout(r, 100));
    expect(aborted.slice(before).some((r) => r instanceof DomainError && r.reason === "CANCELLED")).toBe(true);
  });

  it("does not cap server streams; breaking out of the loop cancels the stream on the server", async () => {
    let received = 0;
    for await (const _ of admin.stream()) if (++received === 5) break;
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toBe(5);
    // Backpressure: the server stopped producing soon after the client stopped reading.
    expect(streamed).toBeLessThan(1_000);
  });
});

describe("batched stream messages", () => {
  it("writes each message of a yielded array, in order, beside single messages", async () => {
    const ids: string[] = [];
    for await (const u of admin.stream({ emailContains: "batched" })) ids.push(u.id);
    expect(ids).toEqual(["usr_b1", "usr_b2", "usr_b3"]);
  });
});

describe("pre-encoded stream messages", () => {
  it("writes an Encoded message's bytes as they are, beside ordinary messages", async () => {
    const ids: string[] = [];
    for await (const u of admin.stream({ emailContains: "pre-encoded" })) ids.push(u.id);
    expect(ids).toEqual(["usr_encoded", "usr_plain"]);
  });
});

describe("request ids, logging and health", () => {
  it("returns the caller's x-request-id and logs one line per call without the token", async () => {
    const raw = new UserServiceClient(server.address, credentials.createInsecure());
    const token = await testToken("adm_1", ["admin"]);
    const md = new Metadata();
    md.set("authorization", `Bearer ${token}`);
    md.set("x-request-id", "req-42");
    const header = await new Promise<Metadata>((resolve, reject) => {
      const call = raw.getUser({ id: "usr_1" }, md, { deadline: Date.now() + 2_000 }, (e) => e && reject(e));
      call.on("metadata", resolve);
    });
    raw.close();
    expect(header.get("x-request-id")).toEqual(["req-42"]);
    await new Promise((r) => setTimeout(r, 50));
    const lines = server.logs.filter((l) => l.requestId === "req-42");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ method: "/orderly.user.v1.UserService/GetUser", code: "OK", caller: "adm_1" });
    expect(typeof lines[0]!.durationMs).toBe("number");
    expect(JSON.stringify(server.logs)).not.toContain(token);
  });

  it("makes a request id when the caller sends none", async () => {
    await admin.get("usr_2");
    const last = server.logs.filter((l) => l.msg === "call").at(-1)!;
    expect(last.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("serves grpc.health.v1 without a token", async () => {
    const health = new HealthClient(server.address, credentials.createInsecure());
    const status = await new Promise<number>((resolve, reject) =>
      health.check({ service: "orderly.user.v1.UserService" }, (e, r) => (e ? reject(e) : resolve(r.status))),
    );
    health.close();
    expect(status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });
});
