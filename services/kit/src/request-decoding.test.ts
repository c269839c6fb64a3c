// Bodies that do not decode, sent to a real server by a generic grpc-js client that sends bytes as they are: the kit
// answers INVALID_ARGUMENT with a BadRequest (not grpc-js's INTERNAL), the handler never runs, an unauthenticated
// caller still gets UNAUTHENTICATED, and a body that decodes reaches the handler as before.
import { Client, credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, OrderlyError } from "@orderly/common";
import { GetUserRequest, UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import { startTestServer, testToken, type TestServer, notInTest } from "./testing.js";

const handled: string[] = [];
let server: TestServer;
let client: Client;
let token: string;

beforeAll(async () => {
  server = await startTestServer((s) =>
    s.addService(UserServiceService, {
      async getUser(request) {
        handled.push(request.id);
        return {
          user: {
            id: request.id,
            email: "a@example.com",
            profile: undefined,
            etag: "e",
            createTime: new Date(0),
            updateTime: new Date(0),
          },
        };
      },
      async *streamUsers() {
        handled.push("stream");
        yield await notInTest();
      },
      createUser: notInTest,
      batchGetUsers: notInTest,
      listUsers: notInTest,
      updateUser: notInTest,
      deleteUser: notInTest,
    }),
  );
  client = new Client(server.address, credentials.createInsecure());
  token = await testToken("adm_1", ["admin"]);
});

afterAll(async () => {
  client.close();
  await server.close();
});

function call(path: string, body: Buffer, bearer?: string): Promise<OrderlyError | Buffer> {
  const metadata = new Metadata();
  if (bearer) metadata.set("authorization", `Bearer ${bearer}`);
  const same = (b: Buffer) => b;
  if (path.endsWith("StreamUsers")) {
    return new Promise((resolve) => {
      const stream = client.makeServerStreamRequest(path, same, same, body, metadata, {});
      stream.on("data", () => {});
      stream.on("error", (error) => resolve(OrderlyError.from(error)));
      stream.on("end", () => resolve(Buffer.alloc(0)));
    });
  }
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, same, same, body, metadata, (error, response) =>
      resolve(error ? OrderlyError.from(error) : (response ?? Buffer.alloc(0))),
    );
  });
}

// Field 1 (id) as a string 100 bytes long, with 3 bytes behind it; a varint that never ends; a wire type 7.
const truncated = Buffer.from([0x0a, 100, 0x61, 0x62, 0x63]);
const endlessVarint = Buffer.from([0x08, ...Array<number>(11).fill(0xff)]);
const badWireType = Buffer.from([0x0f, 0x01]);

describe("an undecodable request body", () => {
  it.each([
    ["a length past the end", truncated],
    ["a varint that never ends", endlessVarint],
    ["wire type 7", badWireType],
  ])("with %s is INVALID_ARGUMENT with a BadRequest, and no handler runs", async (_, body) => {
    handled.length = 0;
    for (const path of ["/orderly.user.v1.UserService/GetUser", "/orderly.user.v1.UserService/StreamUsers"]) {
      const error = await call(path, body, token);
      expect(error).toBeInstanceOf(OrderlyError);
      const failure = error as OrderlyError;
      expect([failure.code, failure.reason]).toEqual([Code.INVALID_ARGUMENT, "INVALID_ARGUMENT"]);
      expect(failure.details.badRequest?.fieldViolations).toEqual([
        { field: "request", description: expect.stringContaining(`${body.length} bytes`) as string },
      ]);
    }
    expect(handled).toEqual([]);
  });

  it("from a caller without a token is UNAUTHENTICATED first", async () => {
    const error = (await call("/orderly.user.v1.UserService/GetUser", truncated)) as OrderlyError;
    expect([error.code, error.reason]).toEqual([Code.UNAUTHENTICATED, "TOKEN_MISSING"]);
  });

  it("is logged as INVALID_ARGUMENT, not as an unexpected failure", async () => {
    await call("/orderly.user.v1.UserService/GetUser", badWireType, token);
    const last = server.logs.filter((line) => line["msg"] === "call").at(-1);
    expect(last?.["code"]).toBe("INVALID_ARGUMENT");
    expect(server.logs.some((line) => line["msg"] === "unexpected failure")).toBe(false);
  });

  it("that decodes still reaches its handler", async () => {
    handled.length = 0;
    const response = await call(
      "/orderly.user.v1.UserService/GetUser",
      Buffer.from(GetUserRequest.encode({ id: "usr_1" }).finish()),
      token,
    );
    expect(response).toBeInstanceOf(Buffer);
    expect(handled).toEqual(["usr_1"]);
  });
});
