// The kit enters a call scope only once something in the process reads scopes (an Orderly client calls
// wantCallScopes when it is created): before that a handler runs without one (no async hooks for a service that calls
// nobody); after it, the handler's scope carries the call's deadline and signal. A raw grpc-js client calls here, so
// no Orderly client exists until the test says so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callScopesWanted, currentCallScope, wantCallScopes } from "@orderly/common";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import {
  bareUserClient,
  startTestServer,
  testToken,
  type BareUserClient,
  type TestServer,
  notInTest,
} from "./testing.js";

let server: TestServer;
let admin: BareUserClient;

beforeAll(async () => {
  server = await startTestServer((s) =>
    s.addService(UserServiceService, {
      async getUser(request, ctx) {
        const scope = currentCallScope();
        const etag = scope
          ? `scoped:${scope.deadline?.getTime() === ctx.deadline?.getTime()}:${scope.signal === ctx.signal}`
          : "none";
        return {
          user: {
            id: request.id,
            email: "a@example.com",
            profile: undefined,
            createTime: new Date(0),
            updateTime: new Date(0),
            etag,
          },
        };
      },
      batchGetUsers: notInTest,
      listUsers: notInTest,
      createUser: notInTest,
      updateUser: notInTest,
      deleteUser: notInTest,
      async *streamUsers() {},
    }),
  );
  admin = bareUserClient(server.address, await testToken("admin-1", ["admin"]));
});

afterAll(async () => {
  admin.close();
  await server.close();
});

describe("call scopes", () => {
  it("are not entered while nothing in the process reads them", async () => {
    expect(callScopesWanted()).toBe(false);
    expect((await admin.get("usr_1", { deadlineMs: 5_000 })).etag).toBe("none");
  });

  it("carry the call's deadline and signal once a client wants them", async () => {
    wantCallScopes();
    expect((await admin.get("usr_1", { deadlineMs: 5_000 })).etag).toBe("scoped:true:true");
  });
});
