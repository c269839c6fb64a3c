// An Orderly server: grpc-js plus the kit's interceptor chain, health (grpc.health.v1), reflection (v1 and v1alpha,
// from the buf-built descriptor set) and graceful shutdown (the order of its steps: shutdown.ts).
import { setTimeout as sleep } from "node:timers/promises";
import { Server, ServerCredentials, type ServerOptions } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import { authInterceptor, authRequired } from "./auth.js";
import { deadlineInterceptor, DEFAULT_DEADLINES, streamStatusGate, type DeadlineOptions } from "./deadline.js";
import { errorInterceptor } from "./errors.js";
import { select, type Interceptor } from "./interceptor.js";
import { loggingInterceptor } from "./logging.js";
import type { ServerMetrics } from "./metrics.js";
import type { RateLimiter } from "./rate-limit.js";
import type { Tracing } from "./tracing.js";
import { NO_GAUGES, type Gauges } from "./domain/gauges.js";
import { addReflection } from "./reflection.js";
import { OpenStreams } from "./shutdown.js";
import { decodingInterceptor, withTolerantDecoding } from "./request-decoding.js";
import { bindService, withPreEncoding, type GeneratedService, type ServiceHandlers } from "./service.js";
import type { PeerRoles } from "./tls.js";
import type { TokenVerifier } from "./token.js";

/** What an Orderly server needs. */
export interface OrderlyServerOptions {
  logger: Logger;
  verifier: TokenVerifier;
  deadlines?: DeadlineOptions;
  grpc?: ServerOptions;
  /** TLS (tls.ts serverCredentialsOf); plaintext when absent. */
  credentials?: ServerCredentials;
  /** mTLS: which client certificate identities are which callers (TLS_PEER_ROLES). */
  peerRoles?: PeerRoles;
  // Observability (metrics.ts, tracing.ts) and rate limiting (rate-limit.ts): each absent means off, out of the chain.
  /** Prometheus metrics: the chain counts every call into it, and its Gauges port is the server's `gauges`. */
  metrics?: ServerMetrics;
  /** OpenTelemetry: a SERVER span per call, continuing the caller's traceparent. */
  tracing?: Tracing;
  /** Token buckets per caller and method (RATE_LIMITS): refuses calls over the limit, after auth. */
  rateLimiter?: RateLimiter;
}

/**
 * The interceptor chain, outermost first. This is the one place its order is written down:
 *   1. tracing    - a span around everything, active while the handler runs, its ids in ctx.trace for the log line
 *                   (when given `tracing`);
 *   2. metrics    - counts every call and its final code, and times all of it (when given `metrics`);
 *   3. logging    - sees every call first and last, so it logs the final status and the whole duration;
 *   4. errors     - turns anything thrown below into an OrderlyError (domain reason -> gRPC code + details);
 *   5. streams    - registers open server streams, so a shutdown can end them with UNAVAILABLE (when given
 *                   `streams`, as createOrderlyServer always does);
 *   6. deadline   - default/cap the deadline and abort the work when it passes, before any I/O happens;
 *   7. auth       - verify the token (or, without one, the mTLS client certificate's identity) and the method's
 *                   permission (skipped for public methods), set ctx.caller;
 *   8. rate limit - a token bucket per caller and method (when given `rateLimiter`); after auth, as it keys on the
 *                   verified caller, and before the handler, so a refused call costs nothing more;
 *   9. decoding   - a body grpc-js could not decode (see withTolerantDecoding) is INVALID_ARGUMENT, never a
 *                   handler's; innermost, so a caller without a valid token still gets UNAUTHENTICATED first.
 */
export function orderlyInterceptors(
  options: Pick<
    OrderlyServerOptions,
    "logger" | "verifier" | "deadlines" | "peerRoles" | "tracing" | "metrics" | "rateLimiter"
  > & {
    streams?: OpenStreams;
  },
): Interceptor[] {
  return [
    ...(options.tracing ? [options.tracing.interceptor] : []),
    ...(options.metrics ? [options.metrics.interceptor] : []),
    loggingInterceptor(options.logger),
    errorInterceptor,
    ...(options.streams ? [options.streams.interceptor] : []),
    deadlineInterceptor(options.deadlines ?? DEFAULT_DEADLINES),
    select(authRequired, authInterceptor(options.verifier, options.peerRoles)),
    ...(options.rateLimiter ? [select(authRequired, options.rateLimiter.interceptor)] : []),
    decodingInterceptor,
  ];
}

