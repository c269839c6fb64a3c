// The Users domain's named failures, built on the kit's DomainError so the server maps them to gRPC in one place.
// Stores and the service both raise these, so the reason strings cannot drift between them.
import { DomainError, etagMismatch, notFound } from "@orderly/kit/domain";
import { USER_RESOURCE_TYPE, UserReason } from "./model.js";

/** NOT_FOUND for a user that is missing or that the caller may not see (the two must look the same). */
export function userNotFound(id: string): DomainError {
  return notFound(UserReason.USER_NOT_FOUND, USER_RESOURCE_TYPE, id);
}

/** ALREADY_EXISTS because another user holds this email. */
export function emailAlreadyExists(email: string, cause?: unknown): DomainError {
  return new DomainError("already_exists", UserReason.EMAIL_ALREADY_EXISTS, `a user with email ${JSON.stringify(email)} already exists`, {
    metadata: { email },
    cause,
  });
}

/** ABORTED because the caller's etag no longer matches the user's. */
export function userEtagMismatch(id: string): DomainError {
  return etagMismatch(USER_RESOURCE_TYPE, id);
}

/** ABORTED because concurrent writers kept winning; the retry hint tells clients backing off is enough. */
export function concurrentUpdate(id: string, attempts: number): DomainError {
  return new DomainError("aborted", UserReason.CONCURRENT_UPDATE, `user ${JSON.stringify(id)} changed concurrently ${attempts} times; try again`, {
    resource: { type: USER_RESOURCE_TYPE, name: id },
    metadata: { id, attempts: String(attempts) },
    retryAfterMs: 100,
  });
}

/** PERMISSION_DENIED for an owner-scoped caller asking for something no owner may do. */
export function ownerMayNot(action: string): DomainError {
  return new DomainError("permission_denied", UserReason.PERMISSION_DENIED, `an owner-scoped caller may not ${action}`, {
    metadata: { action },
  });
}
