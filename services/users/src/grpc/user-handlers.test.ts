// UserService end to end in one process: the real handlers, domain and SQLite store behind the kit's chain on
// 127.0.0.1:0, called through the typed client. Each bad input comes back with the right code and details.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPageTokens } from "@orderly/kit";
import { failureOf as failure, startTestServer, testToken, type TestServer } from "@orderly/kit/testing";
import { Code, createUserClient, OrderlyError, type UserClient } from "@orderly/clients";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import { Users } from "../domain/user-service.js";
import { openSqliteUserStore } from "../store/sqlite-user-store.js";
import type { UserStore } from "../domain/user-store.js";
import { userHandlers } from "./user-handlers.js";

let server: TestServer;
let store: UserStore;
let admin: UserClient;
let support: UserClient;

beforeAll(async () => {
  store = await openSqliteUserStore({ path: ":memory:" });
  server = await startTestServer((s) =>
    s.addService(UserServiceService, userHandlers(new Users({ store }), createPageTokens("test"))),
  );
  admin = createUserClient({ address: server.address, token: await testToken("adm_1", ["admin"]) });
  support = createUserClient({ address: server.address, token: await testToken("sup_1", ["support"]) });
});

afterAll(async () => {
  admin.close();
  support.close();
  await server.close();
  await store.close();
});

const fields = (error: OrderlyError) => error.details.badRequest?.fieldViolations.map((v) => v.field) ?? [];

describe("CreateUser", () => {
  it("creates a user with a server-made id, lower-cased email and an etag", async () => {
    const user = await admin.create({
      email: "  Grace@Example.COM ",
      profile: { firstName: "Grace", preferences: { lang: "en" } },
    });
    expect(user.id).toMatch(/^usr_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(user.email).toBe("grace@example.com");
    expect(user.profile?.preferences).toEqual({ lang: "en" });
    expect(user.etag).not.toBe("");
    expect(user.createTime).toBeInstanceOf(Date);
  });

  it("reports every broken rule at once, one field violation each", async () => {
    const preferences = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]));
    const error = await failure(
      admin.create({
        email: "not-an-email",
        profile: {
          firstName: "x".repeat(101),
          lastName: "y".repeat(101),
          avatarUrl: "javascript:alert(1)",
          preferences,
        },
      }),
    );
    expect(error.code).toBe(Code.INVALID_ARGUMENT);
    expect(error.reason).toBe("INVALID_ARGUMENT");
    expect(fields(error).sort()).toEqual([
      "user.email",
      "user.profile.avatar_url",
      "user.profile.first_name",
      "user.profile.last_name",
      "user.profile.preferences",
    ]);
  });

  it("rejects control characters (NUL cannot be stored in PostgreSQL) as INVALID_ARGUMENT, not INTERNAL", async () => {
    const error = await failure(
      admin.create({ email: "nul@example.com", profile: { firstName: "A\u0000B", preferences: { "k\u0000": "v" } } }),
    );
    expect(error.code).toBe(Code.INVALID_ARGUMENT);
    expect(fields(error).sort()).toEqual(["user.profile.first_name", "user.profile.preferences"]);
  });

  it("checks preference keys and values", async () => {
    const error = await failure(
      admin.create({
        email: "p@example.com",
        profile: { preferences: { ["k".repeat(65)]: "v", ok: "v".repeat(1025) } },
      }),
    );
    expect(error.code).toBe(Code.INVALID_ARGUMENT);
    expect(error.details.badRequest?.fieldViolations).toHaveLength(2);
  });

  it("refuses a taken email, whatever its case, with ALREADY_EXISTS", async () => {
    await admin.create({ email: "taken@example.com" });
    const error = await failure(admin.create({ email: "TAKEN@example.com" }));
    expect(error.code).toBe(Code.ALREADY_EXISTS);
    expect(error.reason).toBe("EMAIL_ALREADY_EXISTS");
  });

  it("is not allowed for support", async () => {
    const error = await failure(support.create({ email: "s@example.com" }));
    expect(error.code).toBe(Code.PERMISSION_DENIED);
  });
});

describe("GetUser, BatchGetUsers and own-only access", () => {
  it("answers an unknown id with NOT_FOUND, USER_NOT_FOUND and ResourceInfo", async () => {
    const error = await failure(admin.get("usr_00000000000000000000000000"));
    expect(error.code).toBe(Code.NOT_FOUND);
    expect(error.reason).toBe("USER_NOT_FOUND");
    expect(error.details.resourceInfo?.resourceName).toBe("usr_00000000000000000000000000");
  });

  it("lets a user read and update only themselves; others look exactly like missing users", async () => {
    const me = await admin.create({ email: "me@example.com" });
    const other = await admin.create({ email: "other@example.com" });
    const mine = createUserClient({ address: server.address, token: await testToken(me.id, ["user"]) });
    expect((await mine.get(me.id)).email).toBe("me@example.com");
    const hidden = await failure(mine.get(other.id));
    const missing = await failure(mine.get("usr_00000000000000000000000001"));
    expect([hidden.code, hidden.reason]).toEqual([Code.NOT_FOUND, "USER_NOT_FOUND"]);
    expect(missing.code).toBe(Code.NOT_FOUND);
    expect(
      (await mine.update({ id: me.id, profile: { firstName: "Me" } }, ["profile.first_name"])).profile?.firstName,
    ).toBe("Me");
    expect(
      (await failure(mine.update({ id: other.id, profile: { firstName: "X" } }, ["profile.first_name"]))).code,
    ).toBe(Code.NOT_FOUND);
    expect((await failure(mine.delete(me.id))).code).toBe(Code.PERMISSION_DENIED);
    expect((await mine.list()).users.map((u) => u.id)).toEqual([me.id]);
    mine.close();
  });

  it("returns a batch in the order asked, and NOT_FOUND when one is missing", async () => {
    const a = await admin.create({ email: "batch-a@example.com" });
    const b = await admin.create({ email: "batch-b@example.com" });
    expect((await support.batchGet([b.id, a.id, b.id])).map((u) => u.id)).toEqual([b.id, a.id, b.id]);
    expect((await failure(support.batchGet([a.id, "usr_00000000000000000000000002"]))).code).toBe(Code.NOT_FOUND);
    expect((await failure(support.batchGet([]))).code).toBe(Code.INVALID_ARGUMENT);
  });
});

