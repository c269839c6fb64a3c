// The retry rule on the wire, against real grpc-js servers on 127.0.0.1:0 whose handlers fail on purpose: which
// failures are retried for which methods, RetryInfo honoured, the retry budget, the overall deadline against the
// per-attempt timeout, per-call overrides, streams, and the observer's hooks.
import { status, type Server, type ServerWritableStream } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { Code, OrderlyError } from "@orderly/common";
import type { AttemptEvent, RetryEvent } from "./observer.js";
import { failing, richError, serveUsers, type Behaviour } from "./test-servers.js";
import { createUserClient } from "./user-client.js";
import type { ClientOptions } from "./transport.js";

const servers: Server[] = [];
const clients: { close(): void }[] = [];
afterEach(() => {
  clients.splice(0).forEach((c) => c.close());
  servers.splice(0).forEach((s) => s.forceShutdown());
});

async function setUp(behaviour: Behaviour, options: Omit<ClientOptions, "address"> = {}) {
  const started = await serveUsers("s", behaviour);
  servers.push(started.server);
  const attempts: AttemptEvent[] = [];
  const retries: RetryEvent[] = [];
  const users = createUserClient({
    address: started.address,
    retry: { initialBackoffMs: 1, maxBackoffMs: 2 },
    observer: { onAttempt: (e) => attempts.push(e), onRetry: (e) => retries.push(e) },
    ...options,
  });
  clients.push(users);
  return { users, calls: started.calls, attempts, retries };
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => error as OrderlyError,
  );
const unavailable = () => ({ code: status.UNAVAILABLE, details: "try later" });
const rateLimited = (ms: number) =>
  richError(Code.RESOURCE_EXHAUSTED, "RATE_LIMITED", {
    retryInfo: { retryDelayMs: ms },
    quotaFailure: { violations: [{ subject: "caller:test", description: "10 calls per second" }] },
  });

describe("which failures are retried", () => {
  it("UNAVAILABLE on a safe method: n failures, then the answer; the observer sees every attempt", async () => {
    const { users, calls, attempts, retries } = await setUp({ getUser: failing(2, unavailable) });
    expect((await users.get("x")).id).toBe("usr_ok");
    expect(calls).toHaveLength(3);
    expect(attempts.map((a) => [a.attempt, a.code, a.outcome])).toEqual([
      [1, Code.UNAVAILABLE, "retry"],
      [2, Code.UNAVAILABLE, "retry"],
      [3, Code.OK, "ok"],
    ]);
    expect(retries.map((r) => [r.method, r.attempt, r.cause])).toEqual([
      ["orderly.user.v1.UserService/GetUser", 2, "transient"],
      ["orderly.user.v1.UserService/GetUser", 3, "transient"],
    ]);
  });

  it("UNAVAILABLE on a method that may have run (CreateUser): never", async () => {
    const { users, calls, attempts } = await setUp({ createUser: failing(1, unavailable) });
    expect((await failureOf(users.create({ email: "a@b.co" }))).code).toBe(Code.UNAVAILABLE);
    expect(calls).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ outcome: "fail", giveUp: "not_retryable" });
  });

  it("RATE_LIMITED, refused before the handler ran: retried for any method, after the server's RetryInfo", async () => {
    const { users, calls, retries } = await setUp({ createUser: failing(1, () => rateLimited(200)) });
    expect((await users.create({ email: "a@b.co" })).id).toBe("usr_ok");
    expect(calls).toHaveLength(2);
    expect(retries[0]).toMatchObject({ cause: "rate_limited", code: Code.RESOURCE_EXHAUSTED });
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(200);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(195); // timers may fire a millisecond early
  });

  it("RESOURCE_EXHAUSTED for another reason: never, even for a safe method", async () => {
    const tooSlow = () => richError(Code.RESOURCE_EXHAUSTED, "WATCH_TOO_SLOW", { retryInfo: { retryDelayMs: 10 } });
    const { users, calls } = await setUp({ getUser: failing(1, tooSlow) });
    expect((await failureOf(users.get("x"))).reason).toBe("WATCH_TOO_SLOW");
    expect(calls).toHaveLength(1);
  });

  it("SERVER_SHUTTING_DOWN: retried for a safe method, never for one that may have run", async () => {
    const stopping = () => richError(Code.UNAVAILABLE, "SERVER_SHUTTING_DOWN", { retryInfo: { retryDelayMs: 10 } });
    const { users, calls } = await setUp({ getUser: failing(1, stopping), createUser: failing(1, stopping) });
    expect((await users.get("x")).id).toBe("usr_ok");
    expect((await failureOf(users.create({ email: "a@b.co" }))).reason).toBe("SERVER_SHUTTING_DOWN");
    expect(calls.map((c) => c.method)).toEqual(["getUser", "getUser", "createUser"]);
  });

  it("a server's own CIRCUIT_OPEN: never (its RetryInfo is for the caller)", async () => {
    const open = () => richError(Code.UNAVAILABLE, "CIRCUIT_OPEN", { retryInfo: { retryDelayMs: 10 } });
    const { users, calls, attempts } = await setUp({ getUser: failing(1, open) });
    expect((await failureOf(users.get("x"))).reason).toBe("CIRCUIT_OPEN");
    expect(calls).toHaveLength(1);
    expect(attempts[0]?.giveUp).toBe("circuit_open");
  });

  it("INVALID_ARGUMENT, NOT_FOUND, INTERNAL: never", async () => {
    for (const code of [Code.INVALID_ARGUMENT, Code.NOT_FOUND, Code.INTERNAL]) {
      const { users, calls } = await setUp({ getUser: failing(1, () => ({ code, details: "no" })) });
      expect((await failureOf(users.get("x"))).code).toBe(code);
      expect(calls).toHaveLength(1);
    }
  });

  it("UNAVAILABLE on every attempt: gives up after maxAttempts with the last error", async () => {
    const { users, calls, attempts } = await setUp({ getUser: failing(99, unavailable) });
    expect((await failureOf(users.get("x", { retry: { maxAttempts: 3 } }))).code).toBe(Code.UNAVAILABLE);
    expect(calls).toHaveLength(3);
    expect(attempts.at(-1)).toMatchObject({ attempt: 3, outcome: "fail", giveUp: "max_attempts" });
  });
});

