// Several pre-encoded server-stream messages in one HTTP/2 write. grpc-js's public API frames every message itself:
// ServerWritableStream.write -> sendMessage -> serializeMessage puts the 5-byte gRPC header in front of the one
// serialized message and hands it to its own http2 stream.write (@grpc/grpc-js 1.14.7,
// build/src/server-interceptors.js:495-505 and :663-718), so there is no public way to send pre-framed bytes or
// several messages per write. This reaches grpc-js's call object (BaseServerInterceptingCall) for its http2 stream and
// writes a whole batch, each message framed as grpc-js frames it (uncompressed: grpc-js never compresses responses),
// in one stream.write: a DATA frame then carries many messages, and the per-message work of the Writable, the
// interceptor layers and the copy into a framed buffer is done once per batch. Whenever the internals are not exactly
// as expected, or the batch is not one this path may take, it declines and the caller writes message by message.
import type { ServerWritableStream } from "@grpc/grpc-js";

/** The 5-byte prefix of every gRPC message: a compressed flag (0) and the length (big-endian uint32). */
const FRAME_HEADER_BYTES = 5;

/**
 * What this process has written past grpc-js's per-message path: HTTP/2 writes and the messages in them. Tests read
 * it through the whole kit, so a grpc-js upgrade or a new interceptor that makes these paths decline fails a test
 * instead of silently costing the throughput they exist for.
 */
export const directWrites = { writes: 0, messages: 0 };

/** The parts of grpc-js's BaseServerInterceptingCall this path reads (1.14.x). */
interface CallInternals {
  stream: StreamInternals;
  metadataSent: boolean;
  cancelled: boolean;
  maxSendMessageSize: number;
  callEventTracker?: { addMessageSent(): void } | null;
}

/** The parts of Node's ServerHttp2Stream used here. */
interface StreamInternals {
  write(chunk: Buffer, callback: (error?: Error | null) => void): boolean;
  once(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
  respond: unknown;
  destroyed: boolean;
  closed: boolean;
  writableEnded: boolean;
  writableNeedDrain: boolean;
}

/**
 * Writes a batch of messages as framed bytes in one write, resolving once the stream may take more (true), or
 * resolves false without writing anything when the batch must go through grpc-js message by message.
 */
export type FramedBatchWriter = (messages: readonly unknown[], signal: AbortSignal) => Promise<boolean>;

/**
 * A FramedBatchWriter for this call, or undefined when grpc-js's internals are not the expected shape or a grpc-js
 * server interceptor rewrites messages (its sendMessage is not the pass-through one every other layer shares).
 * `bytesOf` gives a message's encoded bytes, or undefined when the message is not pre-encoded (then the whole batch
 * goes through grpc-js).
 */
export function framedBatchWriter(
  call: ServerWritableStream<unknown, unknown>,
  bytesOf: (message: unknown) => Buffer | undefined,
): FramedBatchWriter | undefined {
  const internals = callInternalsOf(call);
  if (!internals) return undefined;
  const { stream } = internals;
  let failure: Error | undefined;
  return async (messages, signal) => {
    if (failure) throw failure;
    // grpc-js sends the headers itself with the first message; a cancelled or ended call, or one with messages still
    // queued in its Writable, is left to grpc-js (which drops, or writes in order).
    if (!internals.metadataSent || internals.cancelled || call.writableLength !== 0) return false;
    if (stream.destroyed || stream.closed || stream.writableEnded) return false;
    const frame = framed(messages, bytesOf, internals.maxSendMessageSize);
    if (!frame) return false;
    const count = messages.length;
    const tracker = internals.callEventTracker;
    const more = stream.write(frame, (error) => {
      if (error) {
        failure = error;
        return;
      }
      if (tracker) for (let i = 0; i < count; i++) tracker.addMessageSent();
    });
    directWrites.writes++;
    directWrites.messages += count;
    if (!more) await drained(stream, signal);
    return true;
  };
}

/** Writes single pre-framed messages straight to a call's HTTP/2 stream; see framedWriter. */
export interface FramedWriter {
  /**
   * Writes one framed message (a gRPC message with its 5-byte header): true if the stream takes more, false once it
   * pushes back (the message was taken), undefined without writing when the message must go through grpc-js.
   */
  write(frame: Buffer): boolean | undefined;
  /** True while the HTTP/2 stream holds more than it wants (a write returned false and it has not drained). */
  readonly needsDrain: boolean;
  /** Resolves when the HTTP/2 stream drains or closes; rejects with the signal's reason if it aborts first. */
  drained(signal: AbortSignal): Promise<void>;
}

/**
 * A FramedWriter for this call, or undefined as for framedBatchWriter. Made for fan-outs: one event framed once (see
 * Encoded.frame) is written as the same buffer to every stream, with none of grpc-js's per-message Writable,
 * interceptor and copy work. It declines under the same conditions as framedBatchWriter, so a message never overtakes
 * one grpc-js still holds, and never goes out after the status.
 */
export function framedWriter(call: ServerWritableStream<unknown, unknown>): FramedWriter | undefined {
  const internals = callInternalsOf(call);
  if (!internals) return undefined;
  const { stream } = internals;
  const tracker = internals.callEventTracker;
  const counted = tracker ? () => tracker.addMessageSent() : () => {};
  return {
    write(frame) {
      if (!internals.metadataSent || internals.cancelled || call.writableLength !== 0) return undefined;
      if (stream.destroyed || stream.closed || stream.writableEnded) return undefined;
      const max = internals.maxSendMessageSize;
      if (max !== -1 && frame.length - FRAME_HEADER_BYTES > max) return undefined;
      directWrites.writes++;
      directWrites.messages++;
      // A failed write destroys the stream; grpc-js then sees it close and cancels the call, which ends the producer.
      return stream.write(frame, counted);
    },
    get needsDrain() {
      return stream.writableNeedDrain;
    },
    drained: (signal) => drained(stream, signal),
  };
}

/** One message's bytes with the 5-byte gRPC header in front, as grpc-js frames it (never compressed). */
export function frameOf(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bytes.length);
  out[0] = 0;
  out.writeUInt32BE(bytes.length, 1);
  bytes.copy(out, FRAME_HEADER_BYTES);
  return out;
}

