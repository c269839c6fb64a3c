// What every Orderly client shares: the channel (one or several addresses, round-robin), the bearer token on each
// attempt, the x-request-id, the deadline and cancellation of each call (merged with those of the call being served
// when the client is used inside an Orderly handler: see @orderly/common's call-scope.ts), and the resilience of
// each call: retries, retry budget, circuit breaker and metrics hooks (resilient-call.ts). It passes the active
// OpenTelemetry trace context on as traceparent (only @opentelemetry/api: a no-op unless the process set up an SDK).
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
import { context, propagation, type TextMapSetter } from "@opentelemetry/api";
import { Code, currentCallScope, earliestDeadline, OrderlyError, wantCallScopes } from "@orderly/common";
import { TargetBreaker, type CircuitBreakerOptions } from "./circuit-breaker.js";
import type { ClientObserver } from "./observer.js";
import { callWithRetries, stoppedBy, type CallPlan, type Resilience } from "./resilient-call.js";
import { RetryBudget, type RetryBudgetOptions } from "./retry-budget.js";
import { effectivePolicy, type RetryPolicy } from "./retry-policy.js";
import { methodSafetyOf, SERVICE_CONFIG } from "./service-config.js";
import type { TokenProvider } from "./token-provider.js";

/** How to reach and authenticate to an Orderly service, and how calls to it behave when it fails. */
export interface ClientOptions {
  /** "host:port", or several for client-side round-robin across replicas. */
  address: string | readonly string[];
  /** A fixed bearer token. */
  token?: string;
  /** Asked before every attempt for the current token; wins over `token`. See refreshingToken and tokenFromFile. */
  tokenProvider?: TokenProvider;
  /** Deadline of unary calls that set none (default 10 000 ms). Streams get none unless the call sets one. */
  defaultDeadlineMs?: number;
  /** Channel credentials; default insecure (plaintext on a trusted network or loopback), or TLS from `tls`. */
  credentials?: ChannelCredentials;
  /** TLS to the server: the CA its certificate must chain to, and for mTLS this client's certificate and key. */
  tls?: TlsOptions;
  /** How calls are retried (see the README's rule); false turns retries off. Calls may override it. */
  retry?: Partial<RetryPolicy> | false;
  /** Retries may add at most this share of the calls (default 10% plus 10 per 10 s); false: no budget. */
  retryBudget?: RetryBudgetOptions | false;
  /** A circuit breaker for the target (default off; true for the default thresholds). */
  circuitBreaker?: CircuitBreakerOptions | boolean;
  /** Metrics hooks: attempts, retries, breaker state. */
  observer?: ClientObserver;
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
  /**
   * Whether calls inherit the deadline and cancellation of the server call they are made in (its call scope; default
   * true). false: they take only what each call passes (deadline, signal), and the client does not ask the server kit
   * to enter call scopes, so a service whose every client says false runs without Node's async hooks (which, once on,
   * cost every socket write of the process). For a service that passes deadline and signal itself, as Orders does.
   */
  inheritCallScope?: boolean;
}

/** TLS for a client (PEM text or bytes). */
export interface TlsOptions {
  /** CA bundle the server's certificate must chain to; default: the system's roots. */
  ca?: string | Buffer;
  /** This client's certificate chain, for servers that ask for one (mTLS); needs `key`. */
  cert?: string | Buffer;
  /** The private key of `cert`. */
  key?: string | Buffer;
  /** The name the server's certificate must carry, when the address's host is not it (e.g. an IP address). */
  serverName?: string;
}

/** grpc-js channel credentials for `tls`. */
export function tlsCredentials(tls: TlsOptions): ChannelCredentials {
  if (Boolean(tls.cert) !== Boolean(tls.key)) throw new Error("tls: cert and key go together");
  const bytes = (pem: string | Buffer | undefined) => (pem === undefined ? null : Buffer.from(pem));
  return grpcCredentials.createSsl(bytes(tls.ca), bytes(tls.key), bytes(tls.cert));
}

/** Per-call options, on every method of every Orderly client. */
export interface CallOptions {
  /** Cancels the call. */
  signal?: AbortSignal;
  /** Time allowed for this call, from now: all its attempts and the waits between them. */
  deadlineMs?: number;
  /** Absolute deadline; the earlier of this and deadlineMs wins. */
  deadline?: Date;
  /**
   * Sent as x-request-id, so the server's log line can be found. Only for tracing: it never makes a call idempotent.
   */
  requestId?: string;
  /** This call's retries: merged over the client's policy; false turns them off for this call. */
  retry?: Partial<RetryPolicy> | false;
}

/** The grpc-js target for one or several addresses (grpc-js resolves "ipv4:a,b" / "ipv6:..." lists itself). */
export function targetOf(address: string | readonly string[]): string {
  const list = typeof address === "string" ? [address] : [...address];
  if (list.length === 0) throw new Error("at least one address is needed");
  const [only] = list;
  if (list.length === 1 && only !== undefined) return only;
  return `ipv4:${list.join(",")}`;
}

/** OpenTelemetry's propagators write their headers into gRPC metadata through this. */
const metadataSetter: TextMapSetter<Metadata> = { set: (carrier, key, value) => carrier.set(key, value) };

type UnaryInvoke<Res> = (
  metadata: Metadata,
  options: GrpcCallOptions,
  callback: (error: ServiceError | null, response: Res) => void,
) => { cancel(): void };

/** Shared call machinery bound to one generated grpc-js client. */
export class Transport<C extends Client> {
  readonly client: C;
  private readonly defaultDeadlineMs: number;
  private readonly methodSafety: ReadonlyMap<string, boolean>;
  private readonly shared: Resilience;
  private readonly inheritsCallScope: boolean;

