// Verifying an HS256/RS256 signature costs tens of microseconds, and a service sees the same token on call after call.
// This remembers tokens that verified, until their own exp (never longer), in a bounded map. Failures are not cached:
// a bad token is verified (and refused) every time.
import type { TokenVerifier, VerifiedToken } from "./token.js";

/** Default number of distinct tokens remembered. */
export const DEFAULT_TOKEN_CACHE_SIZE = 10_000;

/** Wraps a verifier so that a token that verified is answered from memory until it expires. */
export function cacheVerifiedTokens(
  verifier: TokenVerifier,
  options: { maxEntries?: number; now?: () => number } = {},
): TokenVerifier {
  const maxEntries = options.maxEntries ?? DEFAULT_TOKEN_CACHE_SIZE;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { token: VerifiedToken; validUntilMs: number }>();
  return {
    async verify(token) {
      const hit = cache.get(token);
      if (hit) {
        if (now() < hit.validUntilMs) return hit.token;
        cache.delete(token);
      }
      const verified = Object.freeze(await verifier.verify(token));
      // Tokens without exp are refused by the verifier; the guard keeps an unexpected one out of the cache.
      if (maxEntries > 0 && verified.expiresAt) {
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
        cache.set(token, { token: verified, validUntilMs: verified.expiresAt.getTime() });
      }
      return verified;
    },
  };
}
