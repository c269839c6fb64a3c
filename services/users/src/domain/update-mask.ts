// AIP-134 update masks for users: only the named paths change. A path named in the mask but absent from the patch
// means "set to the empty value", as in proto3, so clearing a field and setting it are the same operation.
import { checkUpdateMask } from "@orderly/kit/domain";
import { copyProfile, emptyProfile, type Profile, type User, type UserPatch } from "./model.js";

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

/** Throws INVALID_ARGUMENT (reason INVALID_UPDATE_MASK) for an empty mask or any unknown path; checks nothing else. */
export function checkUserMask(paths: readonly string[]): asserts paths is readonly UserMaskPath[] {
  checkUpdateMask(paths, USER_MASK_PATHS);
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
  const entries: [string, unknown][] = Object.entries(partial);
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}
