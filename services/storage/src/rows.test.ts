// The engine-neutral pieces every store's row mapping and statements are built from.
import { describe, expect, it } from "vitest";
import { positionalAssignments, positionalValues } from "./postgres.js";
import { bigintOf, dateOf } from "./rows.js";
import { namedAssignments, namedValues, sqliteValues } from "./sqlite.js";

describe("reading columns from either driver", () => {
  it("reads a timestamp from a Date, epoch ms or a bigint of epoch ms", () => {
    const at = new Date(1_700_000_000_123);
    expect(dateOf(at)).toBe(at);
    expect(dateOf(1_700_000_000_123)).toEqual(at);
    expect(dateOf(1_700_000_000_123n)).toEqual(at);
  });

  it("reads int8 exactly from bigint or decimal text, beyond 2^53", () => {
    expect(bigintOf(9_007_199_254_740_993n)).toBe(9_007_199_254_740_993n);
    expect(bigintOf("9007199254740993")).toBe(9_007_199_254_740_993n);
  });
});

describe("statement pieces", () => {
  it("binds a row for SQLite with its Dates as epoch milliseconds and everything else untouched", () => {
    const row = { id: "x", total: 5n, at: new Date(42), note: null };
    expect(sqliteValues(row)).toEqual({ id: "x", total: 5n, at: 42, note: null });
  });

  it("names SQLite parameters after their columns", () => {
    expect(namedValues(["id", "email"])).toBe("@id, @email");
    expect(namedAssignments(["email", "etag"])).toBe("email = @email, etag = @etag");
  });

  it("numbers PostgreSQL parameters from where the caller's own ones end", () => {
    expect(positionalValues(3)).toBe("$1, $2, $3");
    expect(positionalValues(2, 4)).toBe("$4, $5");
    expect(positionalAssignments(["email", "etag"], 3)).toBe("email = $3, etag = $4");
  });
});