describe("RetryInfo and backoff", () => {
  it("waits at least the server's RetryInfo (300 ms) even when the backoff would be 2 ms", async () => {
    const retryIn300 = () => richError(Code.UNAVAILABLE, "STORE_UNAVAILABLE", { retryInfo: { retryDelayMs: 300 } });
    const { users, calls, retries } = await setUp({ getUser: failing(1, retryIn300) });
    await users.get("x");
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(300);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(295);
  });

  it("without RetryInfo, waits a fully jittered backoff below the policy's ceiling", async () => {
    const { users, retries } = await setUp({ getUser: failing(3, unavailable) });
    await users.get("x", { retry: { initialBackoffMs: 40, maxBackoffMs: 60 } });
    // Ceilings 40, 60 (80 capped), 60: each wait is random in [0, ceiling).
    expect(retries.map((r) => r.delayMs < [40, 60, 60][r.attempt - 2]!)).toEqual([true, true, true]);
  });
});

describe("the retry budget", () => {
  it("against a server that always fails, retries stop at 10% of the calls plus the floor", async () => {
    const { users, calls } = await setUp(
      { getUser: failing(Infinity, unavailable) },
      {
        retry: { maxAttempts: 4, initialBackoffMs: 1, maxBackoffMs: 1 },
        retryBudget: { ratio: 0.1, minRetries: 5, windowMs: 600_000 },
      },
    );
    const calls200 = 200;
    for (let i = 0; i < calls200; i++) await failureOf(users.get("x"));
    const retries = calls.length - calls200;
    // Unbudgeted, 3 retries per call would make 600. The budget: 5 + 0.1 per call made so far.
    expect(retries).toBeGreaterThanOrEqual(23);
    expect(retries).toBeLessThanOrEqual(25);
  });

  it("retryBudget: false lets every call use all its attempts", async () => {
    const { users, calls } = await setUp(
      { getUser: failing(Infinity, unavailable) },
      { retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 1 }, retryBudget: false },
    );
    for (let i = 0; i < 20; i++) await failureOf(users.get("x"));
    expect(calls).toHaveLength(60);
  });
});

