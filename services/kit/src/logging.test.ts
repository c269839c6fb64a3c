import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, logFormatOf } from "./logging.js";

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
