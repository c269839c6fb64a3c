// Binds a typed service implementation to grpc-js. For every call it builds the typed CallContext, runs the
// interceptor chain, and speaks grpc-js: unary callbacks, server streams written with backpressure, errors as
// status + `grpc-status-details-bin`. Once an Orderly client exists in the process, handlers run inside a call scope,
// so the clients they use inherit the deadline and cancellation of the call (see @orderly/common call-scope).
import {
  Metadata,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { callScopesWanted, OrderlyError, runInCallScope } from "@orderly/common";
import type { CallContext, Caller, HandlerContext, MethodInfo } from "./context.js";
import { DomainError, type Cancellation } from "./domain/errors.js";
import { framedBatchWriter, framedWriter, frameOf } from "./framed-writes.js";
import { compose, type Interceptor, type Next } from "./interceptor.js";
import { methodsOf } from "./method-policy.js";
import { REQUEST_ID_KEY, requestIdOf } from "./request-id.js";
import { toOrderlyError } from "./errors.js";
import { certificateIdentity } from "./tls.js";

/** The shape of one method in a generated (ts-proto, outputServices=grpc-js) service definition. */
interface GeneratedMethod {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestDeserialize: (bytes: Buffer) => unknown;
  readonly responseSerialize: (value: never) => Buffer;
}

/** A generated service definition, e.g. UserServiceService. */
export type GeneratedService = Record<string, GeneratedMethod>;

type RequestOf<M> = M extends { requestDeserialize: (bytes: Buffer) => infer I } ? I : never;
type ResponseOf<M> = M extends { responseSerialize: (value: infer O) => Buffer } ? O : never;

/**
 * A response message serialized ahead of time. A streaming handler that sends the same message to many streams (a
 * fan-out) encodes it once and yields this, instead of having every stream encode it again.
 */
export class Encoded<T = unknown> {
  private framed: Buffer | undefined = undefined;

  /** The bytes of a message of type T. */
  constructor(
    readonly bytes: Buffer,
    readonly _type?: T,
  ) {}

  /** The bytes with the gRPC message header in front, made once however many streams it is written to. */
  get frame(): Buffer {
    return (this.framed ??= frameOf(this.bytes));
  }
}

/** What a server-streaming handler yields: a message, a pre-encoded one, or a batch of them written in one go. */
export type StreamItem<T> = T | Encoded<T> | readonly (T | Encoded<T>)[];

/** Where a pushed server stream writes: see StreamPush. */
export interface StreamSink<T> {
  /**
   * Sends one message now. False once the client pushes back: the message was taken, but send no more until
   * whenWritable() resolves. After the call has ended it sends nothing and returns false.
   */
  send(message: T | Encoded<T>): boolean;
  /** Resolves once the stream takes messages again (at once if it does); rejects when the call ends first. */
  whenWritable(): Promise<void>;
}

/**
 * A server stream driven by its producer instead of pulled by the kit: the kit hands it a sink, and ends the call
 * with the outcome of the promise it returns. Meant for fan-outs: one event can be written to every writable stream
 * synchronously, with no async step per stream, and held back only for streams whose clients push back.
 */
export type StreamPush<T> = (sink: StreamSink<T>) => Promise<void>;

/**
 * The handler of a method: a promise for unary methods; for server-streaming ones an async iterable the kit pulls,
 * or a StreamPush. An iterable may yield arrays: each is written in a plain loop (pausing only when the client pushes
 * back), which spares one async step per message when the messages come in batches anyway (e.g. a store's keyset
 * pages).
 */
export type HandlerOf<M> = M extends { responseStream: true }
  ? (request: RequestOf<M>, ctx: HandlerContext) => AsyncIterable<StreamItem<ResponseOf<M>>> | StreamPush<ResponseOf<M>>
  : (request: RequestOf<M>, ctx: HandlerContext) => Promise<ResponseOf<M>>;

/** A typed implementation of a generated service: one handler per method, nothing from grpc-js in sight. */
export type ServiceHandlers<S extends GeneratedService> = { [K in keyof S]: HandlerOf<S[K]> };

function encodedBytes(message: unknown): Buffer | undefined {
  return message instanceof Encoded ? message.bytes : undefined;
}

/** The definition to register with grpc-js: server streams also accept Encoded messages, written as they are. */
export function withPreEncoding<S extends GeneratedService>(definition: S): S {
  const copy: Record<string, GeneratedMethod> = {};
  for (const [key, method] of Object.entries(definition)) {
    const serialize = method.responseSerialize as (value: unknown) => Buffer;
    copy[key] = method.responseStream
      ? {
          ...method,
          responseSerialize: (value: unknown) => (value instanceof Encoded ? value.bytes : serialize(value)),
        }
      : method;
  }
  return copy as S;
}

/** Turns typed handlers into a grpc-js implementation that runs every call through the interceptors. */
export function bindService<S extends GeneratedService>(
  definition: S,
  handlers: ServiceHandlers<S>,
  options: { interceptors: readonly Interceptor[]; logger: Logger },
): UntypedServiceImplementation {
  const first = Object.values(definition)[0];
  if (!first) throw new Error("empty service definition");
  const serviceName = first.path.slice(1, first.path.lastIndexOf("/"));
  const infos = methodsOf(serviceName);
  const implementation: UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(definition)) {
    const info = infos.get(method.path);
    if (!info) throw new Error(`${method.path} is not in the descriptor set; run npm run generate`);
    if (method.requestStream) throw new Error(`${method.path}: client streaming is not supported`);
    const handler = handlers[key as keyof S] as unknown as (request: unknown, ctx: HandlerContext) => unknown;
    if (typeof handler !== "function") throw new Error(`no handler for ${method.path}`);
    implementation[key] = method.responseStream
      ? streamingCall(info, handler as StreamHandler, options)
      : unaryCall(info, handler as UnaryHandler, options);
  }
  return implementation;
}

