// The circuit breaker on the wire: a real grpc-js server on 127.0.0.1:0 that fails, then recovers. While the breaker
// is open calls fail fast with UNAVAILABLE / CIRCUIT_OPEN and never reach the server; after the cool-down one probe
// goes through and closes (or re-opens) it; only failures that say the target is sick count.
import { status, type Server } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { Code, type OrderlyError } from "@orderly/common";
import type { BreakerEvent } from "./observer.js";
import { richError, serveUsers, type UnaryBehaviour } from "./test-servers.js";
import { createUserClient } from "./user-client.js";

const servers: Server[] = [];
const clients: { close(): void }[] = [];
afterEach(() => {
  clients.splice(0).forEach((c) => c.close());
  servers.splice(0).forEach((s) => s.forceShutdown());
});

/** A server whose GetUser answers with `code` while `sick.now` is true, and a client with a 3-failure breaker. */
async function setUp(code: Code = Code.UNAVAILABLE, behaviour?: UnaryBehaviour) {
  const sick = { now: true };
  const started = await serveUsers("s", {
    getUser:
      behaviour ?? ((_call, cb) => (sick.now ? cb({ code, details: "sick" }) : cb(null, { user: { id: "usr_ok" } }))),
  });
  servers.push(started.server);
  const changes: BreakerEvent[] = [];
  const users = createUserClient({
    address: started.address,
    retry: false,
    circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: COOL_DOWN_MS },
    observer: { onBreakerStateChange: (e) => changes.push(e) },
  });
  clients.push(users);
  return { users, calls: started.calls, sick, changes, address: started.address };
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => error as OrderlyError,
  );
// Generous, so that a stall of the shared machine cannot end the cool-down before the test has looked.
const COOL_DOWN_MS = 1_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("circuit breaker", () => {
  it("opens after 3 failures, fails fast without the network, lets a probe through after the cool-down", async () => {
    const { users, calls, sick, changes, address } = await setUp();
    for (let i = 0; i < 3; i++) expect((await failureOf(users.get("x"))).code).toBe(Code.UNAVAILABLE);
    expect(calls).toHaveLength(3);

    const openedAt = Date.now();
    const refused = await failureOf(users.get("x"));
    expect(refused.code).toBe(Code.UNAVAILABLE);
    expect(refused.reason).toBe("CIRCUIT_OPEN");
    expect(refused.details.retryInfo?.retryDelayMs).toBeGreaterThan(0);
    expect(refused.details.retryInfo?.retryDelayMs).toBeLessThanOrEqual(COOL_DOWN_MS);
    expect(calls).toHaveLength(3); // nothing reached the server

    sick.now = false; // the server recovers; the breaker does not know until the cool-down ends
    expect((await failureOf(users.get("x"))).reason).toBe("CIRCUIT_OPEN");
    expect(calls).toHaveLength(3);

    await sleep(Math.max(0, openedAt + COOL_DOWN_MS + 50 - Date.now()));
    expect((await users.get("x")).id).toBe("usr_ok"); // the probe
    expect((await users.get("x")).id).toBe("usr_ok");
    expect(calls).toHaveLength(5);
    expect(changes.map((c) => [c.previous, c.state])).toEqual([
      ["closed", "open"],
      ["open", "half_open"],
      ["half_open", "closed"],
    ]);
    expect(changes[0]!.target).toBe(address);
  });

  it("a failed probe opens it again for another cool-down", async () => {
    const { users, calls, changes } = await setUp();
    for (let i = 0; i < 3; i++) await failureOf(users.get("x"));
    await sleep(COOL_DOWN_MS + 50);
    expect((await failureOf(users.get("x"))).reason).not.toBe("CIRCUIT_OPEN"); // the probe reached the server
    expect(calls).toHaveLength(4);
    expect((await failureOf(users.get("x"))).reason).toBe("CIRCUIT_OPEN");
    expect(calls).toHaveLength(4);
    expect(changes.map((c) => c.state)).toEqual(["open", "half_open", "open"]);
  });

  it("while the probe runs, other calls fail fast instead of queueing behind it", async () => {
    let answerProbe: (() => void) | undefined;
    let sick = true;
    const { users, calls } = await setUp(Code.UNAVAILABLE, (_call, cb) => {
      if (sick) cb({ code: status.UNAVAILABLE, details: "sick" });
      else answerProbe = () => cb(null, { user: { id: "usr_probe" } });
    });
    for (let i = 0; i < 3; i++) await failureOf(users.get("x"));
    sick = false;
    await sleep(COOL_DOWN_MS + 50);
    const probe = users.get("x");
    while (calls.length < 4) await sleep(5);
    const during = await failureOf(users.get("x"));
    expect(during.reason).toBe("CIRCUIT_OPEN");
    expect(calls).toHaveLength(4);
    answerProbe?.();
    expect((await probe).id).toBe("usr_probe");
  });

  it("counts only failures that say the target is sick: NOT_FOUND, INTERNAL, RATE_LIMITED... never open it", async () => {
    const answers = [
      { code: Code.NOT_FOUND, details: "no such user" },
      { code: Code.INVALID_ARGUMENT, details: "bad id" },
      { code: Code.INTERNAL, details: "bug" },
      richError(Code.RESOURCE_EXHAUSTED, "RATE_LIMITED", { retryInfo: { retryDelayMs: 1 } }),
      richError(Code.UNAVAILABLE, "SERVER_SHUTTING_DOWN"),
    ];
    for (const answer of answers) {
      const { users, calls } = await setUp(Code.OK, (_call, cb) => cb(answer));
      for (let i = 0; i < 6; i++) expect((await failureOf(users.get("x"))).code).toBe(answer.code);
      expect(calls).toHaveLength(6);
    }
  });

  it("counts DEADLINE_EXCEEDED as a target failure", async () => {
    const { users, calls } = await setUp(Code.UNAVAILABLE, () => undefined /* never answers */);
    for (let i = 0; i < 3; i++) {
      expect((await failureOf(users.get("x", { deadlineMs: 50 }))).code).toBe(Code.DEADLINE_EXCEEDED);
    }
    expect((await failureOf(users.get("x"))).reason).toBe("CIRCUIT_OPEN");
    expect(calls).toHaveLength(3);
  });

  it("an answer in between resets the count of consecutive failures", async () => {
    const { users, calls, sick } = await setUp();
    for (let round = 0; round < 3; round++) {
      sick.now = true;
      for (let i = 0; i < 2; i++) await failureOf(users.get("x"));
      sick.now = false;
      await users.get("x");
    }
    expect(calls).toHaveLength(9);
  });

  it("stops a call's retries once it opens, failing with the server's error rather than CIRCUIT_OPEN", async () => {
    const { calls, address } = await setUp();
    const users = createUserClient({
      address,
      retry: { maxAttempts: 5, initialBackoffMs: 1, maxBackoffMs: 1 },
      circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 10_000 },
    });
    clients.push(users);
    const error = await failureOf(users.get("x"));
    expect(error.code).toBe(Code.UNAVAILABLE);
    expect(error.reason).not.toBe("CIRCUIT_OPEN");
    expect(calls).toHaveLength(2);
  });
});
