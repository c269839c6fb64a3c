// The shared start-up of an Orderly service process: logger, token verifier, server, listen, and a graceful stop on
// SIGTERM/SIGINT. Each service's own main.ts (its entry point) only says what it serves and what it must close.
import type { Config } from "./config.js";
import { connectionOptions } from "./connection.js";
import { peerRolesOf, serverCredentialsOf } from "./tls.js";
import { createLogger, flushLog, logDestination, logFormatOf } from "./logging.js";
import { RateLimiter } from "./rate-limit.js";
import { createOrderlyServer, type OrderlyServer } from "./server.js";
import { shutdownBudget } from "./shutdown.js";
import { authConfigOf, createTokenVerifier } from "./token-verifier.js";
import type { Logger } from "pino";

/** What a service process plugs into the shared start-up. */
export interface ServiceProcess {
  /** The logger name, e.g. "users". */
  name: string;
  /** host:port to listen on. */
  address: string;
  /** The settings (loadConfigOrExit): log level, tokens, shutdown budget. */
  config: Config;
  /** Adds the service's handlers; returns what to close after the server stopped. */
  register(server: OrderlyServer, logger: Logger): Promise<() => Promise<void>>;
}

/** Starts a service and stops it gracefully on SIGTERM/SIGINT; logs {msg:"listening", port} once bound. */
export async function runServiceProcess(process_: ServiceProcess): Promise<void> {
  const { config } = process_;
  const format = logFormatOf(config.LOG_FORMAT, config.NODE_ENV, process.stdout.isTTY);
  const logger = createLogger(process_.name, { level: config.LOG_LEVEL }, await logDestination(format));
  try {
    const { graceMs, drainMs, closeReserveMs } = shutdownBudget(config);
    // Observability: metrics on their own HTTP port when METRICS_ADDRESS is set; tracing unless OTEL_TRACES_EXPORTER
    // is none. Each is imported only when it is on: prom-client and the OpenTelemetry SDK are a few MB of resident
    // memory apiece that a process with them off never uses (the bundle splits them into chunks of their own).
    const metricsModule = config.METRICS_ADDRESS === undefined ? undefined : await import("./metrics.js");
    const metrics = metricsModule && new metricsModule.ServerMetrics({ processMetrics: true });
    const tracing =
      config.OTEL_TRACES_EXPORTER === "none"
        ? undefined
        : (await import("./tracing.js")).tracingFromSettings(config, process_.name);
    const server = createOrderlyServer({
      logger,
      verifier: createTokenVerifier(authConfigOf(config)),
      grpc: connectionOptions(config),
      credentials: serverCredentialsOf(config, (error) =>
        error
          ? logger.warn({ err: error }, "TLS files changed but are not usable; still serving the previous certificate")
          : logger.info("TLS certificates reloaded"),
      ),
      peerRoles: peerRolesOf(config.TLS_PEER_ROLES),
      ...(metrics ? { metrics } : {}),
      ...(tracing ? { tracing } : {}),
      ...(config.RATE_LIMITS ? { rateLimiter: new RateLimiter(config.RATE_LIMITS) } : {}),
    });
    const close = await process_.register(server, logger);
    const metricsServer =
      metricsModule && metrics && config.METRICS_ADDRESS
        ? await metricsModule.metricsHttpServer(metrics.registry, config.METRICS_ADDRESS)
        : undefined;
    if (metricsServer) logger.info({ port: metricsServer.port, address: config.METRICS_ADDRESS }, "metrics listening");
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down");
      // The promise to an orchestrator: the process is gone within the grace period, even if closing hangs.
      setTimeout(() => {
        logger.error({ graceMs }, "not stopped within the grace period; exiting");
        void flushLog(logger, 100).finally(() => process.exit(1));
      }, graceMs).unref();
      await server.shutdown({ drainMs, graceMs: graceMs - closeReserveMs });
      await close();
      metricsServer?.server.close();
      await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, "spans not exported"));
      logger.info("stopped");
      // The log is written asynchronously: every call's line goes out before the process does.
      await flushLog(logger);
      process.exit(0);
    };
    // Before "listening" is logged: whoever waits for that line may signal at once.
    process.once("SIGTERM", () => void stop("SIGTERM"));
    process.once("SIGINT", () => void stop("SIGINT"));
    const port = await server.listen(process_.address);
    const tls = config.TLS_CERT_FILE ? { clientAuth: config.TLS_CLIENT_AUTH } : false;
    logger.info({ port, address: process_.address, tls }, "listening");
  } catch (error) {
    logger.fatal({ err: error }, "failed to start");
    await flushLog(logger);
    process.exit(1);
  }
}
