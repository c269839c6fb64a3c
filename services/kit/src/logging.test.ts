import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { Metadata } from "@grpc/grpc-js";
import { Code, OrderlyError } from "@orderly/common";
import type { CallContext } from "./context.js";
import { createLogger, logFormatOf, loggingInterceptor } from "./logging.js";

describe("logFormatOf", () => {
  it("is pretty only for a terminal in development when auto; an explicit format always wins", () => {
    expect(logFormatOf("auto", "development", true)).toBe("pretty");
    expect(logFormatOf("auto", "development", false)).toBe("json");
    expect(logFormatOf("auto", "production", true)).toBe("json");
    expect(logFormatOf("auto", "test", true)).toBe("json");
    expect(logFormatOf("json", "development", true)).toBe("json");
    expect(logFormatOf("pretty", "production", false)).toBe("pretty");
  });
});

describe("createLogger", () => {
  it("writes at the level it is given and redacts authorization", () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger("t", { level: "warn" }, sink);
    logger.info("hidden");
    logger.warn({ headers: { authorization: "Bearer x" } }, "shown");
    expect(lines).toMatchObject([{ msg: "shown", headers: { authorization: "[redacted]" } }]);
  });
});

describe("loggingInterceptor", () => {
  it("writes one call line per call at the logger's level, while the logger itself still redacts", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger("t", { level: "info" }, sink);
    const ctx = {
      method: { path: "/orderly.user.v1.UserService/GetUser" },
      peer: "ipv4:127.0.0.1:50000",
      requestId: "req-7",
      caller: { subject: "usr_1" },
      requestMetadata: new Metadata(),
    } as unknown as CallContext;
    const ok = loggingInterceptor(logger)(async () => "done");
    await ok({}, ctx);
    const failing = loggingInterceptor(logger)(() => Promise.reject(new OrderlyError(Code.INTERNAL, "internal error")));
    await expect(failing({}, ctx)).rejects.toThrow();
    logger.info({ authorization: "Bearer secret" }, "other");
    expect(lines).toMatchObject([
      { level: 30, msg: "call", method: "/orderly.user.v1.UserService/GetUser", code: "OK", requestId: "req-7" },
      { level: 50, msg: "call failed", code: "INTERNAL", peer: "ipv4:127.0.0.1:50000", caller: "usr_1" },
      { msg: "other", authorization: "[redacted]" },
    ]);
    expect(lines[0]).not.toHaveProperty("reason");

    const quiet = createLogger("t", { level: "warn" }, sink);
    await loggingInterceptor(quiet)(async () => "done")({}, ctx);
    expect(lines).toHaveLength(3);
  });
});
