// The part of the kit that domain code may import: plain TypeScript, no gRPC.
export {
  DomainError,
  invalidArgument,
  notFound,
  etagMismatch,
  throwIfAborted,
  type ErrorKind,
  type FieldViolation,
  type PreconditionViolation,
  type ResourceRef,
  type DomainErrorOptions,
} from "./errors.js";
export { mayAccess, type Access } from "./access.js";
export { codePointLength, controlCharacterViolations } from "./text.js";
