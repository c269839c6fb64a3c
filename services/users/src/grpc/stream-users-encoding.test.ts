// The hand encoder of StreamUsers must write exactly the generated encoder's bytes, for every shape of user.
import { describe, expect, it } from "vitest";
import { StreamUsersResponse } from "@orderly/proto/orderly/user/v1/user_service";
import type { User } from "../domain/model.js";
import { encodeStreamUsers } from "./stream-users-encoding.js";
import { userToProto } from "./user-mapping.js";

function user(overrides: Partial<User> & { preferences?: Record<string, string> } = {}): User {
  const { preferences, ...rest } = overrides;
  return {
    id: "usr_00000001",
    email: "ada@example.com",
    profile: {
      firstName: "Ada",
      lastName: "Lovelace",
      avatarUrl: "https://example.com/ada.png",
      preferences: preferences ?? { theme: "dark", lang: "en" },
    },
    createTime: new Date(1_700_000_000_123),
    updateTime: new Date(1_700_000_999_000),
    etag: "W/1",
    ...rest,
  };
}

const generated = (u: User) => Buffer.from(StreamUsersResponse.encode({ user: userToProto(u) }).finish());

const shapes: [string, User][] = [
  ["an ordinary user", user()],
  ["multi-byte text everywhere", user({ email: "zoë@exämple.com", preferences: { ключ: "значение 🎉", e: "" } })],
  ["a lone surrogate (written as U+FFFD)", user({ preferences: { broken: "a\uD800b" } })],
  ["empty strings and no preferences", user({ id: "", email: "", etag: "", preferences: {} })],
  [
    "a profile of empty fields",
    { ...user(), profile: { firstName: "", lastName: "", avatarUrl: "", preferences: {} } },
  ],
  ["the epoch and whole seconds", user({ createTime: new Date(0), updateTime: new Date(1_000) })],
  ["only milliseconds", user({ createTime: new Date(7), updateTime: new Date(999) })],
  ["the year 9999", user({ createTime: new Date("9999-12-31T23:59:59.999Z") })],
  ["a long text (two-byte lengths)", user({ preferences: { bio: "x".repeat(300), long: "é".repeat(5_000) } })],
  ["a time before 1970 (the generated encoder's case)", user({ createTime: new Date(-1_234_567) })],
  ["an invalid time", user({ updateTime: new Date(Number.NaN) })],
];

describe("encodeStreamUsers", () => {
  for (const [name, u] of shapes.slice(0, -1)) {
    it(`writes the generated encoder's bytes for ${name}`, () => {
      const [encoded] = encodeStreamUsers([u]);
      expect(encoded!.bytes.equals(generated(u))).toBe(true);
    });
  }

  it("falls back to the generated encoder for what it does not cover, and still fails where it fails", () => {
    expect(() => encodeStreamUsers([shapes.at(-1)![1]])).toThrow();
  });

  it("encodes a batch into one buffer, each message a view in order, mixed with fall-backs", () => {
    const batch = shapes.slice(0, -1).map(([, u]) => u);
    const encoded = encodeStreamUsers(batch);
    expect(encoded.map((e) => e.bytes.toString("hex"))).toEqual(batch.map((u) => generated(u).toString("hex")));
    expect(encoded[0]!.bytes.buffer).toBe(encoded[1]!.bytes.buffer);
    expect(StreamUsersResponse.decode(encoded[1]!.bytes).user?.email).toBe("zoë@exämple.com");
  });
});
