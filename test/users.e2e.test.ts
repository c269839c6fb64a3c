// UserService end to end, as a user meets it: the service runs as its own process (tsx services/users/src/main.ts,
// like `npm start`) on the embedded SQLite store, and is used only over the network: the typed client, a plain
// health check, and reflection read by Python's grpcio (C core), which shares no code with grpc-js.
import { execFile } from "node:child_process";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, createUserClient, type UserClient } from "@orderly/clients";
import { failureOf, testToken } from "@orderly/kit/testing";
import { HealthCheckResponse_ServingStatus, HealthClient } from "@orderly/proto/grpc/health/v1/health";
import { startServiceProcess, tempDataDir, testAuthEnv, type ServiceProcess } from "./support/service-process.js";

let service: ServiceProcess;
let admin: UserClient;
const dataDir = tempDataDir();

async function startUsers(): Promise<ServiceProcess> {
  return startServiceProcess("services/users/src/main.ts", {
    ...(await testAuthEnv()),
    USERS_ADDRESS: "127.0.0.1:0",
    DATA_DIR: dataDir,
  });
}

beforeAll(async () => {
  service = await startUsers();
  admin = createUserClient({ address: service.address, token: await testToken("adm_e2e", ["admin"]) });
});

afterAll(async () => {
  admin.close();
  await service.stop();
});

function python(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile("/usr/bin/python3", ["test/reflection_check.py", ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe("UserService as a process", () => {
  it("serves the typed client: create, get, update with etag, list, stream, delete", async () => {
    const user = await admin.create({ email: "e2e@example.com", profile: { firstName: "End" } });
    expect(await admin.get(user.id)).toMatchObject({ id: user.id, email: "e2e@example.com" });
    const updated = await admin.update({ id: user.id, profile: { lastName: "ToEnd" } }, ["profile.last_name"], {
      etag: user.etag,
    });
    expect(updated.profile).toMatchObject({ firstName: "End", lastName: "ToEnd" });
    const stale = await failureOf(
      admin.update({ id: user.id, profile: { lastName: "X" } }, ["profile.last_name"], { etag: user.etag }),
    );
    expect([stale.code, stale.reason]).toEqual([Code.ABORTED, "ETAG_MISMATCH"]);
    const streamed: string[] = [];
    for await (const u of admin.stream({ emailContains: "e2e@" })) streamed.push(u.id);
    expect(streamed).toEqual([user.id]);
    expect((await admin.list({ filter: { emailContains: "e2e@" } })).users).toHaveLength(1);
  });

  it("rejects bad input with rich details and keeps serving", async () => {
    const invalid = await failureOf(admin.create({ email: "nope", profile: { avatarUrl: "ftp://x" } }));
    expect(invalid.code).toBe(Code.INVALID_ARGUMENT);
    expect(invalid.details.badRequest?.fieldViolations.map((v) => v.field).sort()).toEqual([
      "user.email",
      "user.profile.avatar_url",
    ]);
    const anonymous = createUserClient({ address: service.address });
    expect((await failureOf(anonymous.get("usr_1"))).code).toBe(Code.UNAUTHENTICATED);
    anonymous.close();
    expect((await admin.list()).users.length).toBeGreaterThan(0);
  });

  it("answers health checks without a token", async () => {
    const health = new HealthClient(service.address, credentials.createInsecure());
    const status = await new Promise<number>((resolve, reject) =>
      health.check({ service: "" }, (e, r) => (e ? reject(e) : resolve(r.status))),
    );
    health.close();
    expect(status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it("describes itself over reflection (v1 and v1alpha) to Python's grpcio, which then calls GetUser by name", async () => {
    const user = await admin.create({ email: "reflect@example.com" });
    const token = await testToken("adm_e2e", ["admin"]);
    for (const protocol of ["v1", "v1alpha"]) {
      const result = await python([
        service.address,
        "--protocol",
        protocol,
        "--token",
        token,
        "--call",
        "orderly.user.v1.UserService/GetUser",
        "--request-json",
        JSON.stringify({ id: user.id }),
      ]);
      expect(result.stderr + result.stdout).not.toMatch(/Traceback/);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain("orderly.user.v1.UserService");
      expect(result.stdout).toContain("grpc.health.v1.Health");
      expect(result.stdout).toContain("reflect@example.com");
    }
  });

  it("stops gracefully on SIGTERM and keeps its data across a restart", async () => {
    const user = await admin.create({ email: "durable@example.com" });
    admin.close();
    expect(await service.stop()).toBe(0);
    service = await startUsers();
    admin = createUserClient({ address: service.address, token: await testToken("adm_e2e", ["admin"]) });
    expect((await admin.get(user.id)).email).toBe("durable@example.com");
  });
});
