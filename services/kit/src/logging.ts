// One JSON line per call (pino): method, status code, duration, peer, request id and caller. Never the token or the
// request body. Server faults (INTERNAL, UNKNOWN, DATA_LOSS) log at error level, everything else at info.
import { write, writeSync } from "node:fs";
import { pino, type Logger, type LoggerOptions } from "pino";
import { Code, OrderlyError } from "@orderly/common";
import type { Interceptor } from "./interceptor.js";

export type { Logger } from "pino";

const SERVER_FAULTS = new Set<number>([Code.INTERNAL, Code.UNKNOWN, Code.DATA_LOSS]);

/** How a service writes its log: one JSON object a line, or pino-pretty's lines for a person at a terminal. */
export type LogFormat = "json" | "pretty";

/** LOG_FORMAT "auto" is pretty only in development on a terminal; a pipe, a file or a collector gets JSON. */
export function logFormatOf(setting: LogFormat | "auto", nodeEnv: string, stdoutIsTTY: boolean): LogFormat {
  if (setting !== "auto") return setting;
  return nodeEnv === "development" && stdoutIsTTY ? "pretty" : "json";
}

/**
 * Where a service's log goes: stdout as JSON, or through pino-pretty. JSON lines go through a LineBatchWriter: a call's
 * line costs a string append, and writes start at most once per FLUSH_DELAY_MS (a line of a quiet service goes out at
 * once; under load the lines of the last FLUSH_DELAY_MS go in one write(2), or sooner when BATCH_CHARS pile up).
 * The lines still buffered when the process stops are written by flushLog (the service's stop and its fatal exits
 * call it) and, as a last resort, synchronously on process exit.
 */
export async function logDestination(format: LogFormat): Promise<pino.DestinationStream> {
  if (format === "json") {
    const writer = new LineBatchWriter(1);
    process.once("exit", () => writer.flushSync());
    return writer;
  }
  // Loaded only when used: production never pays for the prettifier. sync, so lines before process.exit are kept.
  const { default: pretty } = await import("pino-pretty");
  return pretty({ sync: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" });
}

/** The least time between the starts of two writes, ms: how long a line may wait for others under load. */
const FLUSH_DELAY_MS = 20;
/** A batch this long (UTF-16 units) is written at once, without waiting for the timer. */
const BATCH_CHARS = 64 * 1024;

/**
 * A pino destination that appends lines to one pending string and writes it to a file descriptor in batches, one
 * asynchronous write at a time and at most one start per delayMs (lines logged meanwhile join the next batch), so
 * logging never blocks the event loop on a slow reader. pino.destination (sonic-boom) would also batch, but it
 * measures the UTF-8 length of its whole pending chunk (up to 16 KB, flattened first) for every line it appends, and
 * under load it starts a write for nearly every event loop turn; this measures a batch once, when it converts it to
 * bytes.
 */
export class LineBatchWriter {
  private pending = "";
  private writing = false;
  private timer: NodeJS.Timeout | undefined = undefined;
  private waiters: (() => void)[] = [];
  private failed = false;
  private lastStartMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly fd: number,
    private readonly delayMs = FLUSH_DELAY_MS,
    private readonly batchChars = BATCH_CHARS,
  ) {}

  /** pino's destination API: one serialized line, newline included. */
  write(line: string): boolean {
    if (this.failed) return true;
    this.pending += line;
    if (this.writing || (this.timer && this.pending.length < this.batchChars)) return true;
    this.writeSoon();
    return true;
  }

  /** Calls done once every line written so far has been handed to the kernel (pino's logger.flush calls this). */
  flush(done: () => void = noop): void {
    if (!this.writing && this.pending === "") {
      done();
      return;
    }
    this.waiters.push(done);
    if (!this.writing) this.startWrite();
  }

  /**
   * Writes what is pending synchronously: for process exit, when no callback will run any more. A batch whose
   * asynchronous write is already under way is in libuv's hands and is not written twice.
   */
  flushSync(): void {
    this.clearTimer();
    let bytes = Buffer.from(this.pending, "utf8");
    this.pending = "";
    while (bytes.length > 0 && !this.failed) {
      try {
        bytes = bytes.subarray(writeSync(this.fd, bytes));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") this.fail(error);
      }
    }
  }

  private readonly onTimer = () => {
    this.timer = undefined;
    if (!this.writing && this.pending !== "") this.startWrite();
  };

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Starts a write now when the last one started delayMs ago or more (a quiet service's line goes out at once), or
   * when the batch is full; else arms the timer for delayMs after the last start.
   */
  private writeSoon(): void {
    const wait = this.lastStartMs + this.delayMs - performance.now();
    if (wait <= 0 || this.pending.length >= this.batchChars) this.startWrite();
    else this.timer ??= setTimeout(this.onTimer, wait).unref();
  }

  private startWrite(): void {
    this.clearTimer();
    this.lastStartMs = performance.now();
    const bytes = Buffer.from(this.pending, "utf8");
    this.pending = "";
    this.writing = true;
    this.writeFrom(bytes, 0);
  }

  private writeFrom(bytes: Buffer, offset: number): void {
    if (this.failed) {
      this.written();
      return;
    }
    write(this.fd, bytes, offset, bytes.length - offset, null, (error, count) => {
      if (error) {
        if (error.code === "EAGAIN") setTimeout(() => this.writeFrom(bytes, offset), 5).unref();
        else {
          this.fail(error);
          this.written();
        }
      } else if (offset + count < bytes.length) this.writeFrom(bytes, offset + count);
      else this.written();
    });
  }

  /** A batch is out: the next one starts at once when someone waits for it, else on the timer. */
  private written(): void {
    this.writing = false;
    if (this.pending !== "" && !this.failed) {
      if (this.waiters.length > 0) this.startWrite();
      else this.writeSoon();
      return;
    }
    this.pending = "";
    const waiters = this.waiters;
    this.waiters = [];
    for (const done of waiters) done();
  }

  /** The log cannot be written (e.g. EPIPE): said once on stderr, and later lines are dropped, not piled up. */
  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    process.stderr.write(`log destination failed, dropping log lines: ${String(error)}\n`);
  }
}

const noop = () => {};

/** Resolves once every line logged so far has been written (at most waitMs, so a stop is never held up by it). */
export function flushLog(logger: Logger, waitMs = 1000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    try {
      logger.flush(done);
    } catch {
      done();
    }
  });
}

/** A pino logger for a service (level from options, default info); authorization headers are redacted. */
export function createLogger(name: string, options: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  const base: LoggerOptions = {
    name,
    level: "info",
    redact: { paths: ["authorization", "*.authorization", "headers.authorization"], censor: "[redacted]" },
    ...options,
  };
  return destination ? pino(base, destination) : pino(base);
}

/**
 * Logs the outcome of every call it wraps to `logger` (the service's logger, not a per-call child). The call line has
 * fixed fields, all strings and numbers and none named authorization, so the logger's redaction could never change it;
 * it is written through a child without redaction, which spares walking every field for `*.authorization` on each
 * call (about 60% of the cost of a line). The child takes the logger's level when the interceptor is made.
 */
export const loggingInterceptor = (logger: Logger): Interceptor => {
  const callLog = logger.child({}, { redact: [] });
  return (next) => async (request, ctx) => {
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
        traceId: ctx.trace?.traceId,
        spanId: ctx.trace?.spanId,
      };
      if (SERVER_FAULTS.has(code)) callLog.error(line, "call failed");
      else callLog.info(line, "call");
    }
  };
};
