// The one place domain failures become gRPC statuses. Every error leaving a handler passes through errorInterceptor:
// a DomainError keeps its reason and details under the matching code; an OrderlyError passes as it is; anything else
// is INTERNAL with a generic message, and its stack goes to the log only.
import { Code, ERROR_DOMAIN, OrderlyError, type ErrorDetails } from "@orderly/common";
import { DomainError, type ErrorKind } from "./domain/errors.js";
import { limitError } from "./error-limits.js";
import type { Interceptor } from "./interceptor.js";

const codeOfKind: Record<ErrorKind, Code> = {
  invalid_argument: Code.INVALID_ARGUMENT,
  not_found: Code.NOT_FOUND,
  already_exists: Code.ALREADY_EXISTS,
  failed_precondition: Code.FAILED_PRECONDITION,
  aborted: Code.ABORTED,
  out_of_range: Code.OUT_OF_RANGE,
  permission_denied: Code.PERMISSION_DENIED,
  unauthenticated: Code.UNAUTHENTICATED,
  resource_exhausted: Code.RESOURCE_EXHAUSTED,
  unavailable: Code.UNAVAILABLE,
  deadline_exceeded: Code.DEADLINE_EXCEEDED,
  cancelled: Code.CANCELLED,
};

/** The gRPC code of a domain error kind. */
export function codeOf(kind: ErrorKind): Code {
  return codeOfKind[kind];
}

/** Converts a DomainError into the OrderlyError sent on the wire, with ErrorInfo and the details that apply. */
export function fromDomainError(error: DomainError): OrderlyError {
  const details: ErrorDetails = {
    errorInfo: { reason: error.reason, domain: ERROR_DOMAIN, metadata: error.metadata },
  };
  if (error.fieldViolations.length > 0) details.badRequest = { fieldViolations: error.fieldViolations };
  if (error.preconditionViolations.length > 0)
    details.preconditionFailure = { violations: error.preconditionViolations };
  if (error.resource)
    details.resourceInfo = {
      resourceType: error.resource.type,
      resourceName: error.resource.name,
      owner: error.resource.owner ?? "",
      description: error.message,
    };
  if (error.retryAfterMs !== undefined) details.retryInfo = { retryDelayMs: error.retryAfterMs };
  // Within ERROR_LIMITS: messages and details can carry request content of any size.
  const limited = limitError(error.message, details);
  return new OrderlyError(codeOf(error.kind), limited.message, limited.details, undefined, { cause: error });
}

/** The error sent for anything unexpected: no internals leak to the caller. */
export function internalError(cause: unknown): OrderlyError {
  return new OrderlyError(
    Code.INTERNAL,
    "internal error",
    { errorInfo: { reason: "INTERNAL", domain: ERROR_DOMAIN, metadata: {} } },
    undefined,
    { cause },
  );
}

/** Maps whatever a call throws to an OrderlyError; unexpected errors are logged with their stack. */
export function toOrderlyError(error: unknown, log: (error: unknown) => void): OrderlyError {
  if (error instanceof DomainError) return fromDomainError(error);
  if (error instanceof OrderlyError) return withErrorInfo(error);
  log(error);
  return internalError(error);
}

/** Ensures an OrderlyError carries an ErrorInfo (errors relayed from downstream calls keep theirs). */
function withErrorInfo(error: OrderlyError): OrderlyError {
  if (error.details.errorInfo) return error;
  const reason = error.codeName;
  return new OrderlyError(
    error.code,
    error.message,
    {
      ...error.details,
      errorInfo: { reason, domain: ERROR_DOMAIN, metadata: {} },
    },
    undefined,
    { cause: error },
  );
}

/** Turns every failure of the calls it wraps into an OrderlyError (see toOrderlyError). */
export const errorInterceptor: Interceptor = (next) => async (request, ctx) => {
  try {
    return await next(request, ctx);
  } catch (error) {
    throw toOrderlyError(error, (unexpected) => ctx.logger.error({ err: unexpected }, "unexpected failure"));
  }
};
