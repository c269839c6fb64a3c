// The coalescing UserDirectory as a unit, over a fake UserClient that records calls: concurrent checks share one call,
// a missing id in a batch falls back to single lookups, one caller's cancellation does not fail the others, and
// transport failures become the right domain errors.
import { describe, expect, it } from "vitest";
import { Code, OrderlyError, type UserClient } from "@orderly/clients";
import { DomainError } from "@orderly/kit/domain";
import { grpcUserDirectory } from "./user-directory.js";

function fakeUsers(existing: Set<string>, failWith?: Code) {
  const calls: string[] = [];
  const deadlines: (Date | undefined)[] = [];
  const fail = () => new OrderlyError(failWith!, "down");
  const users = {
    async get(id: string, options?: { deadline?: Date }) {
      calls.push(`get ${id}`);
      deadlines.push(options?.deadline);
      await new Promise((r) => setTimeout(r, 5));
      if (failWith !== undefined) throw fail();
      if (!existing.has(id)) throw new OrderlyError(Code.NOT_FOUND, "no");
      return { id };
    },
    async batchGet(ids: readonly string[], options?: { deadline?: Date }) {
      calls.push(`batch ${ids.join(",")}`);
      deadlines.push(options?.deadline);
      await new Promise((r) => setTimeout(r, 5));
      if (failWith !== undefined) throw fail();
      if (ids.some((id) => !existing.has(id))) throw new OrderlyError(Code.NOT_FOUND, "no");
      return ids.map((id) => ({ id }));
    },
  };
  return { users: users as unknown as UserClient, calls, deadlines };
}

describe("grpcUserDirectory", () => {
  it("answers concurrent checks of one user with one GetUser", async () => {
    const { users, calls } = fakeUsers(new Set(["usr_a"]));
    const directory = grpcUserDirectory(users);
    expect(
      await Promise.all([directory.exists("usr_a"), directory.exists("usr_a"), directory.exists("usr_a")]),
    ).toEqual([true, true, true]);
    expect(calls).toEqual(["get usr_a"]);
  });

  it("answers concurrent checks of several users with one BatchGetUsers", async () => {
    const { users, calls } = fakeUsers(new Set(["usr_a", "usr_b", "usr_c"]));
    const directory = grpcUserDirectory(users);
    expect(await Promise.all(["usr_a", "usr_b", "usr_c", "usr_a"].map((id) => directory.exists(id)))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(calls).toEqual(["batch usr_a,usr_b,usr_c"]);
  });

  it("falls back to one lookup per id when the batch has a missing user", async () => {
    const { users, calls } = fakeUsers(new Set(["usr_a"]));
    const directory = grpcUserDirectory(users);
    expect(await Promise.all([directory.exists("usr_a"), directory.exists("usr_gone")])).toEqual([true, false]);
    expect(calls).toEqual(["batch usr_a,usr_gone", "get usr_a", "get usr_gone"]);
  });

  it("lets one caller cancel without failing the others, and gives the shared call the latest deadline", async () => {
    const { users, deadlines } = fakeUsers(new Set(["usr_a"]));
    const directory = grpcUserDirectory(users);
    const controller = new AbortController();
    const early = new Date(Date.now() + 1_000);
    const late = new Date(Date.now() + 5_000);
    const cancelled = directory.exists("usr_a", controller.signal, early);
    const other = directory.exists("usr_a", undefined, late);
    controller.abort(new DomainError("cancelled", "CANCELLED", "gone"));
    await expect(cancelled).rejects.toMatchObject({ reason: "CANCELLED" });
    expect(await other).toBe(true);
    expect(deadlines).toEqual([late]);
  });

  it("maps UserService being down to UNAVAILABLE with a retry delay, for every waiter", async () => {
    const { users } = fakeUsers(new Set(), Code.UNAVAILABLE);
    const directory = grpcUserDirectory(users);
    const results = await Promise.allSettled([directory.exists("usr_a"), directory.exists("usr_b")]);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      const error = (result as PromiseRejectedResult).reason as DomainError;
      expect([error.kind, error.reason, error.retryAfterMs]).toEqual([
        "unavailable",
        "USER_SERVICE_UNAVAILABLE",
        1_000,
      ]);
    }
  });
});
