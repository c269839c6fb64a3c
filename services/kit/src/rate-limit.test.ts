// The rate limiter: RATE_LIMITS parsing, the token bucket's arithmetic on a pinned clock, and the interceptor in a
// real server's chain on 127.0.0.1:0 called by a real client: a caller over its limit gets RESOURCE_EXHAUSTED /
// RATE_LIMITED with RetryInfo and QuotaFailure, while other callers and other methods keep their own buckets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@orderly/common";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import { DomainError } from "./domain/errors.js";
import { parseRateLimits, RateLimiter } from "./rate-limit.js";
import { bareUserClient, failureOf, startTestServer, testToken, type TestServer } from "./testing.js";

const GET_USER = { path: "/orderly.user.v1.UserService/GetUser", name: "GetUser" };
const LIST_USERS = { path: "/orderly.user.v1.UserService/ListUsers", name: "ListUsers" };
const CREATE_ORDER = { path: "/orderly.order.v1.OrderService/CreateOrder", name: "CreateOrder" };

describe("parseRateLimits", () => {
  it("reads METHOD=COUNT/UNIT[:BURST] entries", () => {
    expect(parseRateLimits("*=100/s, CreateOrder=5/m:10 ,orderly.user.v1.UserService/GetUser=36/h")).toEqual([
      { method: "*", perSecond: 100, burst: 100, spec: "100/s" },
      { method: "CreateOrder", perSecond: 5 / 60, burst: 10, spec: "5/m:10" },
      { method: "orderly.user.v1.UserService/GetUser", perSecond: 0.01, burst: 36, spec: "36/h" },
    ]);
  });

  for (const [spec, message] of [
    ["GetUser=5", "is not METHOD=COUNT/UNIT"],
    ["GetUser=5/d", "is not METHOD=COUNT/UNIT"],
    ["GetUser=0/s", "at least 1"],
    ["GetUser=5/s:0", "at least 1"],
    ["GetUser=1/s,GetUser=2/s", "two limits"],
    [" , ", "names no limit"],
  ] as const) {
    it(`refuses ${JSON.stringify(spec)}`, () => {
      expect(() => parseRateLimits(spec)).toThrow(message);
    });
  }
});

describe("RateLimiter", () => {
  let now = 0;
  const limiter = () => new RateLimiter(parseRateLimits("*=10/s:3,GetUser=2/s:1"), { now: () => now });

  it("allows a burst, then one call per 1/rate, and says how long until the next token", () => {
    now = 0;
    const l = limiter();
    expect([1, 2, 3].map(() => l.take("alice", LIST_USERS))).toEqual([0, 0, 0]);
    expect(l.take("alice", LIST_USERS)).toBe(100);
    now = 40;
    expect(l.take("alice", LIST_USERS)).toBe(60);
    now = 100;
    expect(l.take("alice", LIST_USERS)).toBe(0);
    expect(l.take("alice", LIST_USERS)).toBe(100);
  });

  it("keeps a bucket per caller and per method, and the most specific limit wins", () => {
    now = 0;
    const l = limiter();
    expect(l.take("alice", GET_USER)).toBe(0);
    expect(l.take("alice", GET_USER)).toBe(500);
    expect(l.take("bob", GET_USER)).toBe(0);
    expect(l.take("alice", CREATE_ORDER)).toBe(0);
    expect(l.limitFor(CREATE_ORDER)?.spec).toBe("10/s:3");
  });

  it("refills no further than the burst", () => {
    now = 0;
    const l = limiter();
    l.take("alice", LIST_USERS);
    now = 60_000;
    expect([1, 2, 3, 4].map(() => l.take("alice", LIST_USERS))).toEqual([0, 0, 0, 100]);
  });

  it("limits no method that no entry names when there is no *", () => {
    const l = new RateLimiter(parseRateLimits("GetUser=1/h"));
    expect([1, 2, 3].map(() => l.take("alice", LIST_USERS))).toEqual([0, 0, 0]);
  });
});

describe("the rate limiter in a server's chain", () => {
  let server: TestServer;
  const notImplemented = () => Promise.reject(new DomainError("failed_precondition", "NOT_IN_TEST", "not in test"));

  beforeAll(async () => {
    server = await startTestServer(
      (s) =>
        s.addService(UserServiceService, {
          async getUser(request) {
            const time = new Date(0);
            return {
              user: {
                id: request.id,
                email: "a@example.com",
                profile: undefined,
                etag: "e1",
                createTime: time,
                updateTime: time,
              },
            };
          },
          async *streamUsers() {},
          createUser: notImplemented,
          batchGetUsers: notImplemented,
          listUsers: notImplemented,
          updateUser: notImplemented,
          deleteUser: notImplemented,
        }),
      // One call an hour: the second is refused, whenever it comes.
      { rateLimiter: new RateLimiter(parseRateLimits("GetUser=1/h")) },
    );
  });
  afterAll(() => server.close());

  it("refuses a caller's call over the limit with RESOURCE_EXHAUSTED, RATE_LIMITED, RetryInfo and QuotaFailure", async () => {
    const alice = bareUserClient(server.address, await testToken("alice", ["admin"]));
    const bob = bareUserClient(server.address, await testToken("bob", ["admin"]));
    expect((await alice.get("usr_1")).id).toBe("usr_1");
    const refused = await failureOf(alice.get("usr_1"));
    expect((await bob.get("usr_1")).id).toBe("usr_1");
    alice.close();
    bob.close();
    expect(refused.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(refused.reason).toBe("RATE_LIMITED");
    expect(refused.details.errorInfo?.metadata).toEqual({
      method: "orderly.user.v1.UserService/GetUser",
      limit: "1/h",
    });
    expect(refused.details.retryInfo?.retryDelayMs).toBeGreaterThan(3_500_000);
    expect(refused.details.retryInfo?.retryDelayMs).toBeLessThanOrEqual(3_600_000);
    expect(refused.details.quotaFailure?.violations).toEqual([
      { subject: "caller:alice", description: "1/h calls of orderly.user.v1.UserService/GetUser (COUNT/UNIT[:BURST])" },
    ]);
    const lines = server.logs.filter((l) => l.msg === "call" && l.caller === "alice").map((l) => l.reason ?? l.code);
    expect(lines).toEqual(["OK", "RATE_LIMITED"]);
  });
});
