// The Users domain's named failures and the list of every reason it sends, built on the kit's DomainError so the
// server maps them to gRPC in one place. Stores and the service both raise these, so the reason strings cannot drift.
import { DomainError, DomainReason, etagMismatch, notFound } from "@orderly/kit/domain";
import { USER_RESOURCE_TYPE } from "./model.js";

/** The stable, documented ErrorInfo reasons the Users domain produces (docs/product.md, "Errors"). */
export const UserReason = {
  ...DomainReason,
  /** The user does not exist, or the caller may not know that it does. */
  USER_NOT_FOUND: "USER_NOT_FOUND",
  /** Another user already has this email (compared case-insensitively). */
  EMAIL_ALREADY_EXISTS: "EMAIL_ALREADY_EXISTS",
} as const;

/** One of the reason strings in UserReason. */
export type UserReason = (typeof UserReason)[keyof typeof UserReason];

/** NOT_FOUND for a user that is missing or that the caller may not see (the two must look the same). */
export function userNotFound(id: string): DomainError {
  return notFound(UserReason.USER_NOT_FOUND, USER_RESOURCE_TYPE, id);
}

/** ALREADY_EXISTS because another user holds this email. */
export function emailAlreadyExists(email: string, cause?: unknown): DomainError {
  const message = `a user with email ${JSON.stringify(email)} already exists`;
  return new DomainError("already_exists", UserReason.EMAIL_ALREADY_EXISTS, message, { metadata: { email }, cause });
}

/** ABORTED because the caller's etag no longer matches the user's. */
export function userEtagMismatch(id: string): DomainError {
  return etagMismatch(USER_RESOURCE_TYPE, id);
}
