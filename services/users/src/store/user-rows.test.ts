// The row mappings: a raw SQLite row (values in USER_COLUMNS order) must give the same user as the named row.
import { describe, expect, it } from "vitest";
import { USER_COLUMNS, userFromRow, userFromValues, type SqliteUserValues, type StoredUserRow } from "./user-rows.js";

describe("userFromValues", () => {
  it("reads USER_COLUMNS' values in order into the same user userFromRow makes", () => {
    const row: StoredUserRow = {
      id: "usr_1",
      email: "ada@example.com",
      first_name: "Ada",
      last_name: "Lovelace",
      avatar_url: "https://example.com/ada.png",
      preferences: '{"theme":"dark","__proto__":"kept"}',
      create_time: 1_700_000_000_123,
      update_time: 1_700_000_999_456,
      etag: "etag-1",
    };
    const values = USER_COLUMNS.map((column) => row[column]) as SqliteUserValues;
    const user = userFromValues(values);
    expect(user).toEqual(userFromRow(row));
    expect(user.createTime.getTime()).toBe(1_700_000_000_123);
    expect(Object.keys(user.profile.preferences)).toEqual(["theme", "__proto__"]);
  });
});
