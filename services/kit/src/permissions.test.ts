import { describe, expect, it } from "vitest";
import { reachOf, ROLE_PERMISSIONS } from "./permissions.js";

describe("reachOf", () => {
  it("gives admin every action on users and orders through the wildcard", () => {
    for (const permission of ["users:read", "users:create", "users:delete", "orders:create", "orders:cancel"]) {
      expect(reachOf(["admin"], permission)).toBe("all");
    }
  });

  it("does not let a wildcard leak into another resource or a resource with the same prefix", () => {
    expect(reachOf(["admin"], "invoices:read")).toBeUndefined();
    expect(reachOf(["admin"], "usersx:read")).toBeUndefined();
  });

  it("gives support exactly its listed permissions", () => {
    expect(reachOf(["support"], "users:read")).toBe("all");
    expect(reachOf(["support"], "orders:update")).toBe("all");
    expect(reachOf(["support"], "orders:cancel")).toBe("all");
    expect(reachOf(["support"], "users:update")).toBeUndefined();
    expect(reachOf(["support"], "orders:create")).toBeUndefined();
    expect(reachOf(["support"], "users:delete")).toBeUndefined();
  });

  it("gives a user only their own resources", () => {
    expect(reachOf(["user"], "users:read")).toBe("own");
    expect(reachOf(["user"], "users:update")).toBe("own");
    expect(reachOf(["user"], "orders:create")).toBe("own");
    expect(reachOf(["user"], "orders:read")).toBe("own");
    expect(reachOf(["user"], "orders:cancel")).toBe("own");
    expect(reachOf(["user"], "users:delete")).toBeUndefined();
    expect(reachOf(["user"], "orders:update")).toBeUndefined();
  });

  it("lets a service read users and nothing else", () => {
    expect(reachOf(["service"], "users:read")).toBe("all");
    expect(reachOf(["service"], "users:update")).toBeUndefined();
    expect(reachOf(["service"], "orders:read")).toBeUndefined();
  });

  it("takes the widest reach across roles, whatever their order", () => {
    expect(reachOf(["user", "support"], "orders:read")).toBe("all");
    expect(reachOf(["support", "user"], "orders:read")).toBe("all");
    expect(reachOf(["user", "support"], "orders:create")).toBe("own");
  });

  it("grants nothing for unknown roles, prototype names or no roles", () => {
    expect(reachOf([], "users:read")).toBeUndefined();
    expect(reachOf(["root", "ADMIN"], "users:read")).toBeUndefined();
    expect(reachOf(["constructor", "__proto__", "toString"], "users:read")).toBeUndefined();
  });

  it("fails closed on an empty or malformed permission", () => {
    expect(reachOf(["admin"], "")).toBeUndefined();
    expect(reachOf(["admin"], "users")).toBeUndefined();
    expect(reachOf(["admin"], "users:")).toBeUndefined();
    expect(reachOf(["admin"], ":read")).toBeUndefined();
  });

  it("matches the role table in docs/product.md#who-may-do-what", () => {
    expect(ROLE_PERMISSIONS).toEqual({
      admin: ["users:*", "orders:*"],
      support: ["users:read", "orders:read", "orders:update", "orders:cancel"],
      user: ["users:read:own", "users:update:own", "orders:create:own", "orders:read:own", "orders:cancel:own"],
      service: ["users:read"],
    });
  });
});
