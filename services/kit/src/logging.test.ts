import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { Metadata } from "@grpc/grpc-js";
import { Code, OrderlyError } from "@orderly/common";
import type { CallContext } from "./context.js";
import { createLogger, LineBatchWriter, logFormatOf, loggingInterceptor } from "./logging.js";

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

describe("LineBatchWriter", () => {
  const tempFile = () => join(mkdtempSync(join(tmpdir(), "orderly-log-")), "log.jsonl");

  it("writes every line in order, batched, and flush resolves once all are in the file", async () => {
    const path = tempFile();
    const fd = openSync(path, "w");
    try {
      const writer = new LineBatchWriter(fd, 10_000, 4096);
      const logger = createLogger("t", {}, writer);
      for (let index = 0; index < 1000; index++) logger.info({ index, text: "ü€ multi-byte" }, "line");
      // The batches of 4096 characters are under way; the tail waits for the (long) timer or a flush.
      await new Promise<void>((done) => logger.flush(() => done()));
      const lines = readFileSync(path, "utf8").trimEnd().split("\n");
      expect(lines.map((line) => (JSON.parse(line) as { index: number }).index)).toEqual(
        Array.from({ length: 1000 }, (_, index) => index),
      );
      expect((JSON.parse(lines[999]!) as { text: string }).text).toBe("ü€ multi-byte");
    } finally {
      closeSync(fd);
    }
  });

  it("writes a quiet writer's line at once, and holds the lines that follow for the delay", async () => {
    const path = tempFile();
    const fd = openSync(path, "w");
    const pause = () => new Promise((done) => setTimeout(done, 100));
    try {
      const writer = new LineBatchWriter(fd, 1000);
      writer.write('{"msg":"first"}\n');
      await pause();
      expect(readFileSync(path, "utf8")).toBe('{"msg":"first"}\n');
      writer.write('{"msg":"second"}\n');
      writer.write('{"msg":"third"}\n');
      await pause();
      expect(readFileSync(path, "utf8")).toBe('{"msg":"first"}\n');
      await new Promise((done) => setTimeout(done, 1000));
      expect(readFileSync(path, "utf8")).toBe('{"msg":"first"}\n{"msg":"second"}\n{"msg":"third"}\n');
    } finally {
      closeSync(fd);
    }
  });

  it("writes what is pending synchronously when the process exits without a flush", () => {
    const path = tempFile();
    // A real process: logs through logDestination's writer, then exits at once; every line must be in its stdout file.
    const script = `
      import { createLogger, logDestination } from ${JSON.stringify(join(import.meta.dirname, "logging.ts"))};
      const logger = createLogger("t", {}, await logDestination("json"));
      for (let index = 0; index < 5000; index++) logger.info({ index }, "line");
      process.exit(3);
    `;
    const out = openSync(path, "w");
    const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", out, "pipe"],
      encoding: "utf8",
    });
    closeSync(out);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(3);
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(5000);
    expect((JSON.parse(lines[4999]!) as { index: number }).index).toBe(4999);
  });
});
