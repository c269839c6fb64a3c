// @orderly/kit: the server kit shared by every Orderly service. Public API first.
export { createOrderlyServer, orderlyInterceptors, type OrderlyServer, type OrderlyServerOptions } from "./server.js";
export { runServiceProcess, type ServiceProcess } from "./service-process.js";
export { connectionOptions, type ConnectionSettings } from "./connection.js";
export {
  serverCredentialsOf,
  clientCredentialsOf,
  certificateIdentity,
  peerRolesOf,
  type PeerRoles,
  type PemFile,
  type ReloadListener,
  type TlsSettings,
} from "./tls.js";
export {
  loadConfig,
  loadConfigOrExit,
  ConfigError,
  SETTINGS,
  type Config,
  type ConfigScope,
  type Env,
  type Setting,
} from "./config.js";
export { SAMPLERS, type SamplerName } from "./config.js";
export {
  bindService,
  Encoded,
  withPreEncoding,
  type StreamItem,
  type StreamPush,
  type StreamSink,
  type ServiceHandlers,
  type HandlerOf,
  type GeneratedService,
} from "./service.js";
export type { CallContext, HandlerContext, Caller, MethodInfo, MethodKind } from "./context.js";
export { compose, select, type Interceptor, type Next } from "./interceptor.js";
export { authInterceptor, authRequired } from "./auth.js";
export { createTokenVerifier, authConfigOf, type AuthConfig } from "./token-verifier.js";
export type { TokenVerifier, VerifiedToken } from "./token.js";
export { reachOf } from "./permissions.js";
export { deadlineInterceptor, DEFAULT_DEADLINES, type DeadlineOptions } from "./deadline.js";
export { errorInterceptor, toOrderlyError, fromDomainError, codeOf } from "./errors.js";
export { loggingInterceptor, createLogger, type Logger } from "./logging.js";
export { RateLimiter, parseRateLimits, type RateLimit, type RateLimiterOptions } from "./rate-limit.js";
export { requestIdOf, REQUEST_ID_KEY } from "./request-id.js";
export {
  pageSizeOf,
  createPageTokens,
  pageTokenSecretOf,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type PageTokens,
} from "./paging.js";
export { methodsOf } from "./method-policy.js";
export { addReflection } from "./reflection.js";
export { SERVICE_ROLE } from "./service-token.js";
