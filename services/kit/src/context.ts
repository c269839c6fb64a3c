// The typed per-call context every interceptor and handler receives. Interceptors fill it in (the deadline, the
// caller, the logger); handlers read it. Nothing here is an untyped bag of metadata.
import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Access } from "./domain/access.js";
import type { Cancellation } from "./domain/errors.js";

/** How a method streams. */
export type MethodKind = "unary" | "server_streaming";

/** The contract-level facts about the method being called, read once from the descriptor set. */
export interface MethodInfo {
  /** "/orderly.user.v1.UserService/GetUser" */
  readonly path: string;
  /** "orderly.user.v1.UserService" */
  readonly service: string;
  /** "GetUser" */
  readonly name: string;
  readonly kind: MethodKind;
  /** True when the method needs no token (orderly.auth.v1.policy.public). */
  readonly isPublic: boolean;
  /** The permission the method needs, e.g. "users:read"; "" for public methods. */
  readonly permission: string;
}

/** The verified caller of a method: who they are and what they hold. */
export interface Caller {
  /** The token's `sub`. */
  readonly subject: string;
  /** The token's `roles`. */
  readonly roles: readonly string[];
  /** The caller's reach for this method's permission, as the domain wants it. */
  readonly access: Access;
}

/** Per-call state, typed. Created by the kit for every call; interceptors complete it before the handler runs. */
export interface CallContext {
  readonly method: MethodInfo;
  /** Incoming request metadata (headers). Prefer the typed fields below. */
  readonly requestMetadata: Metadata;
  /** Metadata sent back with the response headers (e.g. x-request-id). */
  readonly responseMetadata: Metadata;
  /** The peer address, e.g. "ipv4:127.0.0.1:53012". */
  readonly peer: string;
  /** The request id: the caller's x-request-id, or one the server made. Returned in response metadata. */
  readonly requestId: string;
  /** Fires when the caller cancels or the deadline passes; its reason is the error to report. */
  readonly signal: AbortSignal;
  /**
   * Whether the call was aborted and why, as the domain and its stores take it (they only check it between units of
   * work); unlike `signal`, reading it makes no AbortSignal.
   */
  readonly cancellation: Cancellation;
  /** Aborts the call's work with the given reason (an OrderlyError). */
  abort(reason: unknown): void;
  /**
   * Runs listener once when the call is aborted (at once if it already was), with the abort's reason; returns the
   * function that removes it. The kit's own contexts have it: it spares making `signal` (an AbortSignal costs tens of
   * thousands of instructions to make and to listen to) in interceptors that only need to know about the abort.
   */
  onAbort?(listener: (reason: unknown) => void): () => void;
  /** When the call must be finished; set by the deadline interceptor. */
  deadline: Date | undefined;
  /** A logger bound to this call (method, request id). */
  logger: Logger;
  /**
   * The identity of the caller's TLS client certificate, verified against TLS_CA_FILE (its URI SAN, else its CN);
   * undefined without one. Read on first use.
   */
  readonly peerIdentity?: string | undefined;
  /** The verified caller; set by the auth interceptor, undefined only for public methods. */
  caller: Caller | undefined;
  /** Told how many messages a server stream wrote, as it writes them; set by the metrics interceptor when on. */
  onMessagesSent?: (count: number) => void;
  /** The call's trace and span ids (W3C, hex); set by the tracing interceptor when on, and logged with the call. */
  trace?: { readonly traceId: string; readonly spanId: string };
}

/** The context a protected handler sees: the caller is always there. */
export interface HandlerContext extends CallContext {
  readonly caller: Caller;
}
