// The typed client's retry rule against the real server kit (its whole interceptor chain, real JWT verification, its
// error encoding) on 127.0.0.1:0: the reasons and details the kit actually sends are the ones the client acts on. The
// handlers are test doubles: RATE_LIMITED stands in for the server-side rate limiter, which sends RESOURCE_EXHAUSTED
// with RetryInfo and QuotaFailure before any handler runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, createUserClient, OrderlyError, refreshingToken, type RetryEvent } from "@orderly/clients";
import { DomainError } from "@orderly/kit/domain";
import { startTestServer, testToken, type TestServer } from "@orderly/kit/testing";
import { User } from "@orderly/proto/orderly/user/v1/user";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";

const user = (id: string) => User.fromPartial({ id, email: `${id}@example.com` });
const notInTest = () => Promise.reject(new DomainError("failed_precondition", "NOT_IN_TEST", "not in this test"));
const failedOnce = new Set<string>();
/** True the first time `key` is seen. */
const firstTime = (key: string) => !failedOnce.has(key) && Boolean(failedOnce.add(key));

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer((s) =>
    s.addService(UserServiceService, {
      async createUser(request) {
        const email = request.user?.email ?? "";
        if (firstTime(email))
          throw new OrderlyError(Code.RESOURCE_EXHAUSTED, "too many calls", {
            errorInfo: { reason: "RATE_LIMITED", domain: "orderly", metadata: {} },
            retryInfo: { retryDelayMs: 150 },
            quotaFailure: { violations: [{ subject: "caller:adm", description: "5 calls per second" }] },
          });
        return { user: { ...user("usr_new"), email } };
      },
      async getUser(request) {
        if (request.id === "usr_store_down" && firstTime(request.id))
          throw new DomainError("unavailable", "STORE_UNAVAILABLE", "the database is unreachable", {
            retryAfterMs: 200,
          });
        return { user: user(request.id) };
      },
      batchGetUsers: notInTest,
      listUsers: notInTest,
      // eslint-disable-next-line require-yield -- a stream that fails before its first message
      async *streamUsers() {
        await notInTest();
      },
      updateUser: notInTest,
      deleteUser: notInTest,
    }),
  );
});

afterAll(() => server.close());

/** An admin client whose retries are recorded. */
async function watchedClient() {
  const retries: RetryEvent[] = [];
  const users = createUserClient({
    address: server.address,
    token: await testToken("adm", ["admin"]),
    observer: { onRetry: (r) => retries.push(r) },
  });
  return { users, retries };
}

const linesOf = (method: string) =>
  server.logs.filter((l) => l.method === `/orderly.user.v1.UserService/${method}` && l.msg !== "call started");

describe("the typed client against the server kit", () => {
  it("retries a RATE_LIMITED CreateUser (not idempotent) after the kit's RetryInfo", async () => {
    const { users, retries } = await watchedClient();
    const created = await users.create({ email: "limited@example.com" });
    users.close();
    expect(created.email).toBe("limited@example.com");
    expect(retries).toMatchObject([{ cause: "rate_limited", code: Code.RESOURCE_EXHAUSTED }]);
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(150);
    const reasons = linesOf("CreateUser").map((l) => l.reason ?? l.code);
    expect(reasons).toEqual(["RATE_LIMITED", "OK"]);
  });

  it("fetches a new token when the kit refuses an expired one, and retries once", async () => {
    let fetches = 0;
    const tokens = refreshingToken(async () =>
      ++fetches === 1 ? testToken("adm", ["admin"], { expiresInSeconds: -120 }) : testToken("adm", ["admin"]),
    );
    const users = createUserClient({ address: server.address, tokenProvider: tokens });
    expect((await users.get("usr_token")).id).toBe("usr_token");
    users.close();
    expect(fetches).toBe(2);
    const lines = linesOf("GetUser").filter((l) => l.reason === "TOKEN_EXPIRED" || l.code === "OK");
    expect(lines.map((l) => l.reason ?? l.code).slice(-2)).toEqual(["TOKEN_EXPIRED", "OK"]);
  });

  it("retries GetUser on the kit's STORE_UNAVAILABLE after its RetryInfo", async () => {
    const { users, retries } = await watchedClient();
    expect((await users.get("usr_store_down")).id).toBe("usr_store_down");
    users.close();
    expect(retries).toMatchObject([{ cause: "transient", code: Code.UNAVAILABLE }]);
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(200);
  });
});
