// Authentication and authorization for protected methods: verify the bearer token, check the method's declared
// permission against the caller's roles, and put the typed Caller on the context. Public methods never reach this
// interceptor; the chain wraps it in select(authRequired, ...), so no allow-list of public methods lives here.
import type { MethodInfo } from "./context.js";
import { DomainError } from "./domain/errors.js";
import type { Interceptor } from "./interceptor.js";
import { reachOf } from "./permissions.js";
import type { TokenVerifier } from "./token.js";

/** The method matcher for auth: every method the contract does not declare public. */
export const authRequired = (method: MethodInfo): boolean => !method.isPublic;

// RFC 6750 §2.1: "Bearer" (the scheme is case-insensitive), one or more spaces, then the token.
const BEARER = /^bearer +(\S+) *$/i;

/** Requires a valid bearer token holding the method's permission; sets ctx.caller, or throws DomainError. */
export function authInterceptor(verifier: TokenVerifier): Interceptor {
  return (next) => async (request, ctx) => {
    const token = bearerToken(ctx.requestMetadata.get("authorization"));
    const { subject, roles } = await verifier.verify(token);
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
