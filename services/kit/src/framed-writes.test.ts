// Framed batch writes: the framing itself, the check of grpc-js's internals (and the fall-back when they differ), a
// bare grpc-js server writing batches through it, and the kit writing Encoded batches with backpressure and deadlines.
import {
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServerWritableStream,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, OrderlyError } from "@orderly/common";
import {
  StreamUsersResponse,
  UserServiceClient,
  UserServiceService,
  type StreamUsersRequest,
} from "@orderly/proto/orderly/user/v1/user_service";
import { callInternalsOf, directWrites, framed, framedBatchWriter, framedWriter } from "./framed-writes.js";
import { Encoded, withPreEncoding } from "./service.js";
import { startTestServer, streamUsersOnly, testToken, testUser, type TestServer } from "./testing.js";

const bytesOf = (message: unknown) => (message instanceof Encoded ? message.bytes : undefined);

function encodedUser(id: string): Encoded<StreamUsersResponse> {
  return new Encoded(Buffer.from(StreamUsersResponse.encode({ user: testUser(id) }).finish()));
}

function batchOf(from: number, size: number): Encoded<StreamUsersResponse>[] {
  return Array.from({ length: size }, (_, i) => encodedUser(`usr_${from + i}`));
}

/** Reads a whole stream, returning the user ids in order and the status it ended with. */
async function readAll(
  address: string,
  filter: string,
  options: { token?: string; deadlineMs?: number } = {},
): Promise<{ ids: string[]; error?: OrderlyError }> {
  const client = new UserServiceClient(address, credentials.createInsecure());
  const metadata = new Metadata();
  if (options.token) metadata.set("authorization", `Bearer ${options.token}`);
  const deadline = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  const ids: string[] = [];
  try {
    const call = client.streamUsers({ filter: { emailContains: filter } }, metadata, deadline);
    for await (const message of call) ids.push((message as StreamUsersResponse).user?.id ?? "");
    return { ids };
  } catch (error) {
    return { ids, error: OrderlyError.from(error) };
  } finally {
    client.close();
  }
}

describe("framed", () => {
  it("puts grpc-js's 5-byte header (uncompressed, big-endian length) before each message", () => {
    const out = framed([new Encoded(Buffer.from([1, 2, 3])), new Encoded(Buffer.alloc(0))], bytesOf)!;
    expect([...out]).toEqual([0, 0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 0, 0]);
  });

  it("declines a batch holding a message that is not pre-encoded, too large, or no message at all", () => {
    expect(framed([new Encoded(Buffer.from([1])), { user: testUser("usr_1") }], bytesOf)).toBeUndefined();
    expect(framed([new Encoded(Buffer.alloc(11))], bytesOf, 10)).toBeUndefined();
    expect(framed([new Encoded(Buffer.alloc(10))], bytesOf, 10)).toHaveLength(15);
    expect(framed([], bytesOf)).toBeUndefined();
  });
});

describe("callInternalsOf", () => {
  const stream = { write() {}, respond() {}, once() {}, writableEnded: false, writableNeedDrain: false };
  const base = { stream, metadataSent: true, cancelled: false, maxSendMessageSize: -1, callEventTracker: null };
  const passThrough = () => {};

  it("finds grpc-js's call through pass-through interceptor layers", () => {
    const layered = {
      responder: { sendMessage: passThrough },
      nextCall: { responder: { sendMessage: passThrough }, nextCall: base },
    };
    expect(callInternalsOf({ call: layered })).toBe(base);
  });

  it("declines when a layer rewrites messages or the internals have another shape", () => {
    const rewriting = { responder: { sendMessage: passThrough }, nextCall: { responder: { sendMessage() {} } } };
    expect(callInternalsOf({ call: rewriting })).toBeUndefined();
    expect(callInternalsOf({ call: { responder: { sendMessage: passThrough }, nextCall: base } })).toBe(base);
    expect(callInternalsOf({ call: { ...base, metadataSent: "yes" } })).toBeUndefined();
    expect(callInternalsOf({ call: { ...base, stream: { write() {} } } })).toBeUndefined();
    expect(callInternalsOf({ call: { nextCall: base } })).toBeUndefined();
    expect(callInternalsOf({})).toBeUndefined();
    expect(callInternalsOf(undefined)).toBeUndefined();
  });
});

