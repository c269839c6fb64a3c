// proto <-> domain for users. Only translation lives here: no rules, no storage.
import type { Profile as ProtoProfile, User as ProtoUser } from "@orderly/proto/orderly/user/v1/user";
import type { UserFilter as ProtoUserFilter } from "@orderly/proto/orderly/user/v1/user_service";
import type { NewUser, Profile, User, UserFilter, UserPatch } from "../domain/model.js";

/** A domain user as the wire message. */
export function userToProto(user: User): ProtoUser {
  return {
    id: user.id,
    email: user.email,
    // The domain's Profile has the wire shape, and every read hands out fresh objects: no copy needed.
    profile: user.profile,
    createTime: user.createTime,
    updateTime: user.updateTime,
    etag: user.etag,
  };
}

/** The create-time fields of a wire user (server-made fields are ignored). */
export function newUserFromProto(user: ProtoUser | undefined): NewUser {
  return { email: user?.email ?? "", profile: profileFromProto(user?.profile) };
}

/** The fields of a wire user an update mask may name. */
export function patchFromProto(user: ProtoUser | undefined): UserPatch {
  return { email: user?.email ?? "", profile: profileFromProto(user?.profile) };
}

/** A wire filter as the domain's; empty strings mean "no filter". */
export function filterFromProto(filter: ProtoUserFilter | undefined): UserFilter {
  return filter?.emailContains ? { emailContains: filter.emailContains } : {};
}

function profileFromProto(profile: ProtoProfile | undefined): Profile {
  return {
    firstName: profile?.firstName ?? "",
    lastName: profile?.lastName ?? "",
    avatarUrl: profile?.avatarUrl ?? "",
    preferences: { ...(profile?.preferences ?? {}) },
  };
}