  constructor(
    ClientClass: new (target: string, credentials: ChannelCredentials, options?: ChannelOptions) => C,
    private readonly serviceName: string,
    private readonly options: ClientOptions,
  ) {
    this.inheritsCallScope = options.inheritCallScope ?? true;
    // From now on the server kit runs calls in a scope this client's calls can inherit from.
    if (this.inheritsCallScope) wantCallScopes();
    this.defaultDeadlineMs = options.defaultDeadlineMs ?? 10_000;
    this.methodSafety = methodSafetyOf(serviceName);
    effectivePolicy(options.retry ?? {}, undefined); // refuses a nonsensical policy now rather than on a call
    const target = targetOf(options.address);
    const breaker = options.circuitBreaker === true ? {} : options.circuitBreaker || undefined;
    this.shared = {
      budget: options.retryBudget === false ? undefined : new RetryBudget(options.retryBudget),
      breaker: breaker ? new TargetBreaker(target, breaker, options.observer) : undefined,
      observer: options.observer,
      tokens: options.tokenProvider,
      token: options.token,
    };
    const channelCredentials =
      options.credentials ?? (options.tls ? tlsCredentials(options.tls) : grpcCredentials.createInsecure());
    this.client = new ClientClass(target, channelCredentials, {
      "grpc.service_config": SERVICE_CONFIG,
      // Ping policy: every 30 s while calls are open, give the connection up after 10 s without an answer, never on
      // a connection without calls. Orderly's servers (grpc-js) accept any ping rate; see the README for others.
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.keepalive_permit_without_calls": 0,
      ...(options.tls?.serverName ? { "grpc.ssl_target_name_override": options.tls.serverName } : {}),
      ...options.channelOptions,
    });
  }

  /** Makes a unary call of `method` (e.g. "GetUser"): `invoke` starts one attempt with its metadata and options. */
  async unary<Res>(method: string, invoke: UnaryInvoke<Res>, call: CallOptions = {}): Promise<Res> {
    const plan = this.plan(method, call, true);
    return callWithRetries(plan, this.shared, (token, deadline) => {
      const signal = plan.signal;
      if (signal?.aborted) return Promise.reject(stoppedBy(signal));
      return new Promise<Res>((resolve, reject) => {
        const onAbort = () => running.cancel();
        const running = invoke(this.metadata(call, token), deadline ? { deadline } : {}, (error, response) => {
          signal?.removeEventListener("abort", onAbort);
          if (error) reject(signal?.aborted ? stoppedBy(signal, error) : OrderlyError.from(error));
          else resolve(response);
        });
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    });
  }

  /**
   * Makes a server-streaming call and yields its messages with backpressure; breaking out cancels the call. Failures
   * before the first message are retried like unary ones; once a message has arrived the call is committed.
   */
  async *serverStream<Res>(
    method: string,
    invoke: (metadata: Metadata, options: GrpcCallOptions) => ClientReadableStream<Res>,
    call: CallOptions = {},
  ): AsyncGenerator<Res, void, undefined> {
    const plan = this.plan(method, call, false);
    const signal = plan.signal;
    const opened = await callWithRetries(plan, this.shared, async (token, deadline) => {
      if (signal?.aborted) throw stoppedBy(signal);
      const stream = invoke(this.metadata(call, token), deadline ? { deadline } : {});
      const onAbort = () => stream.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
      const messages = stream[Symbol.asyncIterator]() as AsyncIterator<Res>;
      try {
        return { stream, messages, onAbort, first: await messages.next() };
      } catch (error) {
        signal?.removeEventListener("abort", onAbort);
        throw signal?.aborted ? stoppedBy(signal, error) : OrderlyError.from(error);
      }
    });
    const { stream, messages, onAbort } = opened;
    let finished = false;
    try {
      for (let next = opened.first; !next.done; next = await messages.next()) yield next.value;
      finished = true;
    } catch (error) {
      finished = true;
      throw signal?.aborted ? stoppedBy(signal, error) : OrderlyError.from(error);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (!finished) {
        stream.cancel();
        await messages.return?.();
      }
    }
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }

  private plan(method: string, call: CallOptions, unary: boolean): CallPlan {
    const safe = this.methodSafety.get(method);
    if (safe === undefined) throw new Error(`${this.serviceName} has no method ${method}`);
    const scope = this.inheritsCallScope ? currentCallScope() : undefined;
    const now = Date.now();
    const own = earliestDeadline(
      call.deadline,
      call.deadlineMs === undefined ? undefined : new Date(now + call.deadlineMs),
    );
    const deadline = earliestDeadline(
      own ?? (unary ? new Date(now + this.defaultDeadlineMs) : undefined),
      scope?.deadline,
    );
    const signals = [call.signal, scope?.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const policy = effectivePolicy(this.options.retry ?? {}, call.retry);
    // A stream may rightly run for hours: an attempt timeout would cut it.
    const streamPolicy = policy && { ...policy, attemptTimeoutMs: undefined };
    return {
      method: `${this.serviceName}/${method}`,
      safe,
      policy: unary ? policy : streamPolicy,
      deadline,
      signal,
    };
  }

  private metadata(call: CallOptions, token: string | undefined): Metadata {
    const metadata = new Metadata();
    if (token) metadata.set("authorization", `Bearer ${token}`);
    if (call.requestId) metadata.set("x-request-id", call.requestId);
    // The active trace context (traceparent, tracestate), when the process set up OpenTelemetry; a no-op otherwise.
    propagation.inject(context.active(), metadata, metadataSetter);
    return metadata;
  }
}

/** A message field the contract always sets in a successful response; a response without it is a server fault. */
export function present<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new OrderlyError(Code.INTERNAL, `the server's response has no ${field}`);
  return value;
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
