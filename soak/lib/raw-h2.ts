// gRPC by hand over node:http2, for what no gRPC client sends: repeated headers, bodies that are not the message they
// claim to be, truncated frames, a wrong compression flag, a length prefix larger than the body. Each request is one
// HTTP/2 stream; the answer is its HTTP status, grpc-status, grpc-message and ErrorInfo reason (from
// grpc-status-details-bin), or how the stream died.
import {
  connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type OutgoingHttpHeaders,
} from "node:http2";
import { Code, OrderlyError } from "@orderly/clients";
import { Metadata } from "@grpc/grpc-js";

/** What one raw request got back. */
export interface RawAnswer {
  /** The grpc-status (a Code), or undefined when the stream ended without one (reset, connection lost). */
  code: number | undefined;
  reason: string;
  message: string;
  /** Bytes of grpc-status-details-bin (0 when absent). */
  detailsBytes: number;
  /** Response message bytes received (the frames' payload, prefixes included). */
  bodyBytes: number;
  /** How the stream failed when it carried no status ("RST_STREAM 2", "ECONNRESET", "timeout"). */
  transport?: string;
  /** True when a server stream sent a message and the harness closed it (closeOnData). */
  streamed?: boolean;
  /** The response bytes (keepBody). */
  body?: Buffer;
}

/** One gRPC frame: compression flag, 4-byte length, payload; `length` overrides the prefix (a lie about the size). */
export function frame(payload: Uint8Array, options: { compressed?: boolean; length?: number } = {}): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(options.compressed ? 1 : 0, 0);
  head.writeUInt32BE(options.length ?? payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** An HTTP/2 connection to a gRPC server. */
export function h2Connect(address: string, settings: { initialWindowSize?: number } = {}): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    // A fuzzer has many large bodies in flight: past node's default 10 MB of session memory its own nghttp2 would
    // refuse new streams (RST_STREAM ENHANCE_YOUR_CALM) before the server saw them.
    const session = connect(`http://${address}`, { settings, maxSessionMemory: 1024 });
    session.once("connect", () => {
      session.off("error", reject);
      session.on("error", () => {}); // a connection the server closes fails its streams, which report it
      resolve(session);
    });
    session.once("error", reject);
  });
}

/** The request headers of a gRPC call of `path`, plus `extra` (values may be lists: repeated headers). */
export function grpcHeaders(path: string, extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return {
    [constants.HTTP2_HEADER_METHOD]: "POST",
    [constants.HTTP2_HEADER_PATH]: path,
    [constants.HTTP2_HEADER_SCHEME]: "http",
    "content-type": "application/grpc",
    te: "trailers",
    ...extra,
  };
}

/**
 * Sends `body` as the request's DATA and reads the answer; settles within timeoutMs. With closeOnData, a server stream
 * that sends a message is closed (cancelled) at once and reported as streamed; with keepBody, the response bytes are
 * kept.
 */
export function rawRequest(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body: Uint8Array,
  timeoutMs = 10_000,
  closeOnData = false,
  keepBody = false,
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    let bodyBytes = 0;
    const chunks: Buffer[] = [];
    let status: Record<string, unknown> | undefined;
    let settled = false;
    let stream: ClientHttp2Stream | undefined;
    const finish = (transport?: string, streamed = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const answer = answerOf(status, bodyBytes, transport);
      resolve({ ...answer, ...(streamed ? { streamed } : {}), ...(keepBody ? { body: Buffer.concat(chunks) } : {}) });
    };
    const timer = setTimeout(() => {
      stream?.close(constants.NGHTTP2_CANCEL);
      finish("timeout");
    }, timeoutMs);
    try {
      stream = session.request(headers, { endStream: false });
    } catch (error) {
      finish(`request refused: ${(error as Error).message}`);
      return;
    }
    const open = stream;
    open.on("response", (responseHeaders) => {
      if (responseHeaders["grpc-status"] !== undefined) status = responseHeaders; // trailers-only answer
    });
    open.on("trailers", (trailers: Record<string, unknown>) => {
      status = trailers;
    });
    open.on("data", (chunk: Buffer) => {
      bodyBytes += chunk.length;
      if (keepBody) chunks.push(chunk);
      if (closeOnData) {
        open.close(constants.NGHTTP2_CANCEL);
        finish(undefined, true);
      }
    });
    open.on("error", (error: Error) => finish(error.message));
    open.on("close", () => finish(status ? undefined : `closed without status (RST_STREAM ${open.rstCode})`));
    open.end(Buffer.from(body));
  });
}

function answerOf(headers: Record<string, unknown> | undefined, bodyBytes: number, transport?: string): RawAnswer {
  if (!headers)
    return {
      code: undefined,
      reason: "",
      message: "",
      detailsBytes: 0,
      bodyBytes,
      ...(transport ? { transport } : {}),
    };
  const code = Number(headers["grpc-status"]);
  const rawMessage = headers["grpc-message"];
  const message = typeof rawMessage === "string" ? decodeURIComponent(rawMessage) : "";
  const details = headers["grpc-status-details-bin"];
  const metadata = new Metadata();
  let detailsBytes = 0;
  if (typeof details === "string") {
    const bytes = Buffer.from(details, "base64");
    metadata.set("grpc-status-details-bin", bytes);
    detailsBytes = bytes.length;
  }
  const error: unknown = Object.assign(new Error(message), { code, details: message, metadata });
  const reason = code === (Code.OK as number) ? "" : OrderlyError.from(error).reason;
  return { code, reason, message, detailsBytes, bodyBytes };
}
