import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DomainError, UPDATE_RETRIES, type Access } from "@orderly/kit/domain";
import { openSqliteUserStore } from "../store/sqlite-user-store.js";
import type { NewUser, User } from "./model.js";
import { Users } from "./user-service.js";
import type { UserStore } from "./user-store.js";

const admin: Access = { subject: "usr_admin", ownOnly: false };
const ownOnly = (user: User): Access => ({ subject: user.id, ownOnly: true });
const T0 = new Date("2025-03-04T05:06:07.000Z");

function newUser(n: number, overrides: Partial<NewUser> = {}): NewUser {
  return {
    email: `user${n}@example.com`,
    profile: { firstName: `F${n}`, lastName: `L${n}`, avatarUrl: "", preferences: {} },
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => new Error("expected a rejection"),
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw error;
  return error;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

let store: UserStore;
let now: Date;
let users: Users;

beforeEach(async () => {
  store = await openSqliteUserStore({ path: ":memory:" });
  now = T0;
  users = new Users({ store, clock: () => now });
});
afterEach(async () => {
  await store.close();
});

describe("create", () => {
  it("normalises the email and makes id, etag and times", async () => {
    const user = await users.create(newUser(1, { email: "  Ada@Example.COM " }), admin);
    expect(user.email).toBe("ada@example.com");
    expect(user.id).toMatch(/^usr_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(user.etag).toMatch(/^[0-9a-f]{16}$/);
    expect(user.createTime).toEqual(T0);
    expect(user.updateTime).toEqual(T0);
    expect(await users.get(user.id, admin)).toEqual(user);
  });

  it("makes ids that sort in creation order even within one millisecond", async () => {
    const created: string[] = [];
    for (let n = 0; n < 20; n++) created.push((await users.create(newUser(n), admin)).id);
    expect([...created].sort()).toEqual(created);
    expect(new Set(created).size).toBe(20);
  });

  it("reports all violations at once", async () => {
    const error = await failure(
      users.create(
        { email: "nope", profile: { firstName: "x".repeat(101), lastName: "", avatarUrl: "ftp://x", preferences: {} } },
        admin,
      ),
    );
    expect(error).toMatchObject({ kind: "invalid_argument", reason: "INVALID_ARGUMENT" });
    expect(error.fieldViolations.map((v) => v.field)).toEqual([
      "user.email",
      "user.profile.first_name",
      "user.profile.avatar_url",
    ]);
  });

  it("rejects an email that differs only in case", async () => {
    await users.create(newUser(1), admin);
    const error = await failure(users.create(newUser(2, { email: "USER1@example.com" }), admin));
    expect(error).toMatchObject({
      kind: "already_exists",
      reason: "EMAIL_ALREADY_EXISTS",
      metadata: { email: "user1@example.com" },
    });
  });

  it("refuses owner-scoped callers", async () => {
    const error = await failure(users.create(newUser(1), { subject: "usr_x", ownOnly: true }));
    expect(error.kind).toBe("permission_denied");
  });
});

describe("get", () => {
  it("requires an id", async () => {
    const error = await failure(users.get("", admin));
    expect(error.kind).toBe("invalid_argument");
    expect(error.fieldViolations).toEqual([{ field: "id", description: "is required" }]);
  });

  it("hides other users from an owner-scoped caller exactly like missing ones", async () => {
    const alice = await users.create(newUser(1), admin);
    const bob = await users.create(newUser(2), admin);
    expect(await users.get(alice.id, ownOnly(alice))).toEqual(alice);
    const hidden = await failure(users.get(bob.id, ownOnly(alice)));
    const missing = await failure(users.get("usr_missing", ownOnly(alice)));
    expect(hidden).toMatchObject({ kind: "not_found", reason: "USER_NOT_FOUND", metadata: { id: bob.id } });
    expect(missing).toMatchObject({ kind: "not_found", reason: "USER_NOT_FOUND", metadata: { id: "usr_missing" } });
    expect(hidden.message.replace(bob.id, "ID")).toBe(missing.message.replace("usr_missing", "ID"));
  });
});

describe("batchGet", () => {
  it("returns users in the requested order, repeating duplicates", async () => {
    const [a, b, c] = [
      await users.create(newUser(1), admin),
      await users.create(newUser(2), admin),
      await users.create(newUser(3), admin),
    ];
    const got = await users.batchGet([c.id, a.id, c.id, b.id], admin);
    expect(got.map((u) => u.id)).toEqual([c.id, a.id, c.id, b.id]);
  });

  it("names the first missing id", async () => {
    const a = await users.create(newUser(1), admin);
    const error = await failure(users.batchGet([a.id, "usr_gone1", "usr_gone2"], admin));
    expect(error).toMatchObject({ kind: "not_found", reason: "USER_NOT_FOUND", metadata: { id: "usr_gone1" } });
  });

  it("treats ids an owner-scoped caller may not see as missing", async () => {
    const a = await users.create(newUser(1), admin);
    const b = await users.create(newUser(2), admin);
    expect((await users.batchGet([a.id, a.id], ownOnly(a))).map((u) => u.id)).toEqual([a.id, a.id]);
    const error = await failure(users.batchGet([a.id, b.id], ownOnly(a)));
    expect(error).toMatchObject({ kind: "not_found", metadata: { id: b.id } });
  });

  it("takes 1 to 100 ids, none empty", async () => {
    expect((await failure(users.batchGet([], admin))).fieldViolations[0]?.field).toBe("ids");
    expect(
      (
        await failure(
          users.batchGet(
            Array.from({ length: 101 }, (_, i) => `usr_${i}`),
            admin,
          ),
        )
      ).kind,
    ).toBe("invalid_argument");
    expect((await failure(users.batchGet(["usr_1", ""], admin))).fieldViolations).toEqual([
      { field: "ids[1]", description: "must not be empty" },
    ]);
    const ok = await failure(
      users.batchGet(
        Array.from({ length: 100 }, (_, i) => `usr_${i}`),
        admin,
      ),
    );
    expect(ok.kind).toBe("not_found");
  });
});

describe("list and stream", () => {
  it("pages with hasMore until the end", async () => {
    const created: User[] = [];
    for (let n = 0; n < 5; n++) created.push(await users.create(newUser(n), admin));
    const first = await users.list({ filter: {}, limit: 2 }, admin);
    expect(first.users.map((u) => u.id)).toEqual(created.slice(0, 2).map((u) => u.id));
    expect(first.hasMore).toBe(true);
    const second = await users.list({ filter: {}, afterId: first.users.at(-1)!.id, limit: 3 }, admin);
    expect(second.users.map((u) => u.id)).toEqual(created.slice(2).map((u) => u.id));
    expect(second.hasMore).toBe(false);
  });

  it("filters, and restricts owner-scoped callers to themselves", async () => {
    const a = await users.create(newUser(1, { email: "a@shop.example" }), admin);
    const b = await users.create(newUser(2, { email: "b@shop.example" }), admin);
    await users.create(newUser(3, { email: "c@elsewhere.example" }), admin);
    expect((await users.list({ filter: { emailContains: "Shop" }, limit: 10 }, admin)).users.map((u) => u.id)).toEqual([
      a.id,
      b.id,
    ]);
    expect(await users.list({ filter: {}, limit: 10 }, ownOnly(b))).toEqual({ users: [b], hasMore: false });
    expect((await collect(users.stream({}, admin))).flat().length).toBe(3);
    expect(await collect(users.stream({}, ownOnly(b)))).toEqual([[b]]);
    expect((await collect(users.stream({ emailContains: "elsewhere" }, admin))).flat().map((u) => u.email)).toEqual([
      "c@elsewhere.example",
    ]);
  });

  it("rejects a non-positive limit", async () => {
    expect((await failure(users.list({ filter: {}, limit: 0 }, admin))).fieldViolations[0]?.field).toBe("page_size");
  });
});

describe("update", () => {
  it("changes only masked fields, with a new etag and update time", async () => {
    const user = await users.create(newUser(1), admin);
    now = new Date(T0.getTime() + 60_000);
    const updated = await users.update(
      {
        id: user.id,
        patch: { email: "NEW@example.com", profile: { firstName: "Zed" } },
        paths: ["profile.first_name"],
        etag: user.etag,
      },
      ownOnly(user),
    );
    expect(updated).toMatchObject({
      email: "user1@example.com",
      profile: { ...user.profile, firstName: "Zed" },
      createTime: T0,
      updateTime: now,
    });
    expect(updated.etag).not.toBe(user.etag);
    const emailed = await users.update({ id: user.id, patch: { email: " NEW@example.com " }, paths: ["email"] }, admin);
    expect(emailed.email).toBe("new@example.com");
  });

  it("is ABORTED with ETAG_MISMATCH for a stale etag and changes nothing", async () => {
    const user = await users.create(newUser(1), admin);
    await users.update({ id: user.id, patch: { profile: { lastName: "X" } }, paths: ["profile.last_name"] }, admin);
    const error = await failure(
      users.update({ id: user.id, patch: { email: "z@example.com" }, paths: ["email"], etag: user.etag }, admin),
    );
    expect(error).toMatchObject({ kind: "aborted", reason: "ETAG_MISMATCH" });
    expect((await users.get(user.id, admin)).email).toBe("user1@example.com");
  });

  it("validates the result with user.* field paths", async () => {
    const user = await users.create(newUser(1), admin);
    const error = await failure(
      users.update(
        { id: user.id, patch: { profile: { avatarUrl: "nope" } }, paths: ["email", "profile.avatar_url"] },
        admin,
      ),
    );
    expect(error.fieldViolations.map((v) => v.field)).toEqual(["user.email", "user.profile.avatar_url"]);
  });

  it("rejects a bad mask before looking the user up", async () => {
    const error = await failure(users.update({ id: "usr_missing", patch: {}, paths: ["id"] }, admin));
    expect(error).toMatchObject({ kind: "invalid_argument", reason: "INVALID_UPDATE_MASK" });
  });

  it("hides other users from an owner-scoped caller", async () => {
    const a = await users.create(newUser(1), admin);
    const b = await users.create(newUser(2), admin);
    const error = await failure(
      users.update({ id: b.id, patch: { email: "mine@example.com" }, paths: ["email"] }, ownOnly(a)),
    );
    expect(error).toMatchObject({ kind: "not_found", reason: "USER_NOT_FOUND" });
    expect((await users.get(b.id, admin)).email).toBe("user2@example.com");
  });

  it("maps a taken email to EMAIL_ALREADY_EXISTS", async () => {
    const a = await users.create(newUser(1), admin);
    await users.create(newUser(2), admin);
    const error = await failure(
      users.update({ id: a.id, patch: { email: "User2@Example.com" }, paths: ["email"] }, admin),
    );
    expect(error.reason).toBe("EMAIL_ALREADY_EXISTS");
  });

  describe("racing a concurrent writer", () => {
    // Before each of our compare-and-sets, another writer changes the user first (for the first `losses` attempts).
    function racingStore(losses: number): { store: UserStore; attempts: () => number } {
      let attempts = 0;
      const racing: UserStore = Object.create(store) as UserStore;
      racing.update = async (user, expectedEtag, signal) => {
        attempts++;
        if (attempts <= losses) {
          const current = (await store.get(user.id))!;
          await store.update(
            { ...current, profile: { ...current.profile, lastName: `other-${attempts}` }, etag: `other-${attempts}` },
            current.etag,
          );
        }
        return store.update(user, expectedEtag, signal);
      };
      return { store: racing, attempts: () => attempts };
    }

    it("re-reads and retries without an etag, keeping the other writer's change", async () => {
      const user = await users.create(newUser(1), admin);
      const racing = racingStore(UPDATE_RETRIES);
      const updated = await new Users({ store: racing.store }).update(
        { id: user.id, patch: { profile: { firstName: "Mine" } }, paths: ["profile.first_name"] },
        admin,
      );
      expect(racing.attempts()).toBe(UPDATE_RETRIES + 1);
      expect(updated.profile).toMatchObject({ firstName: "Mine", lastName: `other-${UPDATE_RETRIES}` });
    });

    it("gives up with ABORTED after the retries", async () => {
      const user = await users.create(newUser(1), admin);
      const racing = racingStore(Infinity);
      const error = await failure(
        new Users({ store: racing.store }).update({ id: user.id, patch: {}, paths: ["profile.first_name"] }, admin),
      );
      expect(error).toMatchObject({ kind: "aborted", reason: "CONCURRENT_UPDATE" });
      expect(racing.attempts()).toBe(UPDATE_RETRIES + 1);
    });

    it("does not retry when the caller gave an etag", async () => {
      const user = await users.create(newUser(1), admin);
      const racing = racingStore(1);
      const error = await failure(
        new Users({ store: racing.store }).update(
          { id: user.id, patch: {}, paths: ["profile.first_name"], etag: user.etag },
          admin,
        ),
      );
      expect(error).toMatchObject({ kind: "aborted", reason: "ETAG_MISMATCH" });
      expect(racing.attempts()).toBe(1);
    });
  });
});

describe("delete", () => {
  it("checks the etag, then deletes", async () => {
    const user = await users.create(newUser(1), admin);
    expect(await failure(users.delete(user.id, "stale", admin))).toMatchObject({
      kind: "aborted",
      reason: "ETAG_MISMATCH",
    });
    await users.delete(user.id, user.etag, admin);
    expect(await failure(users.get(user.id, admin))).toMatchObject({ kind: "not_found" });
    expect(await failure(users.delete(user.id, undefined, admin))).toMatchObject({
      kind: "not_found",
      reason: "USER_NOT_FOUND",
    });
  });

  it("hides other users from an owner-scoped caller", async () => {
    const a = await users.create(newUser(1), admin);
    const b = await users.create(newUser(2), admin);
    expect(await failure(users.delete(b.id, undefined, ownOnly(a)))).toMatchObject({ kind: "not_found" });
    expect(await users.get(b.id, admin)).toEqual(b);
    await users.delete(a.id, "", ownOnly(a));
    expect(await failure(users.get(a.id, admin))).toMatchObject({ kind: "not_found" });
  });
});

describe("cancellation", () => {
  it("stops before touching the store when the signal has fired", async () => {
    const controller = new AbortController();
    controller.abort(new Error("deadline exceeded"));
    await expect(users.create(newUser(1), admin, controller.signal)).rejects.toThrow("deadline exceeded");
    expect((await users.list({ filter: {}, limit: 10 }, admin)).users).toEqual([]);
  });
});
