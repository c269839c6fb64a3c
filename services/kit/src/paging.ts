// AIP-158 paging shared by every List method: page_size defaults and caps, and opaque, tamper-evident page tokens that
// remember the filter they were made for. A token is base64url(JSON) + "." + HMAC-SHA256; replicas must share the
// secret (PAGE_TOKEN_SECRET) so a token made by one is accepted by another.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Config } from "./config.js";
import { invalidArgument } from "./domain/errors.js";

/** Page size when the request gives none. */
export const DEFAULT_PAGE_SIZE = 20;
/** Larger page sizes are coerced down to this. */
export const MAX_PAGE_SIZE = 100;

/** The development secret, used when PAGE_TOKEN_SECRET is unset; never accepted when NODE_ENV=production. */
export const DEV_PAGE_TOKEN_SECRET = "orderly-dev-page-token-secret";

/** PAGE_TOKEN_SECRET, or the development secret (loadConfig refuses that, or a weak secret, in production). */
export function pageTokenSecretOf(config: Pick<Config, "PAGE_TOKEN_SECRET">): string {
  return config.PAGE_TOKEN_SECRET ?? DEV_PAGE_TOKEN_SECRET;
}

/** The effective page size of a request: 0 means the default, above the maximum is the maximum, negative is invalid. */
export function pageSizeOf(requested: number): number {
  if (requested < 0) throw invalidArgument([{ field: "page_size", description: "must not be negative" }]);
  if (requested === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(requested, MAX_PAGE_SIZE);
}

/** Encodes and checks page tokens for one secret. */
export interface PageTokens {
  /** A token that resumes after `cursor` for the given filter. */
  encode(cursor: string, filter: unknown): string;
  /** A response's next_page_token: one resuming after the page's last cursor, or "" when there is nothing more. */
  next(lastCursor: string | undefined, hasMore: boolean, filter: unknown): string;
  /** The cursor of a token, or undefined for "" (the first page); INVALID_ARGUMENT if forged or the filter changed. */
  decode(token: string, filter: unknown): string | undefined;
}

/** Page tokens signed with secret. */
export function createPageTokens(secret: string): PageTokens {
  const sign = (payload: string) => createHmac("sha256", secret).update(payload).digest();
  const filterKey = (filter: unknown) =>
    createHmac("sha256", secret)
      .update(JSON.stringify(filter ?? {}))
      .digest("base64url")
      .slice(0, 16);
  const encode = (cursor: string, filter: unknown): string => {
    const payload = Buffer.from(JSON.stringify({ c: cursor, f: filterKey(filter) })).toString("base64url");
    return `${payload}.${sign(payload).toString("base64url")}`;
  };
  return {
    encode,
    next: (lastCursor, hasMore, filter) => (hasMore && lastCursor !== undefined ? encode(lastCursor, filter) : ""),
    decode(token, filter) {
      if (token === "") return undefined;
      const [payload, signature, extra] = token.split(".");
      const given = Buffer.from(signature ?? "", "base64url");
      const expected = payload ? sign(payload) : Buffer.alloc(0);
      if (!payload || extra !== undefined || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw invalidArgument(
          [{ field: "page_token", description: "is not a page token this service issued" }],
          "INVALID_PAGE_TOKEN",
        );
      }
      const parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { c: string; f: string };
      if (parsed.f !== filterKey(filter)) {
        throw invalidArgument(
          [{ field: "page_token", description: "was issued for a different filter; start again from the first page" }],
          "PAGE_TOKEN_FILTER_MISMATCH",
        );
      }
      return parsed.c;
    },
  };
}
