// The ErrorInfo reasons the kit's domain helpers produce, shared by every service. Each service's own list (UserReason,
// OrderReason, in its <entity>-errors.ts) spreads these in, so one list per service names every reason it can send.

/** Reasons any Orderly service may send, with the helper that makes each. */
export const DomainReason = {
  /** One or more request fields broke a rule; the field violations say which (invalidArgument, requireId). */
  INVALID_ARGUMENT: "INVALID_ARGUMENT",
  /** The update_mask was empty or named a path that cannot be updated (checkUpdateMask). */
  INVALID_UPDATE_MASK: "INVALID_UPDATE_MASK",
  /** The caller's etag is stale: someone changed the resource since the caller read it (etagMismatch). */
  ETAG_MISMATCH: "ETAG_MISMATCH",
  /** A write without an etag lost every retry to concurrent writers; retrying later is safe (writeWithRetries). */
  CONCURRENT_UPDATE: "CONCURRENT_UPDATE",
  /** An owner-scoped caller asked for something no owner may do (ownerMayNot). */
  PERMISSION_DENIED: "PERMISSION_DENIED",
} as const;
