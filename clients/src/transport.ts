// What every Orderly client shares: the channel (one or several addresses, round-robin, safe retries), the bearer
// token on each call, the x-request-id, and the deadline and cancellation of each call, merged with those of the
// call being served when the client is used inside an Orderly handler (see @orderly/common's call-scope.ts).
import {
  credentials as grpcCredentials,
  Metadata,
  type CallOptions as GrpcCallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientReadableStream,
  type ServiceError,
} from "@grpc/grpc-js";
import { Code, currentCallScope, earliestDeadline, OrderlyError } from "@orderly/common";
import { DEFAULT_RETRY, serviceConfigFor, type RetryOptions } from "./service-config.js";

/** How to reach and authenticate to an Orderly service. */
export interface ClientOptions {
  /** "host:port", or several for client-side round-robin across replicas. */
  address: string | readonly string[];
  /** A fixed bearer token. */
  token?: string;
  /** Called before each call for the current token (cache and refresh inside it); wins over `token`. */
  tokenProvider?: () => string | Promise<string>;
  /** Deadline of unary calls that set none (default 10 000 ms). Streams get none unless the call sets one. */
  defaultDeadlineMs?: number;
  /** Channel credentials; default insecure (plaintext on a trusted network or loopback). */
  credentials?: ChannelCredentials;
  /** Retries of IDEMPOTENT/NO_SIDE_EFFECTS methods on UNAVAILABLE; false turns them off. */
  retry?: RetryOptions | false;
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
}

/** Per-call options, on every method of every Orderly client. */
export interface CallOptions {
  /** Cancels the call. */
  signal?: AbortSignal;
  /** Time allowed for this call, from now. */
  deadlineMs?: number;
  /** Absolute deadline; the earlier of this and deadlineMs wins. */
  deadline?: Date;
  /**
   * Sent as x-request-id, so the server's log line can be found. Only for tracing: it never makes a call idempotent.
   */
  requestId?: string;
}

/** The grpc-js target for one or several addresses (grpc-js resolves "ipv4:a,b" / "ipv6:..." lists itself). */
export function targetOf(address: string | readonly string[]): string {
  const list = typeof address === "string" ? [address] : [...address];
  if (list.length === 0) throw new Error("at least one address is needed");
  const [only] = list;
  if (list.length === 1 && only !== undefined) return only;
  return `ipv4:${list.join(",")}`;
}

/** Shared call machinery bound to one generated grpc-js client. */
export class Transport<C extends Client> {
  readonly client: C;
  private readonly defaultDeadlineMs: number;

  constructor(
    ClientClass: new (target: string, credentials: ChannelCredentials, options?: ChannelOptions) => C,
    serviceName: string,
    private readonly options: ClientOptions,
  ) {
    this.defaultDeadlineMs = options.defaultDeadlineMs ?? 10_000;
    this.client = new ClientClass(targetOf(options.address), options.credentials ?? grpcCredentials.createInsecure(), {
      "grpc.service_config": serviceConfigFor(serviceName, options.retry ?? DEFAULT_RETRY),
      "grpc.keepalive_time_ms": 30_000,
      ...options.channelOptions,
    });
  }

  /** Makes a unary call: `invoke` starts it with the prepared metadata and options. */
  async unary<Res>(
    invoke: (
      metadata: Metadata,
      options: GrpcCallOptions,
      callback: (error: ServiceError | null, response: Res) => void,
    ) => { cancel(): void },
    call: CallOptions = {},
  ): Promise<Res> {
    const { metadata, grpcOptions, signal } = await this.prepared(call, true);
    if (signal?.aborted) throw stoppedBy(signal);
    return new Promise<Res>((resolve, reject) => {
      const onAbort = () => running.cancel();
      const running = invoke(metadata, grpcOptions, (error, response) => {
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(signal?.aborted ? stoppedBy(signal, error) : OrderlyError.from(error));
        else resolve(response);
      });
      signal?.addEventListener("abort", onAbort, { once: true });
    }).catch((error: unknown) => {
      throw OrderlyError.from(error);
    });
  }

  /** Makes a server-streaming call and yields its messages with backpressure; breaking out cancels the call. */
  async *serverStream<Res>(
    invoke: (metadata: Metadata, options: GrpcCallOptions) => ClientReadableStream<Res>,
    call: CallOptions = {},
  ): AsyncGenerator<Res, void, undefined> {
    const { metadata, grpcOptions, signal } = await this.prepared(call, false);
    if (signal?.aborted) throw stoppedBy(signal);
    const stream = invoke(metadata, grpcOptions);
    const onAbort = () => stream.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    let finished = false;
    try {
      for await (const message of stream) yield message as Res;
      finished = true;
    } catch (error) {
      finished = true;
      throw signal?.aborted ? stoppedBy(signal, error) : OrderlyError.from(error);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (!finished) stream.cancel();
    }
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }

  // A failing token provider is the caller's code, not the call: it still surfaces as an OrderlyError (with the cause).
  private prepared(call: CallOptions, applyDefault: boolean) {
    return this.prepare(call, applyDefault).catch((error: unknown) => {
      throw OrderlyError.from(error);
    });
  }

  private async prepare(call: CallOptions, applyDefault: boolean) {
    const scope = currentCallScope();
    const now = Date.now();
    const own = earliestDeadline(
      call.deadline,
      call.deadlineMs === undefined ? undefined : new Date(now + call.deadlineMs),
    );
    const deadline = earliestDeadline(
      own ?? (applyDefault ? new Date(now + this.defaultDeadlineMs) : undefined),
      scope?.deadline,
    );
    const signals = [call.signal, scope?.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const metadata = new Metadata();
    const token = this.options.tokenProvider ? await this.options.tokenProvider() : this.options.token;
    if (token) metadata.set("authorization", `Bearer ${token}`);
    if (call.requestId) metadata.set("x-request-id", call.requestId);
    const grpcOptions: GrpcCallOptions = deadline ? { deadline } : {};
    return { metadata, grpcOptions, signal };
  }
}

/** A message field the contract always sets in a successful response; a response without it is a server fault. */
export function present<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new OrderlyError(Code.INTERNAL, `the server's response has no ${field}`);
  return value;
}

/**
 * The error of a call its signal stopped (before it started or while it ran): DEADLINE_EXCEEDED when the signal timed
 * out (AbortSignal.timeout), CANCELLED otherwise, so a caller only ever sees OrderlyError.
 */
function stoppedBy(signal: AbortSignal, cause: unknown = signal.reason): OrderlyError {
  const reason: unknown = signal.reason;
  if (reason instanceof OrderlyError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new OrderlyError(Code.DEADLINE_EXCEEDED, "the call's signal timed out", {}, undefined, { cause });
  }
  return new OrderlyError(Code.CANCELLED, "the call was cancelled by its signal", {}, undefined, { cause });
}

/** Every item of a paged List method (AIP-158): fetches page after page, as the loop asks for more, until the
 * server's next_page_token is empty. */
export async function* allPages<T>(
  fetchPage: (pageToken: string) => Promise<{ items: readonly T[]; nextPageToken: string }>,
): AsyncGenerator<T> {
  let pageToken = "";
  do {
    const page = await fetchPage(pageToken);
    yield* page.items;
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
}
