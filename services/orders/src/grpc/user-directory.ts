// The UserDirectory port over gRPC: CreateOrder asks UserService whether a user exists, never its tables.
//
// Checks are coalesced: the exists() calls made during one event-loop turn become one GetUser (one distinct id) or
// one BatchGetUsers (several; if one is missing, each id is then asked alone). That shared call runs outside any one
// caller's call scope, so one caller's cancellation cannot fail the others; it gets the latest of their deadlines,
// and each caller still stops at its own deadline or cancellation.
//
// UserService down or slow becomes UNAVAILABLE (with RetryInfo) or DEADLINE_EXCEEDED for our caller; anything else it
// answers is our own misconfiguration (e.g. a rejected service token), so it is logged as INTERNAL, not relayed.
import { Code, OrderlyError, outsideCallScope, type UserClient } from "@orderly/clients";
import { DomainError } from "@orderly/kit/domain";
import type { UserDirectory } from "../domain/user-directory.js";

/** At most this many ids per BatchGetUsers (the contract's limit). */
export const MAX_IDS_PER_CHECK = 100;

interface Waiter {
  resolve(exists: boolean): void;
  reject(error: unknown): void;
  deadline: Date | undefined;
}

/** A UserDirectory that asks UserService, coalescing concurrent checks. */
export function grpcUserDirectory(users: UserClient): UserDirectory {
  let pending = new Map<string, Waiter[]>();

  function flush(): void {
    const batch = pending;
    pending = new Map();
    const ids = [...batch.keys()];
    for (let i = 0; i < ids.length; i += MAX_IDS_PER_CHECK) {
      const chunk = ids.slice(i, i + MAX_IDS_PER_CHECK);
      const waitersOf = (id: string): Waiter[] => batch.get(id) ?? [];
      const waiters = chunk.flatMap(waitersOf);
      // No deadline from a caller that set none means the client's default; otherwise the latest caller's.
      const deadlines = waiters.map((w) => w.deadline?.getTime());
      const latest = deadlines.every((ms) => ms !== undefined) ? new Date(Math.max(...deadlines)) : undefined;
      void outsideCallScope(() => check(chunk, latest)).then(
        (found) => {
          for (const id of chunk) {
            const answer = found.get(id);
            for (const w of waitersOf(id)) {
              if (answer instanceof Error) w.reject(answer);
              else w.resolve(answer === true);
            }
          }
        },
        (error: unknown) => {
          for (const w of waiters) w.reject(error);
        },
      );
    }
  }

  // true/false per id, or the (mapped) error of that id's lookup.
  async function check(ids: string[], deadline: Date | undefined): Promise<Map<string, boolean | Error>> {
    const options = deadline ? { deadline } : {};
    if (ids.length > 1) {
      try {
        await users.batchGet(ids, options);
        return new Map(ids.map((id) => [id, true]));
      } catch (error) {
        if (OrderlyError.from(error).code !== Code.NOT_FOUND) throw mapFailure(error);
      }
    }
    const lookup = (id: string) =>
      users.get(id, options).then(
        () => true,
        (error: unknown) => notFoundOr(error),
      );
    return new Map(await Promise.all(ids.map(async (id) => [id, await lookup(id)] as const)));
  }

  return {
    exists(userId, signal, deadline) {
      return new Promise<boolean>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
        const waiters = pending.get(userId) ?? [];
        if (pending.size === 0) setImmediate(flush);
        pending.set(userId, waiters);
        waiters.push({ resolve, reject, deadline });
      });
    },
  };
}

function notFoundOr(error: unknown): false | Error {
  return OrderlyError.from(error).code === Code.NOT_FOUND ? false : mapFailure(error);
}

function mapFailure(error: unknown): Error {
  const failure = OrderlyError.from(error);
  switch (failure.code) {
    case Code.UNAVAILABLE:
      return new DomainError("unavailable", "USER_SERVICE_UNAVAILABLE", "UserService is unavailable; retry later", {
        retryAfterMs: 1_000,
        cause: failure,
      });
    case Code.DEADLINE_EXCEEDED:
      return new DomainError("deadline_exceeded", "DEADLINE_EXCEEDED", "the deadline passed while checking the user", {
        cause: failure,
      });
    case Code.CANCELLED:
      return new DomainError("cancelled", "CANCELLED", "the check of the user was cancelled", { cause: failure });
    default:
      return new Error(`UserService answered ${failure.codeName} (${failure.reason}): ${failure.message}`, {
        cause: failure,
      });
  }
}
