// A service writes its log asynchronously (sonic-boom, sync: false), so lines can sit in a buffer when SIGTERM comes.
// None may be lost: UserService runs as its own process with its stdout on a pipe, SIGTERM arrives while hundreds of
// calls are answered, and afterwards every call the client saw answered has its line, and "stopped" is the last line.
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUserClient, type UserClient } from "@orderly/clients";
import { testToken } from "@orderly/kit/testing";
import { startServiceProcess, tempDataDir, testAuthEnv, type ServiceProcess } from "./support/service-process.js";

const CALLS = 400;

let service: ServiceProcess;
let admin: UserClient;

beforeAll(async () => {
  service = await startServiceProcess("services/users/src/main.ts", {
    ...(await testAuthEnv()),
    USERS_ADDRESS: "127.0.0.1:0",
    DATA_DIR: tempDataDir(),
    SHUTDOWN_DRAIN_MS: "200",
  });
  admin = createUserClient({
    address: service.address,
    token: await testToken("adm_flush", ["admin"]),
    retry: false,
  });
});

afterAll(async () => {
  admin.close();
  await service.kill();
});

describe("the asynchronous log on SIGTERM", () => {
  it("keeps every call's line and ends with 'stopped'", async () => {
    const user = await admin.create({ email: "flush@example.com" });
    const closed = once(service.child, "close");
    let answered = 0;
    const calls = Array.from({ length: CALLS }, (_, index) =>
      admin.get(user.id, { requestId: `flush-${index}` }).then(() => {
        // Halfway through the answers the process is told to stop; the rest are answered during its drain.
        if (++answered === CALLS / 2) service.child.kill("SIGTERM");
        return "ok" as const;
      }),
    );
    const outcomes = await Promise.allSettled(calls);
    await closed;
    expect(service.child.exitCode).toBe(0);

    const ok = outcomes.filter((o) => o.status === "fulfilled").length;
    expect(ok).toBeGreaterThanOrEqual(CALLS / 2);
    const logged = service.logs.filter(
      (line) => line.msg === "call" && line.method === "/orderly.user.v1.UserService/GetUser" && line.code === "OK",
    );
    expect(logged).toHaveLength(ok);
    expect(new Set(logged.map((line) => line.requestId)).size).toBe(ok);
    expect(service.logs.at(-1)?.msg).toBe("stopped");
  });
});