/** How a server stops. */
export interface ShutdownOptions {
  /** How long it keeps serving after health turns NOT_SERVING, so load balancers notice (default 0). */
  drainMs?: number;
  /** The whole stop's budget, drain included: calls still running when it ends are cut (default 10 s). */
  graceMs?: number;
}

/** A running-to-be Orderly server. */
export interface OrderlyServer {
  /** The underlying grpc-js server. */
  readonly grpc: Server;
  /** Health status per service ("" is the whole server). */
  readonly health: HealthImplementation;
  /** Where the services register gauges (open watches, pool connections); goes nowhere with metrics off. */
  readonly gauges: Gauges;
  /** Adds a service with typed handlers behind the interceptor chain. */
  addService<S extends GeneratedService>(definition: S, handlers: ServiceHandlers<S>): void;
  /** Binds and starts serving; resolves with the bound port (useful with port 0). */
  listen(address: string): Promise<number>;
  /**
   * Health NOT_SERVING; after drainMs stops accepting (GOAWAY) and ends open streams with UNAVAILABLE
   * SERVER_SHUTTING_DOWN; lets unary calls in flight finish; cuts what still runs when graceMs (from now) ends.
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
}

/** Creates an Orderly server; add services, then listen. */
export function createOrderlyServer(options: OrderlyServerOptions): OrderlyServer {
  const grpc = new Server({
    "grpc.max_receive_message_length": 4 * 1024 * 1024,
    ...options.grpc,
    // First, so it wraps grpc-js's own call (see streamStatusGate).
    interceptors: [streamStatusGate, ...(options.grpc?.interceptors ?? [])],
  });
  const streams = new OpenStreams();
  const interceptors = orderlyInterceptors({ ...options, streams });
  const services: string[] = [];
  const health = new HealthImplementation({ "": "NOT_SERVING" });
  return {
    grpc,
    health,
    gauges: options.metrics ?? NO_GAUGES,
    addService(definition, handlers) {
      grpc.addService(
        withPreEncoding(withTolerantDecoding(definition)) as never,
        bindService(definition, handlers, { interceptors, logger: options.logger }),
      );
      const path = Object.values(definition)[0]?.path ?? "";
      services.push(path.slice(1, path.lastIndexOf("/")));
    },
    async listen(address) {
      health.addToServer(grpc);
      addReflection(grpc, { services: [...services, "grpc.health.v1.Health"] });
      const port = await new Promise<number>((resolve, reject) =>
        grpc.bindAsync(address, options.credentials ?? ServerCredentials.createInsecure(), (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      );
      for (const name of ["", ...services]) health.setStatus(name, "SERVING");
      return port;
    },
    async shutdown({ drainMs = 0, graceMs = 10_000 } = {}) {
      const deadline = performance.now() + graceMs;
      for (const name of ["", ...services]) health.setStatus(name, "NOT_SERVING");
      options.logger.info({ drainMs, graceMs }, "health NOT_SERVING; draining");
      await sleep(Math.min(drainMs, graceMs));
      const closed = new Promise<"closed">((resolve) => grpc.tryShutdown(() => resolve("closed")));
      // After tryShutdown, so each connection's GOAWAY goes out before the streams' status: a client that resumes
      // at once cannot be routed back here.
      const ended = streams.endAll();
      options.logger.info({ streamsEnded: ended }, "listener closed; open streams ended");
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<"cut">(
        (resolve) => (timer = setTimeout(() => resolve("cut"), Math.max(0, deadline - performance.now()))),
      );
      const outcome = await Promise.race([closed, graceOver]);
      clearTimeout(timer);
      if (outcome === "cut") {
        options.logger.warn({ graceMs }, "calls still running when the grace period ended; cutting them");
        grpc.forceShutdown();
      }
    },
  };
}
