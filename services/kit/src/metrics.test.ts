// The metrics interceptor against a real server on 127.0.0.1:0, called by a real client, and scraped over HTTP as
// Prometheus would: go-grpc-prometheus's series and labels, a count per call and per code, stream messages counted as
// written, gauges registered through the Gauges port, and the endpoint's 404 for any other path.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@orderly/common";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import { DomainError } from "./domain/errors.js";
import { grpcCodeLabel, metricsHttpServer, ServerMetrics } from "./metrics.js";
import {
  bareUserClient,
  failureOf,
  metricSample,
  startTestServer,
  testToken,
  type BareUserClient,
  type TestServer,
  testUser,
  notInTest,
} from "./testing.js";

let server: TestServer;
let admin: BareUserClient;
let http: Awaited<ReturnType<typeof metricsHttpServer>>;
let widgets = 0;
const metrics = new ServerMetrics();

beforeAll(async () => {
  server = await startTestServer(
    (s) => {
      s.addService(UserServiceService, {
        async getUser(request) {
          if (request.id === "missing") throw new DomainError("not_found", "USER_NOT_FOUND", "no such user");
          return { user: testUser(request.id) };
        },
        async *streamUsers() {
          yield [{ user: testUser("usr_1") }, { user: testUser("usr_2") }];
          yield { user: testUser("usr_3") };
        },
        createUser: notInTest,
        batchGetUsers: notInTest,
        listUsers: notInTest,
        updateUser: notInTest,
        deleteUser: notInTest,
      });
      s.gauges.add("test_widgets", "Widgets in the test.", () => widgets);
    },
    { metrics },
  );
  http = await metricsHttpServer(metrics.registry, "127.0.0.1:0");
  admin = bareUserClient(server.address, await testToken("adm_1", ["admin"]));
});

afterAll(async () => {
  admin.close();
  http.server.close();
  await server.close();
});

const scrape = async (path = "/metrics") => {
  const response = await fetch(`http://127.0.0.1:${http.port}${path}`);
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
};
const getUser = { grpc_type: "unary", grpc_service: "orderly.user.v1.UserService", grpc_method: "GetUser" };
const streamUsers = { ...getUser, grpc_type: "server_stream", grpc_method: "StreamUsers" };

describe("the metrics interceptor, scraped over HTTP", () => {
  it("counts calls started, handled per code, messages and their durations, under go-grpc-prometheus's names", async () => {
    await admin.get("usr_1");
    await admin.get("usr_2");
    expect((await failureOf(admin.get("missing"))).code).toBe(Code.NOT_FOUND);
    const anonymous = bareUserClient(server.address);
    expect((await failureOf(anonymous.get("usr_1"))).code).toBe(Code.UNAUTHENTICATED);
    anonymous.close();
    const streamed = [];
    for await (const u of admin.stream()) streamed.push(u.id);
    expect(streamed).toEqual(["usr_1", "usr_2", "usr_3"]);

    const { status, type, text } = await scrape();
    expect(status).toBe(200);
    expect(type).toContain("text/plain");
    expect(metricSample(text, "grpc_server_started_total", getUser)).toBe(4);
    expect(metricSample(text, "grpc_server_msg_received_total", getUser)).toBe(4);
    expect(metricSample(text, "grpc_server_handled_total", { ...getUser, grpc_code: "OK" })).toBe(2);
    expect(metricSample(text, "grpc_server_handled_total", { ...getUser, grpc_code: "NotFound" })).toBe(1);
    expect(metricSample(text, "grpc_server_handled_total", { ...getUser, grpc_code: "Unauthenticated" })).toBe(1);
    expect(metricSample(text, "grpc_server_msg_sent_total", getUser)).toBe(2);
    expect(metricSample(text, "grpc_server_handling_seconds_count", getUser)).toBe(4);
    expect(metricSample(text, "grpc_server_handling_seconds_bucket", { ...getUser, le: "+Inf" })).toBe(4);
    expect(metricSample(text, "grpc_server_handling_seconds_bucket", { ...getUser, le: "10" })).toBe(4);

    expect(metricSample(text, "grpc_server_started_total", streamUsers)).toBe(1);
    expect(metricSample(text, "grpc_server_msg_received_total", streamUsers)).toBe(1);
    expect(metricSample(text, "grpc_server_msg_sent_total", streamUsers)).toBe(3);
    expect(metricSample(text, "grpc_server_handled_total", { ...streamUsers, grpc_code: "OK" })).toBe(1);
  });

  it("reads registered gauges when scraped", async () => {
    widgets = 7;
    expect(metricSample((await scrape()).text, "test_widgets")).toBe(7);
    widgets = 3;
    expect(metricSample((await scrape()).text, "test_widgets")).toBe(3);
  });

  it("answers 404 for any path but /metrics", async () => {
    expect((await scrape("/")).status).toBe(404);
  });

  it("labels codes as Go names them", () => {
    expect([Code.OK, Code.CANCELLED, Code.RESOURCE_EXHAUSTED, Code.UNAUTHENTICATED].map(grpcCodeLabel)).toEqual([
      "OK",
      "Canceled",
      "ResourceExhausted",
      "Unauthenticated",
    ]);
  });
});
