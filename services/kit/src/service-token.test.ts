import { mkdtempSync, writeFileSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serviceTokenProvider } from "./service-token.js";

describe("serviceTokenProvider", () => {
  it("reads SERVICE_TOKEN_FILE and picks up a rotated token", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "svc-token-")), "token");
    writeFileSync(file, "token-one\n");
    const provide = serviceTokenProvider({ SERVICE_TOKEN_FILE: file });
    expect(await provide()).toBe("token-one");
    writeFileSync(file, "token-two\n");
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect(await provide()).toBe("token-two");
  });

  it("refuses to start without SERVICE_TOKEN_FILE instead of minting a token from the signing secret", () => {
    expect(() => serviceTokenProvider({ JWT_SECRET: "a-shared-secret-of-at-least-32-bytes!!" })).toThrow(
      /SERVICE_TOKEN_FILE/,
    );
  });
});
