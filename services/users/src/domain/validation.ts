// The rules a user's fields must satisfy. Each returns every violation it finds, one per broken rule, so a client can
// fix a form in one round trip. Field paths use the proto's snake_case names because clients see them in BadRequest.
import { codePointLength, controlCharacterViolations, type FieldViolation } from "@orderly/kit/domain";
import type { NewUser, Profile } from "./model.js";

/** The limits of docs/product.md#users; the email cap is RFC 5321's 254, the avatar_url one our own bound. */
export const UserLimits = {
  emailMaxChars: 254,
  nameMaxChars: 100,
  avatarUrlMaxChars: 2048,
  preferencesMaxEntries: 50,
  preferenceKeyMaxChars: 64,
  preferenceValueMaxChars: 1024,
} as const;

// local@domain.tld: no spaces, exactly one "@", non-empty dot-separated domain labels and a TLD of 2+ characters.
const EMAIL_SHAPE = /^[^\s@]+@(?:[^\s@.]+\.)+[^\s@.]{2,}$/u;

/**
 * Violations of a new (or updated) user's fields under `prefix`, e.g. "user.email".
 * Expects the email already normalised (see normalizeEmail); it does not trim for the caller.
 */
export function validateNewUser(input: NewUser, prefix = "user"): FieldViolation[] {
  return [...validateEmail(input.email, `${prefix}.email`), ...validateProfile(input.profile, `${prefix}.profile`)];
}

/** Violations of an email under the given field path. */
export function validateEmail(email: string, field = "user.email"): FieldViolation[] {
  if (email === "") return [{ field, description: "is required" }];
  const length = codePointLength(email);
  // Checked before the pattern so a huge input never reaches the regular expression.
  if (length > UserLimits.emailMaxChars) {
    return [{ field, description: `must be at most ${UserLimits.emailMaxChars} characters, got ${length}` }];
  }
  if (!EMAIL_SHAPE.test(email) || controlCharacterViolations(field, email).length > 0) {
    return [{ field, description: "must look like local@domain.tld" }];
  }
  return [];
}

/** Violations of a profile under `prefix`, e.g. "user.profile.first_name". */
export function validateProfile(profile: Profile, prefix = "user.profile"): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const maxLength = (field: string, value: string, max: number) => {
    const length = codePointLength(value);
    if (length > max)
      violations.push({ field: `${prefix}.${field}`, description: `must be at most ${max} characters, got ${length}` });
    violations.push(...controlCharacterViolations(`${prefix}.${field}`, value));
  };
  maxLength("first_name", profile.firstName, UserLimits.nameMaxChars);
  maxLength("last_name", profile.lastName, UserLimits.nameMaxChars);
  maxLength("avatar_url", profile.avatarUrl, UserLimits.avatarUrlMaxChars);
  if (
    profile.avatarUrl !== "" &&
    codePointLength(profile.avatarUrl) <= UserLimits.avatarUrlMaxChars &&
    !isHttpUrl(profile.avatarUrl)
  ) {
    violations.push({ field: `${prefix}.avatar_url`, description: "must be empty or an http(s) URL" });
  }
  violations.push(...validatePreferences(profile.preferences, `${prefix}.preferences`));
  return violations;
}

/** Violations of a preferences map: entry count, then each bad key and each oversized value, naming the key. */
export function validatePreferences(
  preferences: Record<string, string>,
  field = "user.profile.preferences",
): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const entries = Object.entries(preferences);
  if (entries.length > UserLimits.preferencesMaxEntries) {
    violations.push({
      field,
      description: `must have at most ${UserLimits.preferencesMaxEntries} entries, got ${entries.length}`,
    });
  }
  for (const [key, value] of entries) {
    const keyLength = codePointLength(key);
    if (keyLength < 1 || keyLength > UserLimits.preferenceKeyMaxChars) {
      violations.push({
        field,
        description: `key ${quote(key)} must be 1 to ${UserLimits.preferenceKeyMaxChars} characters, got ${keyLength}`,
      });
    }
    if (controlCharacterViolations(field, key).length > 0) {
      violations.push({ field, description: `key ${quote(key)} must not contain control characters` });
    }
    if (controlCharacterViolations(field, value, { freeText: true }).length > 0) {
      violations.push({
        field,
        description: `value of key ${quote(key)} must not contain control characters other than tab and line breaks`,
      });
    }
    const valueLength = codePointLength(value);
    if (valueLength > UserLimits.preferenceValueMaxChars) {
      violations.push({
        field,
        description: `value of key ${quote(key)} must be at most ${UserLimits.preferenceValueMaxChars} characters, got ${valueLength}`,
      });
    }
  }
  return violations;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

// Keys are caller data: cap what we echo back so an oversized key cannot blow up the error message.
function quote(key: string): string {
  let shown = "";
  let count = 0;
  for (const char of key) {
    if (count++ === UserLimits.preferenceKeyMaxChars) return `${JSON.stringify(shown)}…`;
    shown += char;
  }
  return JSON.stringify(shown);
}
