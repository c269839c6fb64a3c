import { describe, expect, it } from "vitest";
import { DomainError } from "@orderly/kit/domain";
import type { User } from "./model.js";
import { applyUserMask, checkUserMask } from "./update-mask.js";

const current: User = {
  id: "usr_1",
  email: "old@example.com",
  profile: {
    firstName: "Old",
    lastName: "Name",
    avatarUrl: "https://old.example.com/a.png",
    preferences: { theme: "dark", lang: "en" },
  },
  createTime: new Date(0),
  updateTime: new Date(0),
  etag: "e0",
};
const patch = {
  email: "new@example.com",
  profile: {
    firstName: "New",
    lastName: "Person",
    avatarUrl: "https://new.example.com/b.png",
    preferences: { theme: "light" },
  },
};

function thrown(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError");
}

describe("applyUserMask", () => {
  it("changes only email", () => {
    expect(applyUserMask(current, patch, ["email"])).toEqual({ email: "new@example.com", profile: current.profile });
  });

  it("changes single profile fields and leaves the rest", () => {
    const result = applyUserMask(current, patch, ["profile.first_name", "profile.preferences"]);
    expect(result).toEqual({
      email: "old@example.com",
      profile: {
        firstName: "New",
        lastName: "Name",
        avatarUrl: "https://old.example.com/a.png",
        preferences: { theme: "light" },
      },
    });
  });

  it("replaces the whole profile for 'profile', clearing fields absent from the patch", () => {
    expect(applyUserMask(current, { profile: { lastName: "Only", firstName: undefined } }, ["profile"])).toEqual({
      email: "old@example.com",
      profile: { firstName: "", lastName: "Only", avatarUrl: "", preferences: {} },
    });
  });

  it("replaces email and profile for '*'", () => {
    expect(applyUserMask(current, patch, ["*"])).toEqual(patch);
    expect(applyUserMask(current, {}, ["*"])).toEqual({
      email: "",
      profile: { firstName: "", lastName: "", avatarUrl: "", preferences: {} },
    });
  });

  it("clears a masked field the patch leaves out", () => {
    expect(applyUserMask(current, {}, ["profile.avatar_url", "email"])).toEqual({
      email: "",
      profile: { ...current.profile, avatarUrl: "" },
    });
  });

  it("does not share preferences with the current user or the patch", () => {
    const kept = applyUserMask(current, patch, ["email"]);
    kept.profile.preferences["x"] = "y";
    const taken = applyUserMask(current, patch, ["profile.preferences"]);
    taken.profile.preferences["x"] = "y";
    expect(current.profile.preferences).toEqual({ theme: "dark", lang: "en" });
    expect(patch.profile.preferences).toEqual({ theme: "light" });
  });

  it("rejects an empty mask", () => {
    const error = thrown(() => applyUserMask(current, patch, []));
    expect(error).toMatchObject({ kind: "invalid_argument", reason: "INVALID_UPDATE_MASK" });
    expect(error.fieldViolations).toHaveLength(1);
    expect(error.fieldViolations[0]?.field).toBe("update_mask");
  });

  it("rejects unknown paths with one violation each, naming them", () => {
    const error = thrown(() => applyUserMask(current, patch, ["email", "id", "profile.nickname", "id", "create_time"]));
    expect(error).toMatchObject({
      kind: "invalid_argument",
      reason: "INVALID_UPDATE_MASK",
      metadata: { unknown_paths: "id,profile.nickname,create_time" },
    });
    expect(error.fieldViolations.map((v) => v.field)).toEqual(["update_mask", "update_mask", "update_mask"]);
    expect(error.fieldViolations.map((v) => v.description)).toEqual([
      expect.stringContaining('"id"'),
      expect.stringContaining('"profile.nickname"'),
      expect.stringContaining('"create_time"'),
    ]);
  });

  it("checkUserMask accepts every documented path", () => {
    expect(() =>
      checkUserMask([
        "*",
        "email",
        "profile",
        "profile.first_name",
        "profile.last_name",
        "profile.avatar_url",
        "profile.preferences",
      ]),
    ).not.toThrow();
    expect(() => checkUserMask(["Email"])).toThrow(DomainError);
  });
});
