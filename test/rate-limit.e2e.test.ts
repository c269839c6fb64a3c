// The rate limiter of a UserService process (RATE_LIMITS), met by the typed client over the network: refused calls
// carry RESOURCE_EXHAUSTED / RATE_LIMITED with RetryInfo and QuotaFailure, the client waits for that RetryInfo and
// retries until the calls go through, and a RetryInfo longer than the call's deadline fails the call at once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, createUserClient, type AttemptEvent, type RetryEvent, type UserClient } from "@orderly/clients";
import { failureOf, testToken } from "@orderly/kit/testing";
import { startServiceProcess, tempDataDir, testAuthEnv, type ServiceProcess } from "./support/service-process.js";

let users: ServiceProcess;
let admin: UserClient;
let userId: string;

beforeAll(async () => {
  users = await startServiceProcess("services/users/src/main.ts", {
    ...(await testAuthEnv()),
    DATA_DIR: tempDataDir(),
    USERS_ADDRESS: "127.0.0.1:0",
    // A GetUser a second per caller, no burst; CreateUser once an hour; everything else unlimited.
    RATE_LIMITS: "GetUser=1/s:1,CreateUser=1/h",
  });
  admin = createUserClient({ address: users.address, token: await testToken("adm_limits", ["admin"]) });
  userId = (await admin.create({ email: "limits@example.com" })).id;
}, 60_000);

afterAll(async () => {
  admin?.close();
  await users?.stop();
});

const callLines = (caller: string, method: string) =>
  users.logs.filter((l) => l.msg === "call" && l.caller === caller && l.method === method);

/**
 * The call lines once `ok` of them say OK, or what there is after 5 s: the process writes its log asynchronously, so
 * the line of the last call can reach us after that call's answer.
 */
async function callLinesOnceOk(caller: string, method: string, ok: number) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const lines = callLines(caller, method);
    if (lines.filter((l) => l.code === "OK").length >= ok || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("rate limits of a UserService process", () => {
  it("refuse a caller's call over its limit with RetryInfo and QuotaFailure; other callers have their own", async () => {
    const token = await testToken("usr_probe", ["admin"]);
    const probe = createUserClient({ address: users.address, token });
    await probe.get(userId, { retry: false });
    const refused = await failureOf(probe.get(userId, { retry: false }));
    probe.close();
    expect(refused.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(refused.reason).toBe("RATE_LIMITED");
    expect(refused.details.retryInfo?.retryDelayMs).toBeGreaterThan(0);
    expect(refused.details.retryInfo?.retryDelayMs).toBeLessThanOrEqual(1000);
    expect(refused.details.quotaFailure?.violations[0]?.subject).toBe("caller:usr_probe");
    const other = createUserClient({ address: users.address, token: await testToken("usr_other", ["admin"]) });
    expect((await other.get(userId, { retry: false })).id).toBe(userId);
    other.close();
  });

  it("are honoured by the typed client: it waits for the RetryInfo and retries until every call went through", async () => {
    const retries: RetryEvent[] = [];
    const client = createUserClient({
      address: users.address,
      token: await testToken("usr_patient", ["admin"]),
      observer: { onRetry: (event) => retries.push(event) },
    });
    const got = await Promise.all([1, 2, 3].map(() => client.get(userId)));
    client.close();
    expect(got.map((u) => u.id)).toEqual([userId, userId, userId]);
    // One call a second and three at once: two were refused, and one of those again when both came back together.
    const lines = (await callLinesOnceOk("usr_patient", "/orderly.user.v1.UserService/GetUser", 3)).map(
      (l) => l.reason ?? l.code,
    );
    const refusals = lines.filter((r) => r === "RATE_LIMITED").length;
    expect(lines.filter((r) => r === "OK")).toHaveLength(3);
    expect(refusals).toBeGreaterThanOrEqual(2);
    expect(retries).toHaveLength(refusals);
    for (const retry of retries) {
      expect(retry).toMatchObject({ cause: "rate_limited", code: Code.RESOURCE_EXHAUSTED });
      // The client's own first backoffs are under 200 ms; waits this long come from the server's RetryInfo.
      expect(retry.delayMs).toBeGreaterThan(400);
    }
  });

  it("fail a call at once when the RetryInfo ends past its deadline (CreateUser=1/h)", async () => {
    const attempts: AttemptEvent[] = [];
    const client = createUserClient({
      address: users.address,
      token: await testToken("usr_hourly", ["admin"]),
      observer: { onAttempt: (event) => attempts.push(event) },
    });
    await client.create({ email: "hourly-1@example.com" });
    const refused = await failureOf(client.create({ email: "hourly-2@example.com" }, { deadlineMs: 5_000 }));
    client.close();
    expect(refused.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(refused.details.retryInfo?.retryDelayMs).toBeGreaterThan(3_500_000);
    expect(attempts.map((a) => [a.reason || "OK", a.giveUp])).toEqual([
      ["OK", undefined],
      ["RATE_LIMITED", "deadline"],
    ]);
  });
});