describe("framedBatchWriter on a bare grpc-js server", () => {
  /** What the handler saw: whether a writer was made, and what each write returned. */
  const seen: { writer: boolean; before?: boolean; taken: boolean[] }[] = [];

  async function serve(interceptors: ServerInterceptor[]): Promise<{ address: string; server: Server }> {
    const server = new Server({ interceptors });
    server.addService(withPreEncoding(UserServiceService), {
      streamUsers(call: ServerWritableStream<StreamUsersRequest, unknown>) {
        const write = framedBatchWriter(call, bytesOf);
        const record: (typeof seen)[number] = { writer: write !== undefined, taken: [] };
        seen.push(record);
        void (async () => {
          const signal = new AbortController().signal;
          // Before the headers went out grpc-js must send them: the writer declines.
          record.before = await write?.(batchOf(0, 1), signal);
          call.sendMetadata(new Metadata());
          for (let from = 0; from < 3_000; from += 1_000) {
            const batch = batchOf(from, 1_000);
            const taken = (await write?.(batch, signal)) ?? false;
            record.taken.push(taken);
            if (!taken) for (const message of batch) call.write(message);
          }
          call.end();
        })();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    return { address: `127.0.0.1:${port}`, server };
  }

  const rawServer = (server: Server) => new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  const expected = Array.from({ length: 3_000 }, (_, i) => `usr_${i}`);

  it("writes whole batches, every message arriving in order, with backpressure (1,000 messages per write)", async () => {
    const { address, server } = await serve([]);
    const { ids, error } = await readAll(address, "");
    await rawServer(server);
    expect(error).toBeUndefined();
    expect(seen.at(-1)).toEqual({ writer: true, before: false, taken: [true, true, true] });
    expect(ids).toEqual(expected);
  });

  it("makes no writer when a grpc-js interceptor rewrites messages", async () => {
    const rewriting: ServerInterceptor = (_method, call) =>
      new ServerInterceptingCall(call, { sendMessage: (message, next) => next(message) });
    const passing: ServerInterceptor = (_method, call) => new ServerInterceptingCall(call);
    const { address, server } = await serve([passing, rewriting]);
    const { ids, error } = await readAll(address, "");
    await rawServer(server);
    expect(error).toBeUndefined();
    // Every message went through grpc-js one by one, still in order.
    expect(ids).toEqual(expected);
    expect(seen.at(-1)?.writer).toBe(false);
  });
});

describe("framedWriter on a bare grpc-js server", () => {
  it("writes single framed messages in order with grpc-js's own writes, declining while grpc-js holds one", async () => {
    const seen = { writer: false, before: undefined as boolean | undefined, direct: 0, declined: 0, pushedBack: 0 };
    const server = new Server();
    server.addService(withPreEncoding(UserServiceService), {
      streamUsers(call: ServerWritableStream<StreamUsersRequest, unknown>) {
        const writer = framedWriter(call);
        seen.writer = writer !== undefined;
        void (async () => {
          const signal = new AbortController().signal;
          // Before the headers went out grpc-js must send them: the writer declines.
          seen.before = writer?.write(encodedUser("usr_early").frame);
          call.sendMetadata(new Metadata());
          for (let i = 0; i < 3_000; i++) {
            // Now and then a message through grpc-js, which holds it until written: the next frame must wait behind it.
            if (i % 500 === 250) {
              call.write({ user: testUser(`usr_${i}`) });
              continue;
            }
            const message = encodedUser(`usr_${i}`);
            const more = writer?.write(message.frame);
            if (more === undefined) {
              seen.declined++;
              if (!call.write(message)) await new Promise((resolve) => call.once("drain", resolve));
              continue;
            }
            seen.direct++;
            if (!more) {
              seen.pushedBack++;
              await writer!.drained(signal);
            }
          }
          call.end();
        })();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const { ids, error } = await readAll(`127.0.0.1:${port}`, "");
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    expect(error).toBeUndefined();
    expect(ids).toEqual(Array.from({ length: 3_000 }, (_, i) => `usr_${i}`));
    expect(seen).toMatchObject({ writer: true, before: undefined });
    expect(seen.declined).toBeGreaterThanOrEqual(6); // at least the frame right after each grpc-js write
    expect(seen.direct).toBeGreaterThan(2_000);
  });

  it("frames a message once however often it is written", () => {
    const message = encodedUser("usr_once");
    expect(message.frame).toBe(message.frame);
    expect([...message.frame.subarray(0, 5)]).toEqual([0, 0, 0, 0, message.bytes.length]);
  });
});

describe("Encoded batches through the kit", () => {
  let server: TestServer;
  let token: string;
  let batchesMade = 0;

  beforeAll(async () => {
    server = await startTestServer((s) =>
      s.addService(
        UserServiceService,
        streamUsersOnly(async function* (request, ctx) {
          const endless = request.filter?.emailContains === "endless";
          for (let from = 0; endless || from < 20_000; from += 500) {
            batchesMade++;
            yield batchOf(from, 500);
            if (from === 1_000 && !endless) yield { user: testUser("usr_single") };
            if (ctx.signal.aborted) return;
          }
        }),
      ),
    );
    token = await testToken("adm_1", ["admin"]);
  });

  afterAll(() => server.close());

  it("sends every message of every batch, in order, beside single messages", async () => {
    const directBefore = directWrites.messages;
    const { ids, error } = await readAll(server.address, "", { token });
    // Through the whole kit chain the batches went out as single HTTP/2 writes. The single message goes through
    // grpc-js, and so may the batch after it (while grpc-js still holds that message); then the batches return to
    // the framed path (they would not, were the kit not to wait for grpc-js to write its last one).
    expect(directWrites.messages - directBefore).toBeGreaterThanOrEqual(20_000 - 500);
    expect(error).toBeUndefined();
    const expected = Array.from({ length: 20_000 }, (_, i) => `usr_${i}`);
    expected.splice(1_500, 0, "usr_single");
    expect(ids).toEqual(expected);
  });

  it("ends an endless stream of batches with DEADLINE_EXCEEDED on time, after messages flowed", async () => {
    const started = Date.now();
    const { ids, error } = await readAll(server.address, "endless", { token, deadlineMs: 300 });
    expect(error?.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(ids.length).toBeGreaterThan(500);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("stops producing batches once a client that stopped reading has its HTTP/2 window full", async () => {
    // A 1 KB window, as the soak's slow consumers have: grpc-js's client otherwise keeps taking DATA into its own
    // memory while its caller does not read, so the server would rightly go on sending.
    const client = new UserServiceClient(server.address, credentials.createInsecure(), {
      "grpc-node.flow_control_window": 1024,
    });
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    const call = client.streamUsers({ filter: { emailContains: "endless" } }, metadata);
    call.on("error", () => {}); // the CANCELLED this test causes
    const before = batchesMade;
    await new Promise<void>((resolve) => call.once("data", () => resolve()));
    call.pause(); // never resumed
    // Settles once flow control has stopped the producer: the count no longer moves.
    let last = -1;
    for (let i = 0; i < 50 && batchesMade !== last; i++) {
      last = batchesMade;
      await new Promise((r) => setTimeout(r, 100));
    }
    const stalled = batchesMade === last;
    const paused = batchesMade - before;
    call.cancel();
    client.close();
    expect(stalled).toBe(true);
    // The window, the socket and the batch being written hold a few; an unbounded writer would have made hundreds.
    expect(paused).toBeGreaterThan(0);
    expect(paused).toBeLessThan(20);
  });
});
