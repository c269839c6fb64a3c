import { mkdtempSync, writeFileSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serviceTokenProvider } from "./service-token.js";
import { createTokenVerifier } from "./token-verifier.js";

const env = { JWT_SECRET: "a-shared-secret-of-at-least-32-bytes!!", JWT_ISSUER: "iss", JWT_AUDIENCE: "aud" };

describe("serviceTokenProvider", () => {
  it("mints a service-role token the verifier accepts, and reuses it until renewal", async () => {
    const provide = serviceTokenProvider("svc-orders", env);
    const [a, b] = await Promise.all([provide(), provide()]);
    expect(a).toBe(b);
    const verifier = createTokenVerifier({ issuer: "iss", audience: "aud", key: { kind: "secret", secret: env.JWT_SECRET } });
    expect(await verifier.verify(a)).toMatchObject({ subject: "svc-orders", roles: ["service"] });
  });

  it("renews a token once half its lifetime has passed", async () => {
    const provide = serviceTokenProvider("svc-orders", env, 1);
    const first = await provide();
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await provide()).not.toBe(first);
  });

  it("reads SERVICE_TOKEN_FILE and picks up a rotated token", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "svc-token-")), "token");
    writeFileSync(file, "token-one\n");
    const provide = serviceTokenProvider("svc-orders", { SERVICE_TOKEN_FILE: file });
    expect(await provide()).toBe("token-one");
    writeFileSync(file, "token-two\n");
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect(await provide()).toBe("token-two");
  });
});
