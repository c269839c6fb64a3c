import { describe, expect, it } from "vitest";
import { normalizeEmail, type NewUser, type Profile } from "./model.js";
import { codePointLength } from "@orderly/kit/domain";
import { validateNewUser, validateProfile } from "./validation.js";

const okProfile: Profile = {
  firstName: "Ada",
  lastName: "Lovelace",
  avatarUrl: "https://img.example.com/a.png",
  preferences: { theme: "dark" },
};
const ok: NewUser = { email: "ada@example.com", profile: okProfile };

function fields(violations: { field: string }[]): string[] {
  return violations.map((v) => v.field);
}

describe("validateNewUser", () => {
  it("accepts a valid user", () => {
    expect(validateNewUser(ok)).toEqual([]);
    expect(
      validateNewUser({
        email: "a.b+tag@mail.example.co.uk",
        profile: { firstName: "", lastName: "", avatarUrl: "", preferences: {} },
      }),
    ).toEqual([]);
  });

  it.each([
    "",
    "plain",
    "a@b",
    "@example.com",
    "a@.com",
    "a@b..com",
    "a b@example.com",
    "a@@example.com",
    "a@example.c",
    "a@example.com.",
  ])("rejects the email %j", (email) => {
    const violations = validateNewUser({ ...ok, email });
    expect(fields(violations)).toEqual(["user.email"]);
  });

  it("rejects an email longer than 254 characters without running the pattern", () => {
    const violations = validateNewUser({ ...ok, email: `${"a".repeat(250)}@example.com` });
    expect(violations).toEqual([{ field: "user.email", description: expect.stringContaining("at most 254") }]);
  });

  it("uses the given prefix", () => {
    expect(
      fields(validateNewUser({ email: "bad", profile: { ...okProfile, firstName: "x".repeat(101) } }, "payload")),
    ).toEqual(["payload.email", "payload.profile.first_name"]);
  });

  it("reports every broken rule at once, one violation each", () => {
    const preferences: Record<string, string> = Object.fromEntries(
      Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]),
    );
    preferences[""] = "empty key";
    preferences["k".repeat(65)] = "long key";
    preferences["big"] = "v".repeat(1025);
    const violations = validateNewUser({
      email: "not-an-email",
      profile: {
        firstName: "f".repeat(101),
        lastName: "l".repeat(101),
        avatarUrl: "ftp://example.com/a.png",
        preferences,
      },
    });
    expect(fields(violations)).toEqual([
      "user.email",
      "user.profile.first_name",
      "user.profile.last_name",
      "user.profile.avatar_url",
      "user.profile.preferences",
      "user.profile.preferences",
      "user.profile.preferences",
      "user.profile.preferences",
    ]);
    const descriptions = violations.map((v) => v.description);
    expect(descriptions).toContain("must have at most 50 entries, got 54");
    expect(descriptions.some((d) => d.includes('key ""'))).toBe(true);
    expect(descriptions.some((d) => d.includes(`key "${"k".repeat(64)}"…`))).toBe(true);
    expect(descriptions.some((d) => d.includes('value of key "big"'))).toBe(true);
  });
});

describe("validateProfile", () => {
  it("allows names of exactly 100 code points, counting emoji as one", () => {
    const hundredEmoji = "😀".repeat(100); // 200 UTF-16 units
    expect(validateProfile({ ...okProfile, firstName: hundredEmoji, lastName: "é".repeat(100) })).toEqual([]);
    expect(fields(validateProfile({ ...okProfile, firstName: `${hundredEmoji}x` }))).toEqual([
      "user.profile.first_name",
    ]);
  });

  it.each(["http://example.com/a.png", "https://example.com", ""])("accepts the avatar_url %j", (avatarUrl) => {
    expect(validateProfile({ ...okProfile, avatarUrl })).toEqual([]);
  });

  it.each([
    "example.com/a.png",
    "javascript:alert(1)",
    "ftp://example.com/a",
    "https://",
    "data:image/png;base64,AAAA",
  ])("rejects the avatar_url %j", (avatarUrl) => {
    expect(validateProfile({ ...okProfile, avatarUrl })).toEqual([
      { field: "user.profile.avatar_url", description: "must be empty or an http(s) URL" },
    ]);
  });

  it("allows 50 preferences with 64-character keys and 1024-character values", () => {
    const preferences = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`${i}`.padEnd(64, "k"), "v".repeat(1024)]),
    );
    expect(validateProfile({ ...okProfile, preferences })).toEqual([]);
  });

  it("counts preference keys and values in code points", () => {
    expect(validateProfile({ ...okProfile, preferences: { ["😀".repeat(64)]: "😀".repeat(1024) } })).toEqual([]);
    expect(validateProfile({ ...okProfile, preferences: { ["😀".repeat(65)]: "v" } })).toHaveLength(1);
  });
});

describe("helpers", () => {
  it("normalizeEmail trims and lower-cases", () => {
    expect(normalizeEmail("  Ada@Example.COM \n")).toBe("ada@example.com");
  });

  it("codePointLength counts code points, not UTF-16 units", () => {
    expect(codePointLength("a😀é")).toBe(3);
    expect("a😀é".length).toBe(4);
  });
});
