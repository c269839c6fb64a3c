// @orderly/common: the little that both sides of the wire share, so the server kit and the clients depend on it
// rather than on each other. The error class first, then its wire encoding, then the call scope.
export { OrderlyError, Code } from "./orderly-error.js";
export { encodeStatus, decodeStatus, ERROR_DOMAIN, STATUS_DETAILS_KEY, type ErrorDetails } from "./rich-status.js";
export {
  runInCallScope,
  currentCallScope,
  outsideCallScope,
  earliestDeadline,
  wantCallScopes,
  callScopesWanted,
  type CallScope,
} from "./call-scope.js";
