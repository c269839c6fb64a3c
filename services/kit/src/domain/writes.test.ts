import { describe, expect, it } from "vitest";
import { DomainError } from "./errors.js";
import { newEtag, UPDATE_RETRIES, writeWithRetries } from "./writes.js";

const target = { resourceType: "orderly.test.v1.Thing", id: "thg_1" };

describe("newEtag", () => {
  it("makes 16 hex characters, different every time", () => {
    const etags = new Set(Array.from({ length: 100 }, () => newEtag()));
    expect(etags.size).toBe(100);
    for (const etag of etags) expect(etag).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("writeWithRetries", () => {
  it("returns the first attempt that wins", async () => {
    let attempts = 0;
    const result = await writeWithRetries({ ...target, etag: undefined }, async () =>
      ++attempts < 3 ? undefined : "won",
    );
    expect(result).toBe("won");
    expect(attempts).toBe(3);
  });

  it("with an etag, a lost race is final: ETAG_MISMATCH after one attempt", async () => {
    let attempts = 0;
    const error = await writeWithRetries({ ...target, etag: "e1" }, async () => (attempts++, undefined)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      kind: "aborted",
      reason: "ETAG_MISMATCH",
      resource: { type: target.resourceType, name: "thg_1" },
    });
    expect(attempts).toBe(1);
  });

  it("without an etag, retries UPDATE_RETRIES times, then CONCURRENT_UPDATE with a retry hint", async () => {
    let attempts = 0;
    const error = await writeWithRetries({ ...target, etag: undefined }, async () => (attempts++, undefined)).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      kind: "aborted",
      reason: "CONCURRENT_UPDATE",
      retryAfterMs: 100,
      metadata: { id: "thg_1", attempts: String(UPDATE_RETRIES + 1) },
    });
    expect(attempts).toBe(UPDATE_RETRIES + 1);
  });

  it("lets an attempt's own failure through at once", async () => {
    const refusal = new DomainError("failed_precondition", "NOPE", "no");
    await expect(writeWithRetries({ ...target, etag: undefined }, () => Promise.reject(refusal))).rejects.toBe(refusal);
  });
});