type UnaryHandler = (request: unknown, ctx: HandlerContext) => Promise<unknown>;
type StreamHandler = (request: unknown, ctx: HandlerContext) => AsyncIterable<unknown> | StreamPush<unknown>;
type CallOptions = { interceptors: readonly Interceptor[]; logger: Logger };

function unaryCall(info: MethodInfo, handler: UnaryHandler, options: CallOptions) {
  const chain = compose(options.interceptors, (request, ctx) => handler(request, asHandlerContext(ctx)));
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const { ctx, detach } = createContext(call, info, options.logger);
    run(chain, call.request, ctx, detach).then(
      (response) => {
        call.sendMetadata(ctx.responseMetadata);
        callback(null, response);
      },
      (error: unknown) => {
        call.sendMetadata(ctx.responseMetadata);
        callback(finalError(error, ctx).toServiceError());
      },
    );
  };
}

function streamingCall(info: MethodInfo, handler: StreamHandler, options: CallOptions) {
  return (call: ServerWritableStream<unknown, unknown>) => {
    const pump: Next = async (request, ctx) => {
      const messages = handler(request, asHandlerContext(ctx));
      call.sendMetadata(ctx.responseMetadata);
      if (typeof messages === "function") return messages(sinkOf(call, ctx));
      const sent = ctx.onMessagesSent;
      const writeFramed = framedBatchWriter(call, encodedBytes);
      for await (const item of messages) {
        ctx.signal.throwIfAborted();
        if (!Array.isArray(item)) {
          if (!call.write(item)) await drained(call, ctx.signal);
          sent?.(1);
          continue;
        }
        // A batch of Encoded messages goes out in one HTTP/2 write when it can (framed-writes.ts), else one by one.
        const framedTaken = await writeFramed?.(item, ctx.signal);
        if (!framedTaken) await writeEach(call, item, ctx.signal, writeFramed !== undefined);
        sent?.(item.length);
      }
    };
    const chain = compose(options.interceptors, pump);
    const { ctx, detach } = createContext(call, info, options.logger);
    run(chain, call.request, ctx, detach).then(
      () => call.end(),
      (error: unknown) => call.emit("error", finalError(error, ctx).toServiceError()),
    );
  };
}

/**
 * Runs the chain (inside the call scope that outgoing Orderly client calls inherit, when a client exists), and
 * detaches the call's cancellation listener once it settles (grpc-js also emits "cancelled" after a call that finished
 * normally).
 */
function run(chain: Next, request: unknown, ctx: CallContext, detach: () => void): Promise<unknown> {
  const result = callScopesWanted() ? runInCallScope(scopeOf(ctx), () => chain(request, ctx)) : chain(request, ctx);
  result.then(detach, detach);
  return result;
}

function scopeOf(ctx: CallContext) {
  return {
    get deadline() {
      return ctx.deadline;
    },
    signal: ctx.signal,
  };
}

/** Errors escaping the chain are already OrderlyErrors; this is the backstop should an interceptor be missing. */
function finalError(error: unknown, ctx: CallContext): OrderlyError {
  return toOrderlyError(error, (unexpected) => ctx.logger.error({ err: unexpected }, "unexpected failure"));
}

function createContext(
  call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>,
  method: MethodInfo,
  logger: Logger,
): { ctx: CallContext; detach: () => void } {
  const ctx = new ServerCallContext(call, method, logger);
  const onCancelled = () => ctx.abort(new DomainError("cancelled", "CANCELLED", "the caller cancelled the call"));
  call.once("cancelled", onCancelled);
  return { ctx, detach: () => call.off("cancelled", onCancelled) };
}

type GrpcCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

/**
 * The context of a call grpc-js handed the kit; one class, so every call's context has the same shape. Its AbortSignal
 * is made only when someone reads `signal` (made then already aborted if the call was): making one and listening to it
 * costs more than the rest of the context together, and the kit's own interceptors learn of an abort through onAbort.
 */
