// Rules every text field shares. Control characters have no place in names, addresses or ids, and NUL cannot even be
// stored in PostgreSQL text (it would surface as an INTERNAL error instead of a clear INVALID_ARGUMENT).
import type { FieldViolation } from "./errors.js";

/** The length a person would count: code points, so an emoji is one character rather than two UTF-16 units. */
export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTROL_EXCEPT_LINE_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** One violation if `value` holds control characters (tab and line breaks allowed only for free text). */
export function controlCharacterViolations(
  field: string,
  value: string,
  options: { freeText?: boolean } = {},
): FieldViolation[] {
  const pattern = options.freeText ? CONTROL_EXCEPT_LINE_BREAKS : CONTROL;
  return pattern.test(value)
    ? [
        {
          field,
          description: `must not contain control characters${options.freeText ? " (other than tab and line breaks)" : ""}`,
        },
      ]
    : [];
}
