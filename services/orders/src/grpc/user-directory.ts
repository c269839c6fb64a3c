// The UserDirectory port over gRPC: CreateOrder asks UserService whether a user exists, never its tables. The call
// inherits the incoming call's remaining deadline and cancellation through the client's call scope. UserService
// down or slow becomes UNAVAILABLE (with RetryInfo) or DEADLINE_EXCEEDED for our caller; anything else it answers
// is our own misconfiguration (e.g. a rejected service token), so it is logged as INTERNAL, not relayed.
import { Code, OrderlyError, type UserClient } from "@orderly/clients";
import { DomainError } from "@orderly/kit/domain";
import type { UserDirectory } from "../domain/user-directory.js";

/** A UserDirectory that calls UserService.GetUser. */
export function grpcUserDirectory(users: UserClient): UserDirectory {
  return {
    async exists(userId, signal) {
      try {
        await users.get(userId, signal ? { signal } : {});
        return true;
      } catch (error) {
        const failure = OrderlyError.from(error);
        switch (failure.code) {
          case Code.NOT_FOUND:
            return false;
          case Code.UNAVAILABLE:
            throw new DomainError("unavailable", "USER_SERVICE_UNAVAILABLE", "UserService is unavailable; retry later", {
              retryAfterMs: 1_000,
              cause: failure,
            });
          case Code.DEADLINE_EXCEEDED:
            throw new DomainError("deadline_exceeded", "DEADLINE_EXCEEDED", "the deadline passed while checking the user", { cause: failure });
          case Code.CANCELLED:
            throw new DomainError("cancelled", "CANCELLED", "the caller cancelled the call", { cause: failure });
          default:
            throw new Error(`UserService answered ${failure.codeName} (${failure.reason}): ${failure.message}`, { cause: failure });
        }
      }
    },
  };
}
