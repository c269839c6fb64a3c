// The token providers: caching, refresh ahead of `exp`, one refresh at a time, invalidate(); the file source and its
// rotation; and, on the wire, the client's one retry with a fresh token after the server refused one.
import { mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "@grpc/grpc-js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Code, type OrderlyError } from "@orderly/common";
import type { RetryEvent } from "./observer.js";
import { richError, serveUsers, type UnaryBehaviour } from "./test-servers.js";
import { expiryOf, refreshingToken, tokenFromFile } from "./token-provider.js";
import { createUserClient } from "./user-client.js";

/** An unsigned JWT expiring `seconds` from now (the client never checks signatures). */
function jwt(name: string, seconds: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none" })}.${part({ sub: name, exp: Math.floor(Date.now() / 1000) + seconds })}.sig`;
}

/** A fetch that hands out tokens made by `make(n)` and counts calls and the most fetches ever running at once. */
function counted(make: (n: number) => string, delayMs = 0) {
  const stats = { calls: 0, running: 0, maxRunning: 0 };
  const fetch = async () => {
    const n = ++stats.calls;
    stats.maxRunning = Math.max(stats.maxRunning, ++stats.running);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    stats.running--;
    return make(n);
  };
  return { fetch, stats };
}

afterEach(() => vi.useRealTimers());

describe("refreshingToken", () => {
  it("reads exp from a JWT; none from anything else", () => {
    const token = jwt("a", 60);
    expect(Math.abs(expiryOf(token)! - (Date.now() + 60_000))).toBeLessThan(1_000);
    expect(expiryOf("opaque-token")).toBeUndefined();
    expect(expiryOf("a.bm90IGpzb24.c")).toBeUndefined();
  });

  it("fetches once for many concurrent calls, then serves the cached token", async () => {
    const { fetch, stats } = counted((n) => jwt(`t${n}`, 3600), 20);
    const provider = refreshingToken(fetch);
    const tokens = await Promise.all(Array.from({ length: 10 }, () => provider()));
    expect(new Set(tokens).size).toBe(1);
    await provider();
    expect(stats).toMatchObject({ calls: 1, maxRunning: 1 });
  });

  it("refreshes ahead of exp in the background, and waits for a fresh token once the old one expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { fetch, stats } = counted((n) => jwt(`t${n}`, 120));
    const provider = refreshingToken(fetch, { refreshBeforeMs: 60_000 });
    const first = await provider();
    vi.setSystemTime(Date.now() + 30_000);
    expect(await provider()).toBe(first); // fresh: no fetch
    expect(stats.calls).toBe(1);
    vi.setSystemTime(Date.now() + 40_000); // 70 s: within 60 s of exp
    expect(await provider()).toBe(first); // still valid: served while one refresh runs
    let second = first;
    await vi.waitFor(async () => expect((second = await provider())).not.toBe(first));
    expect(stats.calls).toBe(2);
    vi.setSystemTime(Date.now() + 200_000); // past the second token's exp
    const third = await provider();
    expect(third).not.toBe(second);
    expect(stats).toMatchObject({ calls: 3, maxRunning: 1 });
  });

  it("invalidate() makes the next call fetch, never two fetches at once", async () => {
    const { fetch, stats } = counted((n) => `opaque-${n}`, 20);
    const provider = refreshingToken(fetch);
    expect(await provider()).toBe("opaque-1");
    expect(await provider()).toBe("opaque-1"); // no exp: kept until invalidated
    provider.invalidate();
    const during = provider();
    provider.invalidate(); // while that fetch runs: its token may be the refused one
    expect(await provider()).toBe("opaque-3");
    expect(await during).toBe("opaque-2");
    expect(stats).toMatchObject({ calls: 3, maxRunning: 1 });
  });

  it("a failed fetch fails the calls waiting for it; a failed background refresh keeps the valid token", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    let fail = true;
    const provider = refreshingToken(async () => {
      if (fail) throw new Error("identity provider down");
      return jwt("ok", 120);
    });
    await expect(provider()).rejects.toThrow("identity provider down");
    fail = false;
    const token = await provider();
    fail = true;
    vi.setSystemTime(Date.now() + 90_000);
    expect(await provider()).toBe(token);
    expect(await provider()).toBe(token);
  });
});

describe("tokenFromFile", () => {
  it("reads the file once, again when it changes or after invalidate(), and refuses an empty one", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "orderly-token-")), "token");
    writeFileSync(file, "token-one\n");
    const provider = tokenFromFile(file, { checkIntervalMs: 0 });
    expect(await provider()).toBe("token-one");
    writeFileSync(file, "token-two\n");
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect(await provider()).toBe("token-two");
    writeFileSync(file, "");
    utimesSync(file, new Date(), new Date(Date.now() + 10_000));
    await expect(provider()).rejects.toThrow(/is empty/);
  });
});

describe("a refused token on the wire", () => {
  const servers: Server[] = [];
  afterEach(() => servers.splice(0).forEach((s) => s.forceShutdown()));

  /** A server that refuses "Bearer stale" with TOKEN_EXPIRED and answers any other token. */
  async function serve() {
    const refuseStale: UnaryBehaviour = (call, cb) =>
      call.metadata.get("authorization")[0] === "Bearer stale"
        ? cb(richError(Code.UNAUTHENTICATED, "TOKEN_EXPIRED"))
        : cb(null, { user: { id: "usr_ok", email: "", etag: "" } });
    const started = await serveUsers("s", { getUser: refuseStale, createUser: refuseStale });
    servers.push(started.server);
    return started;
  }

  it("is fetched again and the call retried once, even for a method that is not idempotent", async () => {
    const { address, calls } = await serve();
    const { fetch, stats } = counted((n) => (n === 1 ? "stale" : "fresh"));
    const retries: RetryEvent[] = [];
    const users = createUserClient({
      address,
      retry: false,
      tokenProvider: refreshingToken(fetch),
      observer: { onRetry: (e) => retries.push(e) },
    });
    expect((await users.create({ email: "a@b.co" })).id).toBe("usr_ok");
    expect(calls.map((c) => c.authorization)).toEqual(["Bearer stale", "Bearer fresh"]);
    expect(retries.map((r) => r.cause)).toEqual(["token_refresh"]);
    await users.get("x");
    expect(stats.calls).toBe(2);
    users.close();
  });

  it("is not retried when the provider hands back the same token, nor when it cannot refresh", async () => {
    const { address, calls } = await serve();
    const same = createUserClient({ address, tokenProvider: refreshingToken(async () => "stale") });
    expect(((await same.get("x").catch((e: unknown) => e)) as OrderlyError).reason).toBe("TOKEN_EXPIRED");
    const fixed = createUserClient({ address, token: "stale" });
    expect(((await fixed.get("x").catch((e: unknown) => e)) as OrderlyError).reason).toBe("TOKEN_EXPIRED");
    expect(calls).toHaveLength(2);
    same.close();
    fixed.close();
  });
});