class ServerCallContext implements CallContext {
  readonly requestMetadata: Metadata;
  readonly responseMetadata: Metadata;
  readonly peer: string;
  readonly requestId: string;
  deadline: Date | undefined;
  caller: Caller | undefined = undefined;
  private controller: AbortController | undefined = undefined;
  /** Read through `cancellation` (this context itself): whether the call was aborted, and why. */
  aborted = false;
  reason: unknown = undefined;
  private listeners: ((reason: unknown) => void)[] | undefined = undefined;
  private callLogger: Logger | undefined = undefined;

  constructor(
    private readonly call: GrpcCall,
    readonly method: MethodInfo,
    private readonly serviceLogger: Logger,
  ) {
    this.requestMetadata = call.metadata;
    this.requestId = requestIdOf(this.requestMetadata);
    this.responseMetadata = new Metadata();
    this.responseMetadata.set(REQUEST_ID_KEY, this.requestId);
    this.peer = call.getPeer();
    const callerDeadline = call.getDeadline();
    this.deadline =
      callerDeadline instanceof Date
        ? callerDeadline
        : Number.isFinite(callerDeadline)
          ? new Date(callerDeadline)
          : undefined;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get cancellation(): Cancellation {
    return this;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) listener(reason);
    this.controller?.abort(reason);
  }

  onAbort(listener: (reason: unknown) => void): () => void {
    if (this.aborted) {
      listener(this.reason);
      return noop;
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const listeners = this.listeners;
      if (!listeners) return;
      const index = listeners.indexOf(listener);
      if (index >= 0) listeners.splice(index, 1);
    };
  }

  // A child logger costs an allocation and a serialization of its bindings: made only when a handler logs.
  get logger(): Logger {
    return (this.callLogger ??= this.serviceLogger.child({ requestId: this.requestId }));
  }

  set logger(value: Logger) {
    this.callLogger = value;
  }

  get peerIdentity(): string | undefined {
    const certificate = this.call.getAuthContext().sslPeerCertificate;
    return certificate ? certificateIdentity(certificate) : undefined;
  }
}

const noop = () => {};

/** Protected methods always run behind the auth interceptor; fail loudly if the chain was built without it. */
function asHandlerContext(ctx: CallContext): HandlerContext {
  if (!ctx.caller && !ctx.method.isPublic) throw new Error(`${ctx.method.path} reached its handler without a caller`);
  return ctx as HandlerContext;
}

/**
 * The sink of a StreamPush. An Encoded message goes straight to the HTTP/2 stream, framed once for all the streams it
 * is sent to (framed-writes.ts), whenever grpc-js holds nothing for the call; anything else, or when that path
 * declines, goes through grpc-js. Push-back is whichever of the two is full.
 */
function sinkOf(call: ServerWritableStream<unknown, unknown>, ctx: CallContext): StreamSink<unknown> {
  const sent = ctx.onMessagesSent;
  const signal = ctx.signal;
  const direct = framedWriter(call);
  // A plain flag for send(), which a fan-out calls once per stream per event: reading signal.aborted costs a brand
  // check each time. The kit's contexts call onAbort listeners before they abort the signal.
  let ended = signal.aborted;
  const end = () => {
    ended = true;
  };
  if (ctx.onAbort) ctx.onAbort(end);
  else signal.addEventListener("abort", end, { once: true });
  return {
    send(message) {
      if (ended) return false;
      const more =
        (direct && message instanceof Encoded ? direct.write(message.frame) : undefined) ?? call.write(message);
      sent?.(1);
      return more;
    },
    whenWritable: () =>
      signal.aborted
        ? Promise.reject(signal.reason as Error)
        : call.writableNeedDrain
          ? drained(call, signal)
          : direct?.needsDrain
            ? direct.drained(signal)
            : Promise.resolve(),
  };
}

/**
 * Writes a batch through grpc-js, message by message. With `thenFlushed` (the framed path exists for this call) it
 * also waits until grpc-js has written the last one: the framed path declines while grpc-js holds messages, so without
 * the wait a batch that fell back (after a single message, say) would leave grpc-js holding some at every later batch,
 * and the stream would never return to the framed path.
 */
async function writeEach(
  call: ServerWritableStream<unknown, unknown>,
  messages: readonly unknown[],
  signal: AbortSignal,
  thenFlushed: boolean,
): Promise<void> {
  const last = messages.length - 1;
  for (let i = 0; i < last; i++) if (!call.write(messages[i])) await drained(call, signal);
  if (last < 0) return;
  if (!thenFlushed) {
    if (!call.write(messages[last])) await drained(call, signal);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason);
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    // Called once grpc-js has handed the message to HTTP/2 (in order, so its queue for this call is then empty).
    call.write(messages[last], () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}

function drained(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      call.off("drain", onDrain);
      reject(signal.reason);
    };
    const onDrain = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    call.once("drain", onDrain);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
