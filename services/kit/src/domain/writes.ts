// Optimistic concurrency (AIP-154), the same for every resource: a fresh opaque etag on every write, and one loop for
// compare-and-set writes that lost a race.
import { DomainError, etagMismatch } from "./errors.js";
import { DomainReason } from "./reasons.js";

/** How many times a write without an etag re-reads and retries after losing to a concurrent writer. */
export const UPDATE_RETRIES = 3;

/** A new etag. Random rather than a counter or hash: clients must treat etags as opaque, and this keeps them honest. */
export function newEtag(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** ABORTED because concurrent writers kept winning; the retry hint tells clients that backing off is enough. */
export function concurrentUpdate(resourceType: string, id: string, attempts: number): DomainError {
  const message = `${resourceType} ${JSON.stringify(id)} changed concurrently ${attempts} times; try again`;
  return new DomainError("aborted", DomainReason.CONCURRENT_UPDATE, message, {
    resource: { type: resourceType, name: id },
    metadata: { id, attempts: String(attempts) },
    retryAfterMs: 100,
  });
}

/** The resource a compare-and-set write changes, and the etag its caller sent (undefined: last writer wins). */
export interface WriteTarget {
  resourceType: string;
  id: string;
  etag: string | undefined;
}

/**
 * Runs a compare-and-set write. `attempt` reads fresh state, decides (and throws for a stale etag or a broken rule),
 * then writes once, resolving to the result or to undefined when another writer changed the resource first. With an
 * etag a lost race is final: ABORTED (ETAG_MISMATCH). Without one it is retried on fresh data up to UPDATE_RETRIES
 * times, then ABORTED (CONCURRENT_UPDATE).
 */
export async function writeWithRetries<T>(target: WriteTarget, attempt: () => Promise<T | undefined>): Promise<T> {
  for (let tries = 0; tries <= UPDATE_RETRIES; tries++) {
    const written = await attempt();
    if (written !== undefined) return written;
    if (target.etag !== undefined) throw etagMismatch(target.resourceType, target.id);
  }
  throw concurrentUpdate(target.resourceType, target.id, UPDATE_RETRIES + 1);
}
