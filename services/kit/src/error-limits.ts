// How large an error may get on the wire. Messages and details often carry request content (an unknown update-mask
// path, an id that was not found, one violation per broken item), so a hostile body could otherwise make the status
// message and grpc-status-details-bin as large as itself: trailers that HTTP/2 peers refuse (16 KB header lists are
// common) and log lines as large. Every text is cut to a bounded length, and a long violations list to its first
// entries, with ErrorInfo metadata saying how many there were, so the caller knows the list was cut.
import type { ErrorDetails } from "@orderly/common";

/** The limits; the status stays under about 8 KB whatever the request. */
export const ERROR_LIMITS = {
  /** Characters of the status message. */
  messageChars: 512,
  /** Characters of each text inside the details (descriptions, fields, subjects, resource names, metadata values). */
  textChars: 256,
  /** Violations kept per list (BadRequest, PreconditionFailure, QuotaFailure). */
  violations: 16,
} as const;

/** `text` cut to `max` characters, marked with an ellipsis when it was cut. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The message and details of an error, within ERROR_LIMITS. */
export function limitError(message: string, details: ErrorDetails): { message: string; details: ErrorDetails } {
  const text = (value: string) => clip(value, ERROR_LIMITS.textChars);
  const counts: Record<string, string> = {};
  const list = <T>(name: string, items: T[], map: (item: T) => T): T[] => {
    if (items.length > ERROR_LIMITS.violations) counts[`${name}_total`] = String(items.length);
    return items.slice(0, ERROR_LIMITS.violations).map(map);
  };
  const limited: ErrorDetails = { ...details };
  if (details.badRequest)
    limited.badRequest = {
      fieldViolations: list("field_violations", details.badRequest.fieldViolations, (v) => ({
        field: text(v.field),
        description: text(v.description),
      })),
    };
  if (details.preconditionFailure)
    limited.preconditionFailure = {
      violations: list("precondition_violations", details.preconditionFailure.violations, (v) => ({
        type: text(v.type),
        subject: text(v.subject),
        description: text(v.description),
      })),
    };
  if (details.quotaFailure)
    limited.quotaFailure = {
      violations: list("quota_violations", details.quotaFailure.violations, (v) => ({
        subject: text(v.subject),
        description: text(v.description),
      })),
    };
  if (details.resourceInfo)
    limited.resourceInfo = {
      resourceType: text(details.resourceInfo.resourceType),
      resourceName: text(details.resourceInfo.resourceName),
      owner: text(details.resourceInfo.owner),
      description: text(details.resourceInfo.description),
    };
  if (details.errorInfo)
    limited.errorInfo = {
      ...details.errorInfo,
      metadata: {
        ...Object.fromEntries(
          Object.entries(details.errorInfo.metadata)
            .slice(0, ERROR_LIMITS.violations)
            .map(([key, value]) => [text(key), text(value)]),
        ),
        ...counts,
      },
    };
  return { message: clip(message, ERROR_LIMITS.messageChars), details: limited };
}
