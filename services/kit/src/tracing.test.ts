// The tracing interceptor in a real server on 127.0.0.1:0, called by a real grpc-js client with and without a W3C
// traceparent, its spans caught by the SDK's InMemorySpanExporter: one SERVER span per call, child of the caller's
// span when it sent one, active while the handler runs (so outgoing calls inherit it), with the gRPC status code, an
// ERROR status for the server's own faults only, and its ids in the call's log line.
import { credentials, Metadata } from "@grpc/grpc-js";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Code, OrderlyError } from "@orderly/common";
import { UserServiceClient, UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import { DomainError } from "./domain/errors.js";
import { startTestServer, testToken, type TestServer, notInTest } from "./testing.js";
import { samplerOf, Tracing } from "./tracing.js";

const exporter = new InMemorySpanExporter();
const time = new Date(0);
let server: TestServer;
let client: UserServiceClient;
let token: string;

beforeAll(async () => {
  const tracing = new Tracing({ serviceName: "test", exporter, batch: false });
  server = await startTestServer(
    (s) =>
      s.addService(UserServiceService, {
        async getUser(request) {
          if (request.id === "missing") throw new DomainError("not_found", "USER_NOT_FOUND", "no such user");
          if (request.id === "boom") throw new Error("broken");
          // What an outgoing client call would inject: the active span, here sent back in the etag.
          const active = trace.getActiveSpan()?.spanContext();
          const etag = active ? `${active.traceId}/${active.spanId}` : "none";
          return {
            user: {
              id: request.id,
              email: "a@example.com",
              profile: undefined,
              etag,
              createTime: time,
              updateTime: time,
            },
          };
        },
        async *streamUsers() {},
        createUser: notInTest,
        batchGetUsers: notInTest,
        listUsers: notInTest,
        updateUser: notInTest,
        deleteUser: notInTest,
      }),
    { tracing },
  );
  client = new UserServiceClient(server.address, credentials.createInsecure());
  token = await testToken("adm_trace", ["admin"]);
});

afterAll(async () => {
  client.close();
  await server.close();
});

beforeEach(() => exporter.reset());

/** GetUser with an optional traceparent; resolves with the etag or the error. */
function getUser(id: string, traceparent?: string): Promise<string | OrderlyError> {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  if (traceparent) metadata.set("traceparent", traceparent);
  return new Promise((resolve) =>
    client.getUser({ id }, metadata, (error, response) =>
      resolve(error ? OrderlyError.from(error) : (response.user?.etag ?? "")),
    ),
  );
}

const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";

describe("the tracing interceptor", () => {
  it("continues the caller's trace with a SERVER span, active in the handler, its ids in the log line", async () => {
    const active = await getUser("usr_1", `00-${CALLER_TRACE}-${CALLER_SPAN}-01`);
    const [span, ...others] = exporter.getFinishedSpans();
    expect(others).toHaveLength(0);
    expect(span!.name).toBe("orderly.user.v1.UserService/GetUser");
    expect(span!.kind).toBe(SpanKind.SERVER);
    expect(span!.spanContext().traceId).toBe(CALLER_TRACE);
    expect(span!.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(span!.parentSpanContext?.isRemote).toBe(true);
    expect(span!.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": "orderly.user.v1.UserService",
      "rpc.method": "GetUser",
      "rpc.grpc.status_code": Code.OK,
    });
    expect(span!.resource.attributes["service.name"]).toBe("test");
    expect(active).toBe(`${CALLER_TRACE}/${span!.spanContext().spanId}`);
    const line = server.logs.findLast((l) => l.msg === "call");
    expect(line).toMatchObject({ traceId: CALLER_TRACE, spanId: span!.spanContext().spanId, code: "OK" });
  });

  it("starts a new trace when the caller sent none (or a malformed one)", async () => {
    await getUser("usr_1");
    await getUser("usr_1", "00-not-a-traceparent-01");
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(spans[0]!.spanContext().traceId).not.toBe(spans[1]!.spanContext().traceId);
  });

  it("records the status code; only the server's own faults mark the span as an error", async () => {
    expect(await getUser("missing")).toMatchObject({ code: Code.NOT_FOUND });
    expect(await getUser("boom")).toMatchObject({ code: Code.INTERNAL });
    const [notFound, internal] = exporter.getFinishedSpans();
    expect(notFound!.attributes).toMatchObject({
      "rpc.grpc.status_code": Code.NOT_FOUND,
      "orderly.reason": "USER_NOT_FOUND",
    });
    expect(notFound!.status.code).toBe(SpanStatusCode.UNSET);
    expect(internal!.attributes["rpc.grpc.status_code"]).toBe(Code.INTERNAL);
    expect(internal!.status).toEqual({ code: SpanStatusCode.ERROR, message: "internal error" });
  });

  it("follows the caller's sampling decision under parentbased samplers", async () => {
    await getUser("usr_1", `00-${CALLER_TRACE}-${CALLER_SPAN}-00`);
    expect(exporter.getFinishedSpans()).toHaveLength(0); // unsampled parent: recorded by nobody, still propagated
    expect(samplerOf("parentbased_traceidratio", 0.5).toString()).toContain("TraceIdRatioBased{0.5}");
  });
});
