import { describe, expect, it } from "vitest";
import { DomainError } from "./errors.js";
import { checkUpdateMask, requireId } from "./requests.js";

describe("requireId", () => {
  it("refuses an empty id with INVALID_ARGUMENT naming the field", () => {
    expect(catchError(() => requireId(""))).toMatchObject({ kind: "invalid_argument", reason: "INVALID_ARGUMENT" });
    expect(catchError(() => requireId("", "order_id")).fieldViolations).toEqual([
      { field: "order_id", description: "is required" },
    ]);
    expect(() => requireId("usr_1")).not.toThrow();
  });
});

describe("checkUpdateMask", () => {
  const allowed = ["*", "email", "profile.first_name"];

  it("accepts known paths", () => {
    expect(() => checkUpdateMask(["email", "profile.first_name"], allowed)).not.toThrow();
  });

  it("refuses an empty mask with INVALID_UPDATE_MASK", () => {
    const error = catchError(() => checkUpdateMask([], allowed));
    expect(error).toMatchObject({ kind: "invalid_argument", reason: "INVALID_UPDATE_MASK", metadata: {} });
    expect(error.fieldViolations[0]?.description).toContain("must name at least one path; allowed: *, email");
  });

  it("names every unknown path once, in a violation each and in metadata", () => {
    const error = catchError(() => checkUpdateMask(["email", "id", "etag", "id"], allowed));
    expect(error.reason).toBe("INVALID_UPDATE_MASK");
    expect(error.fieldViolations.map((v) => v.description)).toEqual([
      expect.stringContaining('unknown path "id"'),
      expect.stringContaining('unknown path "etag"'),
    ]);
    expect(error.metadata).toEqual({ unknown_paths: "id,etag" });
  });
});

function catchError(fn: () => void): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError");
}
