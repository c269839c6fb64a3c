// What a verified bearer token says, and the one-method interface that checks tokens. Its own file so the verifier
// (token-verifier.ts) and the cache that wraps one (token-cache.ts) both depend on it rather than on each other.

/** What a valid token says about its bearer. */
export interface VerifiedToken {
  readonly subject: string;
  readonly roles: string[];
  readonly expiresAt?: Date;
}

/** Checks a bearer token and returns its claims, or throws DomainError "unauthenticated". */
export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}
