// One JSON line per call (pino): method, status code, duration, peer, request id and caller. Never the token or the
// request body. Server faults (INTERNAL, UNKNOWN, DATA_LOSS) log at error level, everything else at info.
import { pino, type Logger, type LoggerOptions } from "pino";
import { Code, OrderlyError } from "@orderly/common";
import type { Interceptor } from "./interceptor.js";

export type { Logger } from "pino";

const SERVER_FAULTS = new Set<number>([Code.INTERNAL, Code.UNKNOWN, Code.DATA_LOSS]);

/** A pino logger for a service; LOG_LEVEL sets the level (default info), and authorization headers are redacted. */
export function createLogger(name: string, options: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  const base: LoggerOptions = {
    name,
    level: process.env.LOG_LEVEL ?? "info",
    redact: { paths: ["authorization", "*.authorization", "headers.authorization"], censor: "[redacted]" },
    ...options,
  };
  return destination ? pino(base, destination) : pino(base);
}

/** Logs the outcome of every call it wraps to `logger` (the service's logger, not a per-call child). */
export const loggingInterceptor =
  (logger: Logger): Interceptor =>
  (next) =>
  async (request, ctx) => {
    const started = performance.now();
    let code: number = Code.OK;
    let reason: string | undefined;
    try {
      return await next(request, ctx);
    } catch (error) {
      const failure = OrderlyError.from(error);
      code = failure.code;
      reason = failure.reason || undefined;
      throw error;
    } finally {
      const line = {
        method: ctx.method.path,
        code: Code[code],
        reason,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        peer: ctx.peer,
        requestId: ctx.requestId,
        caller: ctx.caller?.subject,
      };
      if (SERVER_FAULTS.has(code)) logger.error(line, "call failed");
      else logger.info(line, "call");
    }
  };
