// The Users domain's vocabulary: plain data, no behaviour, no gRPC. The handler maps proto messages to these types and
// back, so snake_case exists only in field paths (the names a client sees in errors), never in these shapes.

/** The fully qualified proto type of a user, used in ResourceInfo and error messages. */
export const USER_RESOURCE_TYPE = "orderly.user.v1.User";

/** Every prefix a user id carries; ids are "usr_" + a monotonic ULID so they sort by creation time. */
export const USER_ID_PREFIX = "usr_";

/** The part of a user its owner controls. */
export interface Profile {
  firstName: string;
  lastName: string;
  /** Empty, or an http(s) URL. */
  avatarUrl: string;
  /** Free-form client settings; bounded in count and size by validation. */
  preferences: Record<string, string>;
}

/** A stored user, as the domain hands it out. */
export interface User {
  /** "usr_" + ULID; server-made and immutable. */
  id: string;
  /** Trimmed and lower-cased; unique across users. */
  email: string;
  profile: Profile;
  createTime: Date;
  updateTime: Date;
  /** Opaque; changes on every write so clients can do compare-and-set (AIP-154). */
  etag: string;
}

/** What a caller supplies to create a user; everything else is server-made. */
export interface NewUser {
  email: string;
  profile: Profile;
}

/** A partial user for UpdateUser; only the fields named by the update mask are read. */
export interface UserPatch {
  email?: string;
  profile?: Partial<Profile>;
}

/** Restricts List/Stream results; an absent or empty field matches everything. */
export interface UserFilter {
  /** Case-insensitive substring of the email. */
  emailContains?: string;
}

/** A profile with every field empty: what a masked-but-absent profile means (AIP-134). */
export function emptyProfile(): Profile {
  return { firstName: "", lastName: "", avatarUrl: "", preferences: {} };
}

/** A deep copy, so a caller mutating what it passed in or got back cannot change stored state by accident. */
export function copyProfile(profile: Profile): Profile {
  return {
    firstName: profile.firstName,
    lastName: profile.lastName,
    avatarUrl: profile.avatarUrl,
    // fromEntries defines own properties, so a "__proto__" key stays data instead of becoming a prototype.
    preferences: Object.fromEntries(Object.entries(profile.preferences)),
  };
}

/** The canonical form of an email: uniqueness and lookups compare this form only. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