/**
 * The batch as one buffer of gRPC-framed messages, or undefined if a message is not pre-encoded or is larger than
 * grpc-js allows (grpc-js then answers RESOURCE_EXHAUSTED itself).
 */
export function framed(
  messages: readonly unknown[],
  bytesOf: (message: unknown) => Buffer | undefined,
  maxMessageBytes = -1,
): Buffer | undefined {
  if (messages.length === 0) return undefined;
  const parts: Buffer[] = new Array<Buffer>(messages.length);
  let total = 0;
  for (let i = 0; i < messages.length; i++) {
    const bytes = bytesOf(messages[i]);
    if (!bytes || (maxMessageBytes !== -1 && bytes.length > maxMessageBytes)) return undefined;
    parts[i] = bytes;
    total += FRAME_HEADER_BYTES + bytes.length;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const bytes of parts) {
    out[at] = 0;
    out.writeUInt32BE(bytes.length, at + 1);
    bytes.copy(out, at + FRAME_HEADER_BYTES);
    at += FRAME_HEADER_BYTES + bytes.length;
  }
  return out;
}

/**
 * grpc-js's own call behind a ServerWritableStream: `.call` is the outermost ServerInterceptingCall, each layer's
 * `.nextCall` the next, and the innermost (BaseServerInterceptingCall) holds the http2 `.stream`.
 */
export function callInternalsOf(call: unknown): CallInternals | undefined {
  let layer = propertyOf(call, "call");
  let passThrough: unknown;
  for (let depth = 0; depth < 32 && layer !== undefined; depth++) {
    if (propertyOf(layer, "stream") !== undefined) return isCallInternals(layer) ? layer : undefined;
    const sendMessage = propertyOf(propertyOf(layer, "responder"), "sendMessage");
    if (typeof sendMessage !== "function") return undefined;
    passThrough ??= sendMessage;
    if (sendMessage !== passThrough) return undefined;
    layer = propertyOf(layer, "nextCall");
  }
  return undefined;
}

function isCallInternals(value: unknown): value is CallInternals {
  const stream = propertyOf(value, "stream");
  const tracker = propertyOf(value, "callEventTracker");
  return (
    typeof propertyOf(value, "metadataSent") === "boolean" &&
    typeof propertyOf(value, "cancelled") === "boolean" &&
    typeof propertyOf(value, "maxSendMessageSize") === "number" &&
    (tracker === undefined || tracker === null || typeof propertyOf(tracker, "addMessageSent") === "function") &&
    typeof propertyOf(stream, "write") === "function" &&
    typeof propertyOf(stream, "respond") === "function" &&
    typeof propertyOf(stream, "once") === "function" &&
    typeof propertyOf(stream, "writableEnded") === "boolean" &&
    typeof propertyOf(stream, "writableNeedDrain") === "boolean"
  );
}

function propertyOf(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** Resolves when the stream drains or closes (a closed stream's call is cancelled; the caller sees that next). */
function drained(stream: StreamInternals, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      stream.off("drain", done);
      stream.off("close", done);
      reject(signal.reason as Error);
    };
    stream.once("drain", done);
    stream.once("close", done);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
