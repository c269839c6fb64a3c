import { describe, expect, it } from "vitest";
import { DomainError } from "./domain/errors.js";
import { loadConfig, type Env } from "./config.js";
import { createPageTokens, DEV_PAGE_TOKEN_SECRET, pageSizeOf, pageTokenSecretOf } from "./paging.js";

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return `${error.kind}/${error.reason}/${error.fieldViolations[0]?.field}`;
    throw error;
  }
  throw new Error("did not throw");
}

describe("pageSizeOf", () => {
  it("defaults, caps and rejects negatives", () => {
    expect(pageSizeOf(0)).toBe(20);
    expect(pageSizeOf(7)).toBe(7);
    expect(pageSizeOf(100)).toBe(100);
    expect(pageSizeOf(5000)).toBe(100);
    expect(reasonOf(() => pageSizeOf(-1))).toBe("invalid_argument/INVALID_ARGUMENT/page_size");
  });
});

describe("page tokens", () => {
  const tokens = createPageTokens("s3cret");
  const filter = { emailContains: "ada" };

  it("round-trips the cursor for the same filter, and '' is the first page", () => {
    expect(tokens.decode(tokens.encode("usr_01", filter), { emailContains: "ada" })).toBe("usr_01");
    expect(tokens.decode("", filter)).toBeUndefined();
  });

  it("makes a next_page_token only when there is more and a cursor to resume after", () => {
    expect(tokens.decode(tokens.next("usr_09", true, filter), filter)).toBe("usr_09");
    expect(tokens.next("usr_09", false, filter)).toBe("");
    expect(tokens.next(undefined, true, filter)).toBe("");
  });

  it("rejects a changed filter", () => {
    const token = tokens.encode("usr_01", filter);
    expect(reasonOf(() => tokens.decode(token, { emailContains: "bob" }))).toBe(
      "invalid_argument/PAGE_TOKEN_FILTER_MISMATCH/page_token",
    );
  });

  it("rejects tampered, foreign and malformed tokens", () => {
    const token = tokens.encode("usr_01", filter);
    const [payload, signature] = token.split(".") as [string, string];
    const forged = Buffer.from(
      JSON.stringify({ c: "usr_99", f: (JSON.parse(Buffer.from(payload, "base64url").toString()) as { f: string }).f }),
    ).toString("base64url");
    for (const bad of [
      `${forged}.${signature}`,
      createPageTokens("other").encode("usr_01", filter),
      "garbage",
      "a.b.c",
      ".",
    ]) {
      expect(reasonOf(() => tokens.decode(bad, filter))).toBe("invalid_argument/INVALID_PAGE_TOKEN/page_token");
    }
  });
});

describe("the page token secret", () => {
  const pageTokenSecretFromEnv = (env: Env) => pageTokenSecretOf(loadConfig("common", env));
  it("falls back to the development secret outside production only", () => {
    expect(pageTokenSecretFromEnv({})).toBe(DEV_PAGE_TOKEN_SECRET);
    expect(pageTokenSecretFromEnv({ PAGE_TOKEN_SECRET: "short-is-fine-in-development" })).toBe(
      "short-is-fine-in-development",
    );
    expect(() => pageTokenSecretFromEnv({ NODE_ENV: "production" })).toThrow(/PAGE_TOKEN_SECRET is not set/);
    expect(() => pageTokenSecretFromEnv({ NODE_ENV: "production", PAGE_TOKEN_SECRET: DEV_PAGE_TOKEN_SECRET })).toThrow(
      /refused/,
    );
    expect(() => pageTokenSecretFromEnv({ NODE_ENV: "production", PAGE_TOKEN_SECRET: "too-short" })).toThrow(
      /32 bytes/,
    );
    const strong = "x".repeat(32);
    expect(
      pageTokenSecretFromEnv({ NODE_ENV: "production", JWT_SECRET: "j".repeat(32), PAGE_TOKEN_SECRET: strong }),
    ).toBe(strong);
  });
});
