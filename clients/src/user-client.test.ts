// The typed client against real grpc-js servers on 127.0.0.1:0 (plain ones, so each test controls exactly what the
// server does): retries only for methods the contract marks safe, tokens per call, deadlines and cancellation
// inherited from the call scope, round-robin over several addresses, and rich errors decoded.
import { Metadata, status, type sendUnaryData, type Server } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { Code, encodeStatus, OrderlyError, runInCallScope } from "@orderly/common";
import { serveUsers, type Behaviour } from "./test-servers.js";
import { createUserClient } from "./user-client.js";

const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.forceShutdown()));

async function serve(name: string, behaviour: Behaviour) {
  const started = await serveUsers(name, behaviour);
  servers.push(started.server);
  return started;
}

const unavailable = (cb: sendUnaryData<unknown>) => cb({ code: status.UNAVAILABLE, details: "try later" });

describe("retries", () => {
  it("retries a NO_SIDE_EFFECTS method on UNAVAILABLE", async () => {
    let attempts = 0;
    const { address } = await serve("s", {
      getUser: (_c, cb) => (++attempts < 3 ? unavailable(cb) : cb(null, { user: { id: "usr_ok" } })),
    });
    const users = createUserClient({ address, retry: { maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 20 } });
    expect((await users.get("x")).id).toBe("usr_ok");
    expect(attempts).toBe(3);
    users.close();
  });

  it("never retries a method the contract does not mark idempotent (CreateUser)", async () => {
    let attempts = 0;
    const { address } = await serve("s", {
      createUser: (_c, cb) => {
        attempts++;
        unavailable(cb);
      },
    });
    const users = createUserClient({ address, retry: { maxAttempts: 4, initialBackoffMs: 10, maxBackoffMs: 20 } });
    const error = await users.create({ email: "a@b.co" }).catch((e: unknown) => e as OrderlyError);
    expect((error as OrderlyError).code).toBe(Code.UNAVAILABLE);
    expect(attempts).toBe(1);
    users.close();
  });
});

describe("per-call metadata and deadlines", () => {
  it("asks the token provider on every call and sends the request id", async () => {
    const { address, calls } = await serve("s", {});
    let n = 0;
    const users = createUserClient({ address, tokenProvider: async () => `t${++n}` });
    await users.get("a", { requestId: "req-1" });
    await users.get("b");
    expect(calls.map((c) => c.authorization)).toEqual(["Bearer t1", "Bearer t2"]);
    expect(calls[0]!.requestId).toBe("req-1");
    users.close();
  });

  it("gives unary calls the default deadline, and a call's own deadline when shorter", async () => {
    const { address, calls } = await serve("s", {});
    const users = createUserClient({ address, defaultDeadlineMs: 5_000 });
    const t0 = Date.now();
    await users.get("a");
    await users.get("b", { deadlineMs: 1_000 });
    expect(calls[0]!.deadline - t0).toBeGreaterThan(4_000);
    expect(calls[0]!.deadline - t0).toBeLessThanOrEqual(5_100);
    expect(calls[1]!.deadline - t0).toBeLessThanOrEqual(1_100);
    users.close();
  });

  it("inherits the remaining deadline and the cancellation of the call scope it runs in", async () => {
    const { address, calls } = await serve("s", {
      getUser: () => {} /* never answers */,
      batchGetUsers: (_c, cb) => cb(null, { users: [] }),
    });
    const users = createUserClient({ address, defaultDeadlineMs: 30_000 });
    const incoming = new AbortController();
    const deadline = new Date(Date.now() + 2_000);
    const pending = runInCallScope({ deadline, signal: incoming.signal }, async () => {
      await users.batchGet(["a"]);
      return users.get("b");
    });
    await new Promise((r) => setTimeout(r, 100));
    incoming.abort();
    const error = await pending.catch((e: unknown) => e as OrderlyError);
    expect((error as OrderlyError).code).toBe(Code.CANCELLED);
    // The scope's 2 s, not the client's 30 s default. grpc-timeout travels as a duration, so the server's deadline
    // is its arrival time plus what was left: on a loaded machine tens of milliseconds late, never 28 s.
    expect(calls[0]!.deadline).toBeLessThanOrEqual(deadline.getTime() + 50);
    users.close();
  });

  it("with inheritCallScope false, takes only the call's own deadline and signal", async () => {
    const { address, calls } = await serve("s", {});
    const users = createUserClient({ address, defaultDeadlineMs: 30_000, inheritCallScope: false });
    const incoming = new AbortController();
    incoming.abort();
    const t0 = Date.now();
    const user = await runInCallScope({ deadline: new Date(t0 + 1_000), signal: incoming.signal }, () =>
      users.get("a"),
    );
    expect(user.id).toBe("s"); // answered, not cancelled by the scope's aborted signal
    expect(calls[0]!.deadline - t0).toBeGreaterThan(20_000);
    const own = new Date(Date.now() + 2_000);
    await runInCallScope({ deadline: new Date(Date.now() + 60_000) }, () => users.get("b", { deadline: own }));
    expect(calls[1]!.deadline).toBeLessThanOrEqual(own.getTime() + 50);
    users.close();
  });
});

