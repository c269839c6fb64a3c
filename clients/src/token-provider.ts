// Bearer tokens for a client: fetched once, cached, refreshed ahead of their expiry (the JWT's `exp`, read without
// checking the signature: that is the server's job), one refresh at a time however many calls want a token, and
// thrown away on invalidate(), which the client calls when the server refuses a token, before retrying once.
import { readFile, stat } from "node:fs/promises";

/** Where a client gets its bearer token: asked before every attempt. */
export type TokenProvider = (() => string | Promise<string>) & {
  /** Drops the cached token, so the next call fetches a fresh one (after the server refused it). */
  invalidate?: () => void;
};

/** A TokenProvider that can be forced to refresh. */
export type RefreshingTokenProvider = (() => Promise<string>) & { invalidate: () => void };

/** Settings of refreshingToken. */
export interface RefreshOptions {
  /** Refresh this long before `exp` (default 60 000 ms), but never before half the token's remaining lifetime. */
  refreshBeforeMs?: number;
  /** After a failed background refresh, wait this long before trying again (default 1 000 ms). */
  retryRefreshAfterMs?: number;
}

interface Cached {
  token: string;
  /** From here on, calls still get this token but start a refresh. */
  refreshAt: number;
  /** From here on, calls wait for a fresh token. */
  expiresAt: number;
}

/**
 * A provider that caches what `fetch` returns: while the token is fresh calls get it at once; once it is within
 * refreshBeforeMs of `exp`, calls still get it while one background refresh runs; once it has expired (or after
 * invalidate()), calls wait for the one refresh in flight. A token without a readable `exp` is kept until invalidated.
 */
export function refreshingToken(fetch: () => Promise<string>, options: RefreshOptions = {}): RefreshingTokenProvider {
  const refreshBeforeMs = options.refreshBeforeMs ?? 60_000;
  const retryRefreshAfterMs = options.retryRefreshAfterMs ?? 1_000;
  let cached: Cached | undefined;
  let inFlight: Promise<string> | undefined;
  let generation = 0;
  let failedAt = -Infinity;

  let inFlightGeneration = 0;

  const refresh = (): Promise<string> => {
    // One fetch at a time. One started before an invalidate() may bring the refused token back: fetch again after it.
    if (inFlight && inFlightGeneration === generation) return inFlight;
    if (inFlight) return inFlight.catch(() => undefined).then(refresh);
    const started = (inFlightGeneration = generation);
    const fetchedAt = Date.now();
    inFlight = fetch()
      .then((token) => {
        if (started === generation) cached = cacheEntry(token, fetchedAt, refreshBeforeMs);
        return token;
      })
      .catch((error: unknown) => {
        failedAt = Date.now();
        throw error;
      })
      .finally(() => (inFlight = undefined));
    return inFlight;
  };

  const provider = async (): Promise<string> => {
    const now = Date.now();
    if (!cached || now >= cached.expiresAt) return refresh();
    if (now >= cached.refreshAt && now - failedAt >= retryRefreshAfterMs) {
      // The current token still works: a failed background refresh is retried later, never thrown at a caller.
      refresh().catch(() => undefined);
    }
    return cached.token;
  };
  return Object.assign(provider, {
    invalidate: () => {
      cached = undefined;
      generation++;
    },
  });
}

/** The cache entry of a token fetched at fetchedAt: refreshed ahead of `exp`, used until it. */
function cacheEntry(token: string, fetchedAt: number, refreshBeforeMs: number): Cached {
  const exp = expiryOf(token);
  if (exp === undefined) return { token, refreshAt: Infinity, expiresAt: Infinity };
  const halfLife = fetchedAt + (exp - fetchedAt) / 2;
  return { token, refreshAt: Math.max(halfLife, exp - refreshBeforeMs), expiresAt: exp };
}

/** The `exp` claim of a JWT in epoch milliseconds, or undefined when the token is no JWT or has none. */
export function expiryOf(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as unknown;
    const exp = typeof claims === "object" && claims !== null ? (claims as { exp?: unknown }).exp : undefined;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Settings of tokenFromFile. */
export interface TokenFileOptions extends RefreshOptions {
  /** How often to look at the file for a new token (default 1 000 ms); it is read again when it changed. */
  checkIntervalMs?: number;
}

/**
 * A provider reading the token from a file (a service identity handed over by the platform): cached as
 * refreshingToken does, and read again when the file changes (checked at most every checkIntervalMs), ahead of the
 * token's `exp`, and after the server refused it, so rotating the file needs no restart.
 */
export function tokenFromFile(path: string, options: TokenFileOptions = {}): RefreshingTokenProvider {
  const checkIntervalMs = options.checkIntervalMs ?? 1_000;
  let version: string | undefined;
  let checkedAt = -Infinity;
  const versionOf = async () => {
    const info = await stat(path);
    return `${info.ino}:${info.size}:${info.mtimeMs}`;
  };
  const cached = refreshingToken(async () => {
    version = await versionOf();
    const token = (await readFile(path, "utf8")).trim();
    if (!token) throw new Error(`the token file ${path} is empty`);
    return token;
  }, options);
  const provider = async (): Promise<string> => {
    const now = Date.now();
    if (version !== undefined && now - checkedAt >= checkIntervalMs) {
      checkedAt = now;
      if ((await versionOf()) !== version) cached.invalidate();
    }
    return cached();
  };
  return Object.assign(provider, { invalidate: cached.invalidate });
}