describe("deadlines: the overall deadline bounds every attempt and wait; attemptTimeoutMs bounds each attempt", () => {
  it("gives up with the real error, not DEADLINE_EXCEEDED, when the next wait would pass the deadline", async () => {
    const retryIn600 = () => richError(Code.UNAVAILABLE, "STORE_UNAVAILABLE", { retryInfo: { retryDelayMs: 600 } });
    const { users, calls, attempts } = await setUp({ getUser: failing(Infinity, retryIn600) });
    const started = Date.now();
    const error = await failureOf(users.get("x", { deadlineMs: 1_000 }));
    expect(error.reason).toBe("STORE_UNAVAILABLE");
    // At 0 ms, then at about 600 ms; a third would start at 1,200, past the deadline: give up at once.
    expect(calls).toHaveLength(2);
    expect(attempts.at(-1)?.giveUp).toBe("deadline");
    expect(Date.now() - started).toBeLessThan(1_000);
    // Every attempt carried the one overall deadline, not a fresh 1,000 ms.
    for (const call of calls) expect(call.deadline).toBeLessThanOrEqual(started + 1_000 + 50);
  });

  it("never retries DEADLINE_EXCEEDED of the overall deadline", async () => {
    const { users, calls } = await setUp({ getUser: () => undefined /* never answers */ });
    expect((await failureOf(users.get("x", { deadlineMs: 200 }))).code).toBe(Code.DEADLINE_EXCEEDED);
    expect(calls).toHaveLength(1);
  });

  it("retries a safe method whose attempt timed out, within the overall deadline", async () => {
    let n = 0;
    const { users, calls, retries } = await setUp({
      getUser: (_call, cb) => {
        if (++n > 1) cb(null, { user: { id: "usr_second" } }); // the first attempt never answers
      },
    });
    const started = Date.now();
    const user = await users.get("x", { deadlineMs: 10_000, retry: { attemptTimeoutMs: 300 } });
    expect(user.id).toBe("usr_second");
    expect(retries[0]?.cause).toBe("attempt_timeout");
    expect(calls[0]!.deadline).toBeLessThanOrEqual(started + 300 + 50);
    expect(calls[1]!.deadline).toBeLessThanOrEqual(started + 10_000 + 50);
  });

  it("does not retry a timed-out attempt of a method that may have run", async () => {
    const { users, calls } = await setUp({ createUser: () => undefined });
    const error = await failureOf(users.create({ email: "a@b.co" }, { retry: { attemptTimeoutMs: 200 } }));
    expect(error.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(calls).toHaveLength(1);
  });
});

describe("per-call retry override", () => {
  it("retry: false on one call; a partial policy merged over the client's; a policy on a client without retries", async () => {
    const { users, calls } = await setUp({ getUser: failing(Infinity, unavailable) });
    await failureOf(users.get("x", { retry: false }));
    expect(calls).toHaveLength(1);
    await failureOf(users.get("x", { retry: { maxAttempts: 2 } }));
    expect(calls).toHaveLength(3);

    const off = await setUp({ getUser: failing(Infinity, unavailable) }, { retry: false });
    await failureOf(off.users.get("x"));
    expect(off.calls).toHaveLength(1);
    await failureOf(off.users.get("x", { retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 1 } }));
    expect(off.calls).toHaveLength(4);
  });
});

describe("server streams", () => {
  const oneUserThen = (end: (call: ServerWritableStream<unknown, unknown>) => void) => {
    let n = 0;
    return (call: ServerWritableStream<unknown, unknown>) => {
      if (++n === 1) {
        call.emit("error", unavailable());
        return;
      }
      call.write({ user: { id: `usr_${n}`, email: "", etag: "" } });
      end(call);
    };
  };

  it("retries a failure before the first message", async () => {
    const { users, calls } = await setUp({ streamUsers: oneUserThen((call) => call.end()) });
    const ids: string[] = [];
    for await (const user of users.stream()) ids.push(user.id);
    expect(ids).toEqual(["usr_2"]);
    expect(calls).toHaveLength(2);
  });

  it("never retries once a message has arrived: the failure reaches the loop", async () => {
    const { users, calls } = await setUp({ streamUsers: oneUserThen((call) => call.emit("error", unavailable())) });
    const ids: string[] = [];
    const error = await failureOf(
      (async () => {
        for await (const user of users.stream()) ids.push(user.id);
      })(),
    );
    expect(error.code).toBe(Code.UNAVAILABLE);
    expect(ids).toEqual(["usr_2"]);
    expect(calls).toHaveLength(2);
  });
});
