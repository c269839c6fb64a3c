// gRPC over plain HTTP/2, for load generators that are not a gRPC library: a length-prefixed request body, a check of
// one real answer (h2load counts any HTTP 200 as a success even when grpc-status is not 0), and the messages of a
// response stream cut out of its DATA chunks (the WatchOrders client, bench/load/watch-orders.ts).
import { connect } from "node:http2";

/** A gRPC message frame: 0x00 (not compressed), a 4-byte big-endian length, the protobuf bytes. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/**
 * Cuts a response body into gRPC messages as its chunks arrive: `onMessage` gets each message's protobuf bytes (a
 * view into the chunk when the message lies within one, a copy when it spans several). Throws on a compressed message:
 * nothing here asks for compression, so one means the peer is not the server the bench thinks it is.
 */
export class GrpcMessageReader {
  private pending: Buffer | undefined = undefined;

  constructor(private readonly onMessage: (message: Buffer) => void) {}

  push(chunk: Buffer): void {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let at = 0;
    while (data.length - at >= 5) {
      if (data[at] !== 0) throw new Error(`a compressed gRPC message (flag ${data[at]}): none was asked for`);
      const end = at + 5 + data.readUInt32BE(at + 1);
      if (end > data.length) break;
      this.onMessage(data.subarray(at + 5, end));
      at = end;
    }
    if (at < data.length) this.pending = Buffer.from(data.subarray(at));
  }

  /** Bytes of an incomplete message held back; a stream that ends with some was cut short. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }
}

/** One unary answer, as seen on the wire. */
export interface RawAnswer {
  httpStatus: number;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  /** The response message's protobuf bytes (frame header removed). */
  message: Buffer;
}

/** Sends one request with exactly the headers given to h2load and returns status and message. */
export function callOnce(
  address: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://${address}`);
    session.once("error", reject);
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    const chunks: Buffer[] = [];
    let httpStatus = 0;
    // A failed call may come "trailers-only": grpc-status then arrives in the response headers.
    let grpcStatus: string | undefined;
    let grpcMessage: string | undefined;
    const take = (h: Record<string, string | string[] | number | undefined>) => {
      if (h["grpc-status"] !== undefined) grpcStatus = String(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) grpcMessage = decodeURIComponent(String(h["grpc-message"]));
    };
    stream.on("response", (h) => {
      httpStatus = Number(h[":status"]);
      take(h);
    });
    stream.on("trailers", take);
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      const data = Buffer.concat(chunks);
      const message = data.length >= 5 ? data.subarray(5, 5 + data.readUInt32BE(1)) : Buffer.alloc(0);
      resolve({ httpStatus, grpcStatus, grpcMessage, message });
    });
    stream.end(body);
  });
}
