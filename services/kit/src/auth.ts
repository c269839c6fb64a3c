// Authentication and authorization for protected methods: verify the bearer token, check the method's declared
// permission against the caller's roles, and put the typed Caller on the context. Public methods never reach this
// interceptor; the chain wraps it in select(authRequired, ...), so no allow-list of public methods lives here.
import type { MethodInfo } from "./context.js";
import { DomainError } from "./domain/errors.js";
import type { Interceptor } from "./interceptor.js";
import { reachOf } from "./permissions.js";
import type { PeerRoles } from "./tls.js";
import type { TokenVerifier, VerifiedToken } from "./token.js";

/** The method matcher for auth: every method the contract does not declare public. */
export const authRequired = (method: MethodInfo): boolean => !method.isPublic;

// RFC 6750 §2.1: "Bearer" (the scheme is case-insensitive), one or more spaces, then the token.
const BEARER = /^bearer +(\S+) *$/i;

/**
 * Requires a caller holding the method's permission: a valid bearer token, or, for a call without one, a verified
 * client certificate whose identity `peerRoles` maps to roles (mTLS, tls.ts). Sets ctx.caller, or throws DomainError.
 */
export function authInterceptor(verifier: TokenVerifier, peerRoles: PeerRoles = new Map()): Interceptor {
  return (next) => async (request, ctx) => {
    const header = ctx.requestMetadata.get("authorization");
    const peer = header.length === 0 && peerRoles.size > 0 ? peerCaller(ctx.peerIdentity, peerRoles) : undefined;
    const { subject, roles } = peer ?? (await verifier.verify(bearerToken(header)));
    const permission = ctx.method.permission;
    const reach = reachOf(roles, permission);
    if (reach === undefined) {
      throw new DomainError(
        "permission_denied",
        "PERMISSION_DENIED",
        `the caller lacks the permission "${permission}"`,
        {
          metadata: { permission },
        },
      );
    }
    ctx.caller = { subject, roles, access: { subject, ownOnly: reach === "own" } };
    return next(request, ctx);
  };
}

// A certificate's identity is a caller only when TLS_PEER_ROLES names it, as a token is only with a trusted signature.
function peerCaller(identity: string | undefined, peerRoles: PeerRoles): VerifiedToken | undefined {
  const roles = identity === undefined ? undefined : peerRoles.get(identity);
  return identity !== undefined && roles ? { subject: identity, roles: [...roles] } : undefined;
}

// Messages describe the header's shape, never its content: the value is a credential.
function bearerToken(values: readonly (string | Buffer)[]): string {
  if (values.length === 0) {
    throw new DomainError(
      "unauthenticated",
      "TOKEN_MISSING",
      'this method needs an "authorization: Bearer <token>" header',
    );
  }
  const [value] = values;
  // More than one credential is ambiguous; picking one would let a proxy and the server disagree about the caller.
  const match = values.length === 1 && typeof value === "string" ? BEARER.exec(value) : null;
  if (!match?.[1]) {
    throw new DomainError(
      "unauthenticated",
      "TOKEN_INVALID",
      'the authorization header must be exactly one "Bearer <token>"',
    );
  }
  return match[1];
}
