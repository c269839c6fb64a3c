// AIP-134 update masks for users: only the named paths change. A path named in the mask but absent from the patch
// means "set to the empty value", as in proto3, so clearing a field and setting it are the same operation.
import { DomainError, type FieldViolation } from "@orderly/kit/domain";
import { copyProfile, emptyProfile, UserReason, type Profile, type User, type UserPatch } from "./model.js";

/** Every path UpdateUser accepts; "*" replaces all mutable fields (email and profile). */
export const USER_MASK_PATHS = [
  "*",
  "email",
  "profile",
  "profile.first_name",
  "profile.last_name",
  "profile.avatar_url",
  "profile.preferences",
] as const;

/** One of the accepted update-mask paths. */
export type UserMaskPath = (typeof USER_MASK_PATHS)[number];

/** The mutable fields of a user after a mask is applied. */
export interface MaskedUser {
  email: string;
  profile: Profile;
}

const KNOWN_PATHS: ReadonlySet<string> = new Set(USER_MASK_PATHS);

/** Throws INVALID_ARGUMENT (reason INVALID_UPDATE_MASK) for an empty mask or any unknown path; checks nothing else. */
export function checkUserMask(paths: readonly string[]): asserts paths is readonly UserMaskPath[] {
  // An empty mask would mean "replace everything" in some APIs; being explicit avoids wiping a user by accident.
  if (paths.length === 0) {
    throw maskError([{ field: "update_mask", description: `must name at least one path; allowed: ${USER_MASK_PATHS.join(", ")}` }], []);
  }
  const unknown = [...new Set(paths.filter((path) => !KNOWN_PATHS.has(path)))];
  if (unknown.length > 0) {
    const violations = unknown.map((path) => ({
      field: "update_mask",
      description: `unknown path ${JSON.stringify(path)}; allowed: ${USER_MASK_PATHS.join(", ")}`,
    }));
    throw maskError(violations, unknown);
  }
}

/** The user's mutable fields after copying the masked paths from `patch`; pure, and throws only for a bad mask. */
export function applyUserMask(current: User, patch: UserPatch, paths: readonly string[]): MaskedUser {
  checkUserMask(paths);
  const mask = new Set<UserMaskPath>(paths);
  const everything = mask.has("*");
  const wholeProfile = everything || mask.has("profile");
  const from = patch.profile ?? {};
  const profile = wholeProfile ? { ...emptyProfile(), ...definedOnly(from) } : copyProfile(current.profile);
  if (!wholeProfile) {
    if (mask.has("profile.first_name")) profile.firstName = from.firstName ?? "";
    if (mask.has("profile.last_name")) profile.lastName = from.lastName ?? "";
    if (mask.has("profile.avatar_url")) profile.avatarUrl = from.avatarUrl ?? "";
    if (mask.has("profile.preferences")) profile.preferences = from.preferences ?? {};
  }
  // The patch belongs to the caller: copy the map so later mutation of the request cannot reach the result.
  profile.preferences = Object.fromEntries(Object.entries(profile.preferences));
  return {
    email: everything || mask.has("email") ? (patch.email ?? "") : current.email,
    profile,
  };
}

// `{ ...a, ...b }` copies explicit undefineds too; drop them so an absent field falls back to the empty value.
function definedOnly(partial: Partial<Profile>): Partial<Profile> {
  return Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined)) as Partial<Profile>;
}

function maskError(violations: FieldViolation[], unknownPaths: string[]): DomainError {
  const summary = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return new DomainError("invalid_argument", UserReason.INVALID_UPDATE_MASK, `invalid update_mask: ${summary}`, {
    fieldViolations: violations,
    metadata: unknownPaths.length > 0 ? { unknown_paths: unknownPaths.join(",") } : {},
  });
}
