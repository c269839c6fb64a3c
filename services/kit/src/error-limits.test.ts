// Errors whose content comes from a hostile request stay small: unit checks of limitError, and one on the wire, where a
// DomainError with 10,000 violations of 10 KB each reaches the caller as a status of a few KB that says how many
// violations there were.
import { Client, credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, OrderlyError } from "@orderly/common";
import { GetUserRequest, UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import { DomainError, invalidArgument } from "./domain/errors.js";
import { clip, ERROR_LIMITS, limitError } from "./error-limits.js";
import { startTestServer, testToken, type TestServer } from "./testing.js";

const huge = "x".repeat(10_000);

describe("limitError", () => {
  it("keeps small errors exactly as they are", () => {
    const details = {
      errorInfo: { reason: "R", domain: "orderly", metadata: { id: "usr_1" } },
      badRequest: { fieldViolations: [{ field: "user.email", description: "must look like local@domain.tld" }] },
    };
    expect(limitError("invalid request", details)).toEqual({ message: "invalid request", details });
  });

  it("cuts long texts and long lists, and says how many violations there were", () => {
    const violations = Array.from({ length: 1_000 }, (_, i) => ({
      field: `items[${i}].sku${huge}`,
      description: huge,
    }));
    const { message, details } = limitError(huge, {
      errorInfo: { reason: "INVALID_ARGUMENT", domain: "orderly", metadata: { path: huge } },
      badRequest: { fieldViolations: violations },
      resourceInfo: { resourceType: "t", resourceName: huge, owner: "", description: huge },
    });
    expect(message).toHaveLength(ERROR_LIMITS.messageChars);
    expect(message.endsWith("…")).toBe(true);
    expect(details.badRequest?.fieldViolations).toHaveLength(ERROR_LIMITS.violations);
    expect(details.badRequest?.fieldViolations[0]?.field).toBe(clip(`items[0].sku${huge}`, ERROR_LIMITS.textChars));
    expect(details.errorInfo?.metadata).toEqual({
      path: clip(huge, ERROR_LIMITS.textChars),
      field_violations_total: "1000",
    });
    expect(details.resourceInfo?.resourceName).toHaveLength(ERROR_LIMITS.textChars);
  });
});

describe("an error built from a hostile request, on the wire", () => {
  let server: TestServer;
  let client: Client;

  beforeAll(async () => {
    const fail = () => Promise.reject(new DomainError("failed_precondition", "NOT_IN_TEST", "not in this test"));
    server = await startTestServer((s) =>
      s.addService(UserServiceService, {
        getUser: () =>
          Promise.reject(
            invalidArgument(Array.from({ length: 10_000 }, (_, i) => ({ field: `ids[${i}]`, description: huge }))),
          ),
        // eslint-disable-next-line require-yield -- never streams in this test
        async *streamUsers() {
          await fail();
        },
        createUser: fail,
        batchGetUsers: fail,
        listUsers: fail,
        updateUser: fail,
        deleteUser: fail,
      }),
    );
    client = new Client(server.address, credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await server.close();
  });

  it("reaches the caller as INVALID_ARGUMENT of a few KB with the violation count", async () => {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${await testToken("adm_1", ["admin"])}`);
    const same = (b: Buffer) => b;
    const error = await new Promise<OrderlyError>((resolve) =>
      client.makeUnaryRequest(
        "/orderly.user.v1.UserService/GetUser",
        same,
        same,
        Buffer.from(GetUserRequest.encode({ id: "usr_1" }).finish()),
        metadata,
        (e) => resolve(OrderlyError.from(e)),
      ),
    );
    expect([error.code, error.reason]).toEqual([Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"]);
    expect(error.details.badRequest?.fieldViolations).toHaveLength(ERROR_LIMITS.violations);
    expect(error.details.errorInfo?.metadata["field_violations_total"]).toBe("10000");
    expect(error.message.length).toBeLessThanOrEqual(ERROR_LIMITS.messageChars);
    const bytes = error.metadata?.get("grpc-status-details-bin")[0] as Buffer | undefined;
    expect(bytes?.length ?? 0).toBeGreaterThan(0);
    expect(bytes?.length ?? Infinity).toBeLessThan(8_192);
  });
});