describe("a call stopped by its own signal fails with OrderlyError", () => {
  it("an already-aborted signal: CANCELLED, and nothing is sent", async () => {
    const { address, calls } = await serve("s", {});
    const users = createUserClient({ address });
    const controller = new AbortController();
    controller.abort();
    const error = await users.get("a", { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrderlyError);
    expect((error as OrderlyError).code).toBe(Code.CANCELLED);
    const streamed = await (async () => {
      for await (const _ of users.stream({}, { signal: controller.signal })) return "got a message";
      return "no error";
    })().catch((e: unknown) => e);
    expect(streamed).toBeInstanceOf(OrderlyError);
    expect((streamed as OrderlyError).code).toBe(Code.CANCELLED);
    expect(calls).toHaveLength(0);
    users.close();
  });

  it("an AbortSignal.timeout that has already fired: DEADLINE_EXCEEDED", async () => {
    const { address, calls } = await serve("s", {});
    const users = createUserClient({ address });
    const signal = AbortSignal.timeout(1);
    await new Promise((r) => setTimeout(r, 20));
    const error = await users.get("a", { signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrderlyError);
    expect((error as OrderlyError).code).toBe(Code.DEADLINE_EXCEEDED);
    expect(calls).toHaveLength(0);
    users.close();
  });

  it("an AbortSignal.timeout that fires during the call: DEADLINE_EXCEEDED", async () => {
    const { address } = await serve("s", { getUser: () => {} /* never answers */ });
    const users = createUserClient({ address, defaultDeadlineMs: 30_000 });
    const started = Date.now();
    const error = await users.get("a", { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrderlyError);
    expect((error as OrderlyError).code).toBe(Code.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(5_000);
    users.close();
  });

  it("a token provider that fails: OrderlyError with the provider's error as cause, and nothing is sent", async () => {
    const { address, calls } = await serve("s", {});
    const broken = new Error("identity provider down");
    const users = createUserClient({ address, tokenProvider: () => Promise.reject(broken) });
    const error = await users.get("a").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrderlyError);
    expect((error as OrderlyError).cause).toBe(broken);
    expect(calls).toHaveLength(0);
    users.close();
  });

  it("OrderlyError.from maps a bare TimeoutError to DEADLINE_EXCEEDED and an AbortError to CANCELLED", () => {
    expect(OrderlyError.from(new DOMException("timed out", "TimeoutError")).code).toBe(Code.DEADLINE_EXCEEDED);
    expect(OrderlyError.from(new DOMException("aborted", "AbortError")).code).toBe(Code.CANCELLED);
  });
});

describe("errors and load balancing", () => {
  it("decodes google.rpc.Status details into a typed OrderlyError", async () => {
    const metadata = new Metadata();
    metadata.set(
      "grpc-status-details-bin",
      encodeStatus(status.INVALID_ARGUMENT, "bad", {
        errorInfo: { reason: "INVALID_ARGUMENT", domain: "orderly", metadata: {} },
        badRequest: { fieldViolations: [{ field: "user.email", description: "must look like local@domain.tld" }] },
        retryInfo: { retryDelayMs: 1500 },
      }),
    );
    const { address } = await serve("s", {
      createUser: (_c, cb) => cb({ code: status.INVALID_ARGUMENT, details: "bad", metadata }),
    });
    const users = createUserClient({ address });
    const error = (await users.create({ email: "x" }).catch((e: unknown) => e)) as OrderlyError;
    expect(error).toBeInstanceOf(OrderlyError);
    expect(error.reason).toBe("INVALID_ARGUMENT");
    expect(error.details.badRequest?.fieldViolations[0]?.field).toBe("user.email");
    expect(error.details.retryInfo?.retryDelayMs).toBe(1500);
    users.close();
  });

  it("spreads calls over several addresses and carries on when one dies", async () => {
    const a = await serve("A", {});
    const b = await serve("B", {});
    const users = createUserClient({
      address: [a.address, b.address],
      retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 50 },
    });
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add((await users.get("x")).id);
    expect(seen).toEqual(new Set(["A", "B"]));
    servers[0]!.forceShutdown();
    const after = new Set<string>();
    for (let i = 0; i < 10; i++) after.add((await users.get("x")).id);
    expect(after).toEqual(new Set(["B"]));
    users.close();
  });
});
