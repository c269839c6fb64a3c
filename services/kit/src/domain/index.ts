// The part of the kit that domain code may import: plain TypeScript, no gRPC.
export {
  DomainError,
  invalidArgument,
  notFound,
  etagMismatch,
  ownerMayNot,
  throwIfAborted,
  type Cancellation,
  type ErrorKind,
  type FieldViolation,
  type PreconditionViolation,
  type ResourceRef,
  type DomainErrorOptions,
} from "./errors.js";
export { mayAccess, type Access } from "./access.js";
export { codePointLength, controlCharacterViolations } from "./text.js";
export { DomainReason } from "./reasons.js";
export { requireId, checkUpdateMask } from "./requests.js";
export { newEtag, concurrentUpdate, writeWithRetries, UPDATE_RETRIES, type WriteTarget } from "./writes.js";
export { NO_GAUGES, type Gauges } from "./gauges.js";
