// A server stream whose handler pushes (StreamPush) instead of yielding: over a real server and client on loopback,
// messages arrive in order and the call ends with the producer's outcome; send() reports the client's push-back and
// whenWritable() waits for it to read again; once the client has gone, whenWritable() rejects and send() sends nothing.
import { credentials, Metadata, type ClientReadableStream } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, OrderlyError } from "@orderly/common";
import {
  StreamUsersResponse,
  UserServiceClient,
  UserServiceService,
} from "@orderly/proto/orderly/user/v1/user_service";
import { DomainError } from "./domain/errors.js";
import { directWrites } from "./framed-writes.js";
import { Encoded, type StreamSink } from "./service.js";
import { startTestServer, streamUsersOnly, testToken, testUser, type TestServer } from "./testing.js";

const FLOOD = 1_000;
const big = (id: string) => ({ user: { ...testUser(id), email: `${"x".repeat(8_000)}@example.com` } });

/** What the flood and cancel producers saw, read by the tests. */
const seen: { sent: number; pushedBack: number; afterCancel?: { rejected: unknown; sendAfter: boolean } } = {
  sent: 0,
  pushedBack: 0,
};

async function flood(sink: StreamSink<StreamUsersResponse>): Promise<void> {
  for (let i = 0; i < FLOOD; i++) {
    seen.sent++;
    // Pre-encoded, so these go straight to the HTTP/2 stream, whose push-back whenWritable must wait for.
    if (
      !sink.send(new Encoded<StreamUsersResponse>(Buffer.from(StreamUsersResponse.encode(big(`usr_${i}`)).finish())))
    ) {
      seen.pushedBack++;
      await sink.whenWritable();
    }
  }
}

async function untilCancelled(sink: StreamSink<StreamUsersResponse>): Promise<void> {
  let rejected: unknown;
  try {
    for (;;) if (!sink.send(big("usr_x"))) await sink.whenWritable();
  } catch (error) {
    rejected = error;
  }
  seen.afterCancel = { rejected, sendAfter: sink.send(big("usr_late")) };
}

let server: TestServer;
let client: UserServiceClient;
let metadata: Metadata;

beforeAll(async () => {
  server = await startTestServer((s) =>
    s.addService(
      UserServiceService,
      streamUsersOnly((request) => {
        const mode = request.filter?.emailContains;
        return async (sink) => {
          if (mode === "flood") return flood(sink);
          if (mode === "cancel") return untilCancelled(sink);
          sink.send({ user: testUser("usr_1") });
          sink.send(new Encoded<StreamUsersResponse>(Buffer.from(StreamUsersResponse.encode(big("usr_2")).finish())));
          if (mode === "fail") throw new DomainError("not_found", "USER_NOT_FOUND", "gone mid-stream");
          sink.send({ user: testUser("usr_3") });
        };
      }),
    ),
  );
  client = new UserServiceClient(server.address, credentials.createInsecure());
  metadata = new Metadata();
  metadata.set("authorization", `Bearer ${await testToken("adm_1", ["admin"])}`);
});

afterAll(async () => {
  client.close();
  await server.close();
});

const open = (mode: string): ClientReadableStream<StreamUsersResponse> =>
  client.streamUsers({ filter: { emailContains: mode } }, metadata);

/** Every user id the stream sent, and how it ended. */
async function readAll(call: ClientReadableStream<StreamUsersResponse>): Promise<{ ids: string[]; end: OrderlyError }> {
  const ids: string[] = [];
  try {
    for await (const message of call as AsyncIterable<StreamUsersResponse>) ids.push(message.user!.id);
  } catch (error) {
    return { ids, end: OrderlyError.from(error) };
  }
  return { ids, end: new OrderlyError(Code.OK, "ok") };
}

describe("a pushed server stream", () => {
  it("delivers what the producer sends, messages and pre-encoded bytes alike, in order, then OK", async () => {
    const { ids, end } = await readAll(open("plain"));
    expect(ids).toEqual(["usr_1", "usr_2", "usr_3"]);
    expect(end.code).toBe(Code.OK);
  });

  it("ends with the producer's error as its status, after what it sent before", async () => {
    const { ids, end } = await readAll(open("fail"));
    expect(ids).toEqual(["usr_1", "usr_2"]);
    expect([end.code, end.reason]).toEqual([Code.NOT_FOUND, "USER_NOT_FOUND"]);
  });

  it("stops a producer that waits on whenWritable while the client does not read, and resumes it when it does", async () => {
    seen.sent = 0;
    seen.pushedBack = 0;
    const directBefore = directWrites.messages;
    const call = open("flood");
    await new Promise<void>((resolve) => call.once("data", () => resolve()));
    call.pause();
    // Settles once HTTP/2 flow control has stopped the producer: the count no longer moves.
    let last = -1;
    while (seen.sent !== last) {
      last = seen.sent;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen.sent).toBeLessThan(FLOOD); // 8 MB cannot fit in the windows: it waited
    expect(seen.pushedBack).toBeGreaterThan(0);
    call.resume();
    const { ids, end } = await readAll(call);
    expect(end.code).toBe(Code.OK);
    expect(ids).toHaveLength(FLOOD - 1); // all but the first, read above
    expect(seen.sent).toBe(FLOOD);
    // Through the whole kit chain every pre-encoded message went straight to the HTTP/2 stream (framedWriter): the
    // kit sends the headers before the producer starts, and nothing else went through grpc-js.
    expect(directWrites.messages - directBefore).toBe(FLOOD);
  });

  it("rejects whenWritable once the client cancels, and sends nothing after", async () => {
    delete seen.afterCancel;
    const call = open("cancel");
    call.on("error", () => {});
    await new Promise<void>((resolve) => call.once("data", () => resolve()));
    call.cancel();
    const deadline = Date.now() + 5_000;
    // Read through a function: the producer sets it while this test awaits.
    const outcome = () => seen.afterCancel;
    while (!outcome() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(outcome()?.rejected).toMatchObject({ kind: "cancelled" });
    expect(outcome()?.sendAfter).toBe(false);
  });
});