describe("UpdateUser and DeleteUser", () => {
  it("changes only the masked fields and a new etag", async () => {
    const user = await admin.create({ email: "mask@example.com", profile: { firstName: "A", lastName: "B" } });
    const updated = await admin.update(
      { id: user.id, email: "ignored@example.com", profile: { firstName: "C", lastName: "ignored" } },
      ["profile.first_name"],
    );
    expect(updated.profile).toMatchObject({ firstName: "C", lastName: "B" });
    expect(updated.email).toBe("mask@example.com");
    expect(updated.etag).not.toBe(user.etag);
  });

  it("refuses a stale etag with ABORTED ETAG_MISMATCH and changes nothing", async () => {
    const user = await admin.create({ email: "etag@example.com", profile: { firstName: "A" } });
    await admin.update({ id: user.id, profile: { firstName: "B" } }, ["profile.first_name"], { etag: user.etag });
    const error = await failure(
      admin.update({ id: user.id, profile: { firstName: "C" } }, ["profile.first_name"], { etag: user.etag }),
    );
    expect([error.code, error.reason]).toEqual([Code.ABORTED, "ETAG_MISMATCH"]);
    expect((await admin.get(user.id)).profile?.firstName).toBe("B");
    expect((await failure(admin.delete(user.id, { etag: user.etag }))).code).toBe(Code.ABORTED);
  });

  it("rejects unknown and empty masks, and invalid new values", async () => {
    const user = await admin.create({ email: "badmask@example.com" });
    const unknown = await failure(admin.update({ id: user.id }, ["profile.shoe_size", "id"]));
    expect([unknown.code, unknown.reason]).toEqual([Code.INVALID_ARGUMENT, "INVALID_UPDATE_MASK"]);
    expect(fields(unknown)).toEqual(["update_mask", "update_mask"]);
    expect((await failure(admin.update({ id: user.id }, []))).code).toBe(Code.INVALID_ARGUMENT);
    const invalid = await failure(admin.update({ id: user.id, email: "nope" }, ["email"]));
    expect(fields(invalid)).toEqual(["user.email"]);
  });

  it("deletes a user; a second delete is NOT_FOUND", async () => {
    const user = await admin.create({ email: "gone@example.com" });
    await admin.delete(user.id, { etag: user.etag });
    expect((await failure(admin.get(user.id))).code).toBe(Code.NOT_FOUND);
    expect((await failure(admin.delete(user.id))).code).toBe(Code.NOT_FOUND);
  });
});

describe("ListUsers, listAll and StreamUsers", () => {
  beforeAll(async () => {
    for (let i = 0; i < 45; i++) await admin.create({ email: `page${String(i).padStart(2, "0")}@list.example` });
  });

  it("pages with opaque tokens to the end, in a stable order, with the default size of 20", async () => {
    const first = await support.list({ filter: { emailContains: "@list.example" } });
    expect(first.users).toHaveLength(20);
    const second = await support.list({ filter: { emailContains: "@list.example" }, pageToken: first.nextPageToken });
    const third = await support.list({ filter: { emailContains: "@list.example" }, pageToken: second.nextPageToken });
    expect(third.users).toHaveLength(5);
    expect(third.nextPageToken).toBe("");
    const emails = [...first.users, ...second.users, ...third.users].map((u) => u.email);
    expect(emails).toEqual(Array.from({ length: 45 }, (_, i) => `page${String(i).padStart(2, "0")}@list.example`));
  });

  it("coerces a page size above 100 and rejects a negative one", async () => {
    expect((await support.list({ pageSize: 1000 })).users.length).toBeLessThanOrEqual(100);
    const error = await failure(support.list({ pageSize: -1 }));
    expect(fields(error)).toEqual(["page_size"]);
  });

  it("rejects a page token used with another filter, or tampered with", async () => {
    const page = await support.list({ pageSize: 2, filter: { emailContains: "@list.example" } });
    const changed = await failure(
      support.list({ pageSize: 2, pageToken: page.nextPageToken, filter: { emailContains: "page1" } }),
    );
    expect([changed.code, changed.reason]).toEqual([Code.INVALID_ARGUMENT, "PAGE_TOKEN_FILTER_MISMATCH"]);
    const tampered = await failure(
      support.list({ pageToken: page.nextPageToken.slice(0, -2) + "AA", filter: { emailContains: "@list.example" } }),
    );
    expect(tampered.reason).toBe("INVALID_PAGE_TOKEN");
  });

  it("listAll walks every page; stream sends every match over one call in the same order", async () => {
    const listed: string[] = [];
    for await (const user of support.listAll({ emailContains: "@list.example" }, { pageSize: 7 })) listed.push(user.id);
    const streamed: string[] = [];
    for await (const user of support.stream({ emailContains: "@list.example" })) streamed.push(user.id);
    expect(listed).toHaveLength(45);
    expect(streamed).toEqual(listed);
  });
});
