import { describe, expect, it } from "vitest";
import { DomainError } from "./domain/errors.js";
import { cacheVerifiedTokens } from "./token-cache.js";
import type { TokenVerifier } from "./token.js";

function countingVerifier(expiresAtMs: number): TokenVerifier & { calls: number } {
  const verifier = {
    calls: 0,
    async verify(token: string) {
      verifier.calls++;
      if (token.startsWith("bad")) throw new DomainError("unauthenticated", "TOKEN_INVALID", "bad");
      return { subject: token, roles: ["user"], expiresAt: new Date(expiresAtMs) };
    },
  };
  return verifier;
}

describe("cacheVerifiedTokens", () => {
  it("verifies a token once and answers repeats from memory until its exp", async () => {
    let clock = 1_000;
    const inner = countingVerifier(5_000);
    const cached = cacheVerifiedTokens(inner, { now: () => clock });
    expect(await cached.verify("t1")).toMatchObject({ subject: "t1" });
    await cached.verify("t1");
    expect(inner.calls).toBe(1);
    clock = 5_000;
    await cached.verify("t1");
    expect(inner.calls).toBe(2);
  });

  it("never caches a failure", async () => {
    const inner = countingVerifier(5_000);
    const cached = cacheVerifiedTokens(inner, { now: () => 0 });
    await expect(cached.verify("bad")).rejects.toThrow();
    await expect(cached.verify("bad")).rejects.toThrow();
    expect(inner.calls).toBe(2);
  });

  it("stays within its size, evicting the oldest token", async () => {
    const inner = countingVerifier(5_000);
    const cached = cacheVerifiedTokens(inner, { maxEntries: 2, now: () => 0 });
    for (const token of ["a", "b", "c"]) await cached.verify(token);
    await cached.verify("c");
    await cached.verify("b");
    expect(inner.calls).toBe(3);
    await cached.verify("a");
    expect(inner.calls).toBe(4);
  });
});
