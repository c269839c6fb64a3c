import { Metadata } from "@grpc/grpc-js";
import { SignJWT } from "jose";
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import { authInterceptor, authRequired } from "./auth.js";
import type { CallContext, MethodInfo } from "./context.js";
import { DomainError } from "./domain/errors.js";
import { select, type Next } from "./interceptor.js";
import { createTokenVerifier } from "./token-verifier.js";

const SECRET = "auth-test-secret-long-enough-for-hs256!!";
const verifier = createTokenVerifier({
  issuer: "orderly-dev",
  audience: "orderly",
  key: { kind: "secret", secret: SECRET },
});

function mint(claims: { sub?: string; roles?: string[] }): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer("orderly-dev")
    .setAudience("orderly")
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(SECRET));
}

function method(overrides: Partial<MethodInfo> = {}): MethodInfo {
  return {
    path: "/orderly.order.v1.OrderService/GetOrder",
    service: "orderly.order.v1.OrderService",
    name: "GetOrder",
    kind: "unary",
    isPublic: false,
    permission: "orders:read",
    ...overrides,
  };
}

function context(authorization: string[] = [], info: MethodInfo = method()): CallContext {
  const requestMetadata = new Metadata();
  for (const value of authorization) requestMetadata.add("authorization", value);
  const controller = new AbortController();
  return {
    method: info,
    requestMetadata,
    responseMetadata: new Metadata(),
    peer: "ipv4:127.0.0.1:50000",
    requestId: "req-1",
    signal: controller.signal,
    cancellation: controller.signal,
    abort: (reason) => controller.abort(reason),
    deadline: undefined,
    logger: pino({ enabled: false }),
    caller: undefined,
  };
}

function harness() {
  const next = vi.fn<Next>(async (_request, ctx) => ({ caller: ctx.caller }));
  return { next, call: authInterceptor(verifier)(next) };
}

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

describe("authInterceptor", () => {
  it("rejects a call without an authorization header as TOKEN_MISSING and does not call next", async () => {
    const { next, call } = harness();
    const error = await rejection(call({}, context()));
    expect([error.kind, error.reason]).toEqual(["unauthenticated", "TOKEN_MISSING"]);
    expect(next).not.toHaveBeenCalled();
  });

  it("rejects a non-Bearer scheme as TOKEN_INVALID without echoing the credential", async () => {
    const { next, call } = harness();
    for (const header of ["Basic dXNlcjpodW50ZXIy", "Bearer", "Bearer a b", "Token abc.def.ghi"]) {
      const error = await rejection(call({}, context([header])));
      expect([error.kind, error.reason]).toEqual(["unauthenticated", "TOKEN_INVALID"]);
      expect(error.message).not.toContain("dXNlcjpodW50ZXIy");
    }
    expect(next).not.toHaveBeenCalled();
  });

  it("rejects two authorization headers rather than picking one", async () => {
    const { next, call } = harness();
    const token = await mint({ sub: "usr_1", roles: ["admin"] });
    const error = await rejection(call({}, context([`Bearer ${token}`, `Bearer ${token}`])));
    expect(error.reason).toBe("TOKEN_INVALID");
    expect(next).not.toHaveBeenCalled();
  });

  it("passes on the verifier's failure for a bad token", async () => {
    const { next, call } = harness();
    const error = await rejection(call({}, context(["Bearer not.a.token"])));
    expect([error.kind, error.reason]).toEqual(["unauthenticated", "TOKEN_INVALID"]);
    expect(next).not.toHaveBeenCalled();
  });

  it("denies a valid token without the permission, naming the permission", async () => {
    const { next, call } = harness();
    const ctx = context(
      [`Bearer ${await mint({ sub: "usr_1", roles: ["user"] })}`],
      method({ permission: "orders:update" }),
    );
    const error = await rejection(call({}, ctx));
    expect([error.kind, error.reason]).toEqual(["permission_denied", "PERMISSION_DENIED"]);
    expect(error.message).toContain("orders:update");
    expect(error.metadata).toEqual({ permission: "orders:update" });
    expect(ctx.caller).toBeUndefined();
    expect(next).not.toHaveBeenCalled();
  });

  it("denies a token with no roles", async () => {
    const { next, call } = harness();
    const error = await rejection(call({}, context([`Bearer ${await mint({ sub: "usr_1" })}`])));
    expect(error.reason).toBe("PERMISSION_DENIED");
    expect(next).not.toHaveBeenCalled();
  });

  it("sets an own-only caller for a user and calls next once", async () => {
    const { next, call } = harness();
    const ctx = context([`bearer ${await mint({ sub: "usr_7", roles: ["user"] })}`]);
    const response = await call({ id: "ord_1" }, ctx);
    expect(next).toHaveBeenCalledTimes(1);
    expect(next.mock.calls[0]?.[0]).toEqual({ id: "ord_1" });
    const caller = { subject: "usr_7", roles: ["user"], access: { subject: "usr_7", ownOnly: true } };
    expect(ctx.caller).toEqual(caller);
    expect(response).toEqual({ caller });
  });

  it("sets an unrestricted caller when a role grants the permission outright", async () => {
    const { call } = harness();
    const ctx = context([`BEARER  ${await mint({ sub: "staff_1", roles: ["user", "support"] })}`]);
    await call({}, ctx);
    expect(ctx.caller?.access).toEqual({ subject: "staff_1", ownOnly: false });
  });
});

describe("authRequired with select", () => {
  it("lets public methods through without a token and guards every other method", async () => {
    const next = vi.fn<Next>(async () => "ok");
    const chain = select(authRequired, authInterceptor(verifier))(next);
    await expect(chain({}, context([], method({ name: "Check", isPublic: true, permission: "" })))).resolves.toBe("ok");
    expect((await rejection(chain({}, context()))).reason).toBe("TOKEN_MISSING");
    expect(next).toHaveBeenCalledTimes(1);
  });
});

describe("authInterceptor with mTLS identities", () => {
  const peerRoles = new Map([["spiffe://orderly/orders", ["service"]]]);
  const withPeer = (identity: string, authorization: string[] = []): CallContext => ({
    ...context(authorization, method({ permission: "users:read" })),
    peerIdentity: identity,
  });
  const call = (ctx: CallContext) =>
    authInterceptor(verifier, peerRoles)(async (_request, c) => ({ caller: c.caller }))({}, ctx);

  it("makes a mapped certificate identity the caller of a call without a token", async () => {
    expect(await call(withPeer("spiffe://orderly/orders"))).toEqual({
      caller: {
        subject: "spiffe://orderly/orders",
        roles: ["service"],
        access: { subject: "spiffe://orderly/orders", ownOnly: false },
      },
    });
  });

  it("gives an unmapped identity nothing: TOKEN_MISSING", async () => {
    const error = await rejection(call(withPeer("spiffe://orderly/other")));
    expect(error.reason).toBe("TOKEN_MISSING");
  });

  it("lets a token decide when the call has one, even a bad one", async () => {
    const token = await mint({ sub: "usr_1", roles: ["user"] });
    const own = (await call(withPeer("spiffe://orderly/orders", [`Bearer ${token}`]))) as { caller: unknown };
    expect(own.caller).toMatchObject({ subject: "usr_1", roles: ["user"] });
    const error = await rejection(call(withPeer("spiffe://orderly/orders", ["Bearer not-a-jwt"])));
    expect(error.reason).toBe("TOKEN_INVALID");
  });
});
