import { describe, expect, it } from "vitest";
import { serviceTokenFile } from "./service-token.js";

describe("serviceTokenFile", () => {
  it("is the path SERVICE_TOKEN_FILE names", () => {
    expect(serviceTokenFile({ SERVICE_TOKEN_FILE: " /run/secrets/svc.token " })).toBe("/run/secrets/svc.token");
  });

  it("refuses to start without SERVICE_TOKEN_FILE instead of minting a token from the signing secret", () => {
    expect(() => serviceTokenFile({ JWT_SECRET: "a-shared-secret-of-at-least-32-bytes!!" })).toThrow(
      /SERVICE_TOKEN_FILE is not set/,
    );
  });
});
