// Domain errors: what went wrong, as data. This file knows nothing of gRPC; the server kit maps each kind to a status
// code in exactly one place (../errors.ts).
import { DomainReason } from "./reasons.js";

/** The broad class of a domain failure; the kit maps each to one gRPC status code. */
export type ErrorKind =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "aborted"
  | "out_of_range"
  | "permission_denied"
  | "unauthenticated"
  | "resource_exhausted"
  | "unavailable"
  | "deadline_exceeded"
  | "cancelled";

/** One broken rule of a request field, e.g. { field: "user.email", description: "must look like local@domain.tld" }. */
export interface FieldViolation {
  field: string;
  description: string;
}

/** One failed precondition, e.g. { type: "STATE", subject: "ord_...", description: "order is SHIPPED" }. */
export interface PreconditionViolation {
  type: string;
  subject: string;
  description: string;
}

/** The resource an error is about. */
export interface ResourceRef {
  type: string;
  name: string;
  owner?: string;
}

/** Optional parts of a DomainError. */
export interface DomainErrorOptions {
  metadata?: Record<string, string>;
  fieldViolations?: FieldViolation[];
  preconditionViolations?: PreconditionViolation[];
  resource?: ResourceRef;
  /** Set when the caller may retry the same request after this long. */
  retryAfterMs?: number;
  cause?: unknown;
}

/** A failure the domain expects and names: a kind, a stable UPPER_SNAKE_CASE reason and structured details. */
export class DomainError extends Error {
  override readonly name = "DomainError";
  readonly metadata: Record<string, string>;
  readonly fieldViolations: FieldViolation[];
  readonly preconditionViolations: PreconditionViolation[];
  readonly resource: ResourceRef | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly kind: ErrorKind,
    readonly reason: string,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.metadata = options.metadata ?? {};
    this.fieldViolations = options.fieldViolations ?? [];
    this.preconditionViolations = options.preconditionViolations ?? [];
    this.resource = options.resource;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** INVALID_ARGUMENT with every violation found (reason INVALID_ARGUMENT unless given). */
export function invalidArgument(
  violations: FieldViolation[],
  reason: string = DomainReason.INVALID_ARGUMENT,
): DomainError {
  const summary = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return new DomainError("invalid_argument", reason, `invalid request: ${summary}`, { fieldViolations: violations });
}

/** NOT_FOUND for one resource, e.g. notFound("USER_NOT_FOUND", "orderly.user.v1.User", id). */
export function notFound(reason: string, resourceType: string, id: string): DomainError {
  return new DomainError("not_found", reason, `${resourceType} ${JSON.stringify(id)} not found`, {
    resource: { type: resourceType, name: id },
    metadata: { id },
  });
}

/** ABORTED because the caller's etag is stale (reason ETAG_MISMATCH). */
export function etagMismatch(resourceType: string, id: string): DomainError {
  return new DomainError(
    "aborted",
    DomainReason.ETAG_MISMATCH,
    `${resourceType} ${JSON.stringify(id)} was changed since the given etag; read it again`,
    {
      resource: { type: resourceType, name: id },
      metadata: { id },
    },
  );
}

/** PERMISSION_DENIED for an owner-scoped caller asking for something no owner may do, e.g. "create users". */
export function ownerMayNot(action: string): DomainError {
  return new DomainError(
    "permission_denied",
    DomainReason.PERMISSION_DENIED,
    `an owner-scoped caller may not ${action}`,
    {
      metadata: { action },
    },
  );
}

/**
 * What the domain and its stores need to know of a call's cancellation: whether it was aborted, and why. An
 * AbortSignal is one; so is the kit's call context (ctx.cancellation), which answers without making an AbortSignal (an
 * AbortSignal costs tens of thousands of instructions to make, and a synchronous SQLite read only ever checks it).
 */
export interface Cancellation {
  readonly aborted: boolean;
  readonly reason: unknown;
}

/** Throws the signal's reason if it has fired; store and domain loops call it between units of work. */
export function throwIfAborted(signal: Cancellation | undefined): void {
  // The reason is whatever the abort was given: the kit always gives an error (DomainError or OrderlyError).
  if (signal?.aborted)
    throw (signal.reason ?? new DomainError("cancelled", "CANCELLED", "the call was cancelled")) as Error;
}
