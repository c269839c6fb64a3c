// An Orderly server: grpc-js plus the kit's interceptor chain, health (grpc.health.v1), reflection (v1 and v1alpha,
// from the buf-built descriptor set) and graceful shutdown.
import { Server, ServerCredentials, type ServerOptions } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import { authInterceptor, authRequired } from "./auth.js";
import { deadlineInterceptor, DEFAULT_DEADLINES, type DeadlineOptions } from "./deadline.js";
import { errorInterceptor } from "./errors.js";
import { select, type Interceptor } from "./interceptor.js";
import { loggingInterceptor } from "./logging.js";
import { addReflection } from "./reflection.js";
import { bindService, withPreEncoding, type GeneratedService, type ServiceHandlers } from "./service.js";
import type { TokenVerifier } from "./token.js";

/** What an Orderly server needs. */
export interface OrderlyServerOptions {
  logger: Logger;
  verifier: TokenVerifier;
  deadlines?: DeadlineOptions;
  grpc?: ServerOptions;
}

/**
 * The interceptor chain, outermost first. This is the one place its order is written down:
 *   1. logging  - sees every call first and last, so it logs the final status and the whole duration;
 *   2. errors   - turns anything thrown below into an OrderlyError (domain reason -> gRPC code + details);
 *   3. deadline - default/cap the deadline and abort the work when it passes, before any I/O happens;
 *   4. auth     - verify the token and the method's permission (skipped for public methods), set ctx.caller.
 */
export function orderlyInterceptors(
  options: Pick<OrderlyServerOptions, "logger" | "verifier" | "deadlines">,
): Interceptor[] {
  return [
    loggingInterceptor(options.logger),
    errorInterceptor,
    deadlineInterceptor(options.deadlines ?? DEFAULT_DEADLINES),
    select(authRequired, authInterceptor(options.verifier)),
  ];
}

/** A running-to-be Orderly server. */
export interface OrderlyServer {
  /** The underlying grpc-js server. */
  readonly grpc: Server;
  /** Health status per service ("" is the whole server). */
  readonly health: HealthImplementation;
  /** Adds a service with typed handlers behind the interceptor chain. */
  addService<S extends GeneratedService>(definition: S, handlers: ServiceHandlers<S>): void;
  /** Binds and starts serving; resolves with the bound port (useful with port 0). */
  listen(address: string): Promise<number>;
  /** Stops accepting calls, marks health NOT_SERVING, lets calls in flight finish for graceMs, then cuts them. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Creates an Orderly server; add services, then listen. */
export function createOrderlyServer(options: OrderlyServerOptions): OrderlyServer {
  const grpc = new Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024, ...options.grpc });
  const interceptors = orderlyInterceptors(options);
  const services: string[] = [];
  const health = new HealthImplementation({ "": "NOT_SERVING" });
  return {
    grpc,
    health,
    addService(definition, handlers) {
      grpc.addService(
        withPreEncoding(definition) as never,
        bindService(definition, handlers, { interceptors, logger: options.logger }),
      );
      const path = Object.values(definition)[0]?.path ?? "";
      services.push(path.slice(1, path.lastIndexOf("/")));
    },
    async listen(address) {
      health.addToServer(grpc);
      addReflection(grpc, { services: [...services, "grpc.health.v1.Health"] });
      const port = await new Promise<number>((resolve, reject) =>
        grpc.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      );
      for (const name of ["", ...services]) health.setStatus(name, "SERVING");
      return port;
    },
    async shutdown(graceMs = 10_000) {
      for (const name of ["", ...services]) health.setStatus(name, "NOT_SERVING");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          grpc.forceShutdown();
          resolve();
        }, graceMs);
        grpc.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
