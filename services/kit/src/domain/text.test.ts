import { describe, expect, it } from "vitest";
import { codePointLength, controlCharacterViolations } from "./text.js";

describe("text rules", () => {
  it("counts code points, not UTF-16 units", () => {
    expect(codePointLength("naïve 🎉")).toBe(7);
  });

  it("rejects NUL and other control characters in plain fields", () => {
    for (const bad of ["a\u0000b", "tab\there", "line\nbreak", "del\u007f"]) {
      expect(controlCharacterViolations("f", bad)).toEqual([
        { field: "f", description: "must not contain control characters" },
      ]);
    }
    expect(controlCharacterViolations("f", "Zoë O'Brien-Smith 🎉")).toEqual([]);
  });

  it("allows tab and line breaks in free text, but never NUL", () => {
    expect(controlCharacterViolations("f", "line one\nline two\r\n\tindented", { freeText: true })).toEqual([]);
    expect(controlCharacterViolations("f", "nul\u0000", { freeText: true })).toHaveLength(1);
  });
});
