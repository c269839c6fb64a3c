// TLS and mTLS on the wire, with certificates a test CA makes (createTestPki, openssl): servers configured through
// the TLS_* settings (loadConfig, serverCredentialsOf, peerRolesOf), called by grpc-js clients with and without TLS,
// trusting the right or a wrong CA, with and without a client certificate; and a certificate's identity as the caller.
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, type ChannelCredentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@orderly/common";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import { loadConfig } from "./config.js";
import {
  bareUserClient,
  createTestPki,
  failureOf,
  startTestServer,
  testToken,
  type TestCertificate,
  type TestPki,
  type TestServer,
  notInTest,
} from "./testing.js";
import { clientCredentialsOf, peerRolesOf, serverCredentialsOf, type ReloadListener } from "./tls.js";

const ORDERS_ID = "spiffe://orderly/orders";

let pki: TestPki;
let otherPki: TestPki;
let serverCert: TestCertificate;
let ordersCert: TestCertificate;
let billingCert: TestCertificate;
let strangerCert: TestCertificate;
let foreignCert: TestCertificate;
let admin: string;
const servers: Record<"tls" | "require" | "request", TestServer | undefined> = {
  tls: undefined,
  require: undefined,
  request: undefined,
};

/** A UserService whose GetUser answers with the caller it saw: etag "<subject> <roles>". */
async function serverWith(env: Record<string, string>, onReload?: ReloadListener): Promise<TestServer> {
  const config = loadConfig("common", env);
  return startTestServer(
    (s) =>
      s.addService(UserServiceService, {
        getUser: (request, ctx) =>
          Promise.resolve({
            user: {
              id: request.id,
              email: "caller@example.com",
              profile: undefined,
              createTime: new Date(0),
              updateTime: new Date(0),
              etag: `${ctx.caller.subject} ${ctx.caller.roles.join("+")}`,
            },
          }),
        async *streamUsers() {
          yield* [];
          await notInTest();
        },
        createUser: notInTest,
        batchGetUsers: notInTest,
        updateUser: notInTest,
        deleteUser: notInTest,
        listUsers: notInTest,
      }),
    { credentials: serverCredentialsOf(config, onReload), peerRoles: peerRolesOf(config.TLS_PEER_ROLES) },
  );
}

const tls = (ca: Buffer, client?: TestCertificate): ChannelCredentials =>
  credentials.createSsl(ca, client?.key ?? null, client?.cert ?? null);

/** Who the server says the caller is, over `channel`. */
async function callerSeen(server: TestServer, channel: ChannelCredentials, token?: string): Promise<string> {
  const client = bareUserClient(server.address, token, channel);
  try {
    return (await client.get("usr_1", { deadlineMs: 5_000 })).etag;
  } finally {
    client.close();
  }
}

async function refusal(server: TestServer, channel: ChannelCredentials, token?: string) {
  const client = bareUserClient(server.address, token, channel);
  try {
    return await failureOf(client.get("usr_1", { deadlineMs: 5_000 }));
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  pki = createTestPki();
  otherPki = createTestPki("Another CA");
  serverCert = pki.issue({ cn: "users.orderly.test", dns: ["localhost"], ip: ["127.0.0.1"] });
  ordersCert = pki.issue({ cn: "orders", uri: [ORDERS_ID] });
  billingCert = pki.issue({ cn: "billing" });
  strangerCert = pki.issue({ cn: "stranger", uri: ["spiffe://orderly/stranger"] });
  foreignCert = otherPki.issue({ cn: "orders", uri: [ORDERS_ID] });
  admin = await testToken("adm_1", ["admin"]);
  const files = { TLS_CERT_FILE: serverCert.certFile, TLS_KEY_FILE: serverCert.keyFile };
  const mtls = { ...files, TLS_CA_FILE: pki.caFile, TLS_PEER_ROLES: `${ORDERS_ID}=service,billing=service+support` };
  servers.tls = await serverWith(files);
  servers.require = await serverWith({ ...mtls, TLS_CLIENT_AUTH: "require" });
  servers.request = await serverWith({ ...mtls, TLS_CLIENT_AUTH: "request" });
});

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s?.close() ?? Promise.resolve()));
});

describe("TLS", () => {
  it("serves a client that trusts its CA", async () => {
    expect(await callerSeen(servers.tls!, tls(pki.ca), admin)).toBe("adm_1 admin");
  });

  it("refuses a plaintext client", async () => {
    expect((await refusal(servers.tls!, credentials.createInsecure(), admin)).code).toBe(Code.UNAVAILABLE);
  });

  it("is refused by a client that trusts another CA", async () => {
    expect((await refusal(servers.tls!, tls(otherPki.ca), admin)).code).toBe(Code.UNAVAILABLE);
  });

  it("ignores a client certificate when TLS_CLIENT_AUTH is none: the token is the caller", async () => {
    expect(await callerSeen(servers.tls!, tls(pki.ca, ordersCert), admin)).toBe("adm_1 admin");
    expect((await refusal(servers.tls!, tls(pki.ca, ordersCert))).reason).toBe("TOKEN_MISSING");
  });
});

describe("mTLS, TLS_CLIENT_AUTH=require", () => {
  it("refuses a client without a certificate, even with a valid token", async () => {
    expect((await refusal(servers.require!, tls(pki.ca), admin)).code).toBe(Code.UNAVAILABLE);
  });

  it("refuses a client certificate from a CA other than TLS_CA_FILE", async () => {
    expect((await refusal(servers.require!, tls(pki.ca, foreignCert), admin)).code).toBe(Code.UNAVAILABLE);
  });

  it("makes a certificate's SPIFFE ID the caller TLS_PEER_ROLES names, for a call without a token", async () => {
    expect(await callerSeen(servers.require!, tls(pki.ca, ordersCert))).toBe(`${ORDERS_ID} service`);
  });

  it("falls back to the subject's CN for a certificate without a URI SAN", async () => {
    expect(await callerSeen(servers.require!, tls(pki.ca, billingCert))).toBe("billing service+support");
  });

  it("gives an identity TLS_PEER_ROLES does not name no access: UNAUTHENTICATED TOKEN_MISSING", async () => {
    const error = await refusal(servers.require!, tls(pki.ca, strangerCert));
    expect([error.code, error.reason]).toEqual([Code.UNAUTHENTICATED, "TOKEN_MISSING"]);
  });

  it("lets a bearer token decide the caller when the call carries one", async () => {
    expect(await callerSeen(servers.require!, tls(pki.ca, ordersCert), admin)).toBe("adm_1 admin");
    const user = await testToken("usr_9", ["user"]); // not the certificate's service role
    expect(await callerSeen(servers.require!, tls(pki.ca, ordersCert), user)).toBe("usr_9 user");
  });
});

describe("mTLS, TLS_CLIENT_AUTH=request", () => {
  it("serves a client without a certificate by its token", async () => {
    expect(await callerSeen(servers.request!, tls(pki.ca), admin)).toBe("adm_1 admin");
  });

  it("makes a verified certificate's identity the caller", async () => {
    expect(await callerSeen(servers.request!, tls(pki.ca, ordersCert))).toBe(`${ORDERS_ID} service`);
  });

  it("gives a certificate from another CA no identity, and refuses the call without a token", async () => {
    const error = await refusal(servers.request!, tls(pki.ca, foreignCert));
    expect([error.code, error.reason]).toEqual([Code.UNAUTHENTICATED, "TOKEN_MISSING"]);
  });
});

describe("certificate rotation", () => {
  it("serves a rotated certificate to new connections without a restart; a half-written set is not used", async () => {
    const dir = mkdtempSync(join(tmpdir(), "orderly-rotation-"));
    const [certFile, keyFile] = [join(dir, "server.crt"), join(dir, "server.key")];
    copyFileSync(serverCert.certFile, certFile);
    copyFileSync(serverCert.keyFile, keyFile);
    const reloads: (Error | undefined)[] = [];
    const server = await serverWith({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, TLS_RELOAD_MS: "20" }, (e) =>
      reloads.push(e),
    );
    try {
      expect(await callerSeen(server, tls(pki.ca), admin)).toBe("adm_1 admin");
      const rotated = otherPki.issue({ cn: "users.orderly.test", ip: ["127.0.0.1"] });

      copyFileSync(rotated.certFile, certFile); // the certificate first: it does not match the old key
      while (reloads.length === 0) await sleep(10);
      expect(reloads[0]?.message).toMatch(/^TLS_CERT_FILE, TLS_KEY_FILE: not a usable certificate and key/);
      expect(reloads.every((outcome) => outcome instanceof Error)).toBe(true);
      expect(await callerSeen(server, tls(pki.ca), admin)).toBe("adm_1 admin"); // still the old pair

      const refusals = reloads.length;
      copyFileSync(rotated.keyFile, keyFile);
      while (reloads.length === refusals || reloads.at(-1) !== undefined) await sleep(10);
      expect(await callerSeen(server, tls(otherPki.ca), admin)).toBe("adm_1 admin");
      expect((await refusal(server, tls(pki.ca), admin)).code).toBe(Code.UNAVAILABLE);
    } finally {
      await server.close();
    }
  });

  it("reloads a client's certificate files too: new connections present the rotated identity", async () => {
    const dir = mkdtempSync(join(tmpdir(), "orderly-client-rotation-"));
    const [certFile, keyFile] = [join(dir, "client.crt"), join(dir, "client.key")];
    copyFileSync(ordersCert.certFile, certFile);
    copyFileSync(ordersCert.keyFile, keyFile);
    const reloads: (Error | undefined)[] = [];
    const channel = clientCredentialsOf(
      {
        ca: { setting: "USERS_TLS_CA_FILE", path: pki.caFile },
        cert: { setting: "USERS_TLS_CERT_FILE", path: certFile },
        key: { setting: "USERS_TLS_KEY_FILE", path: keyFile },
      },
      20,
      (error) => reloads.push(error),
    );
    expect(await callerSeen(servers.require!, channel)).toBe(`${ORDERS_ID} service`);
    copyFileSync(billingCert.keyFile, keyFile);
    copyFileSync(billingCert.certFile, certFile);
    // The channel closed with the last client; the next one to connect reads the files as they are now.
    expect(await callerSeen(servers.require!, channel)).toBe("billing service+support");
    expect(reloads).toEqual([undefined]);
  });
});

describe("TLS settings", () => {
  const problem = (env: Record<string, string>) => {
    try {
      loadConfig("common", env);
    } catch (error) {
      return (error as Error).message;
    }
    return "";
  };

  it("refuse half a key pair, client auth without a CA, and roles Orderly does not know, naming each", () => {
    expect(problem({ TLS_CERT_FILE: "server.crt" })).toContain("TLS_KEY_FILE: TLS_CERT_FILE and TLS_KEY_FILE go");
    expect(problem({ TLS_CERT_FILE: "s.crt", TLS_KEY_FILE: "s.key", TLS_CLIENT_AUTH: "require" })).toContain(
      'TLS_CLIENT_AUTH="require" (environment): is require: client certificates need TLS_CERT_FILE and TLS_CA_FILE',
    );
    const roles = { TLS_CERT_FILE: "s", TLS_KEY_FILE: "k", TLS_CA_FILE: "ca", TLS_CLIENT_AUTH: "request" };
    expect(problem({ ...roles, TLS_PEER_ROLES: "spiffe://orderly/orders=root" })).toContain("no such role root");
    expect(problem({ ...roles, TLS_CLIENT_AUTH: "none", TLS_PEER_ROLES: "a=service" })).toContain(
      "needs TLS_CLIENT_AUTH request or require",
    );
    const orders = (env: Record<string, string>) => {
      try {
        loadConfig("orders", { SERVICE_TOKEN_FILE: "t", ...env });
      } catch (error) {
        return (error as Error).message;
      }
      return "";
    };
    expect(orders({ USERS_TLS_CERT_FILE: "c", USERS_TLS_KEY_FILE: "k" })).toContain(
      "USERS_TLS_CA_FILE: is not set: TLS to UserService needs the CA",
    );
    expect(orders({ USERS_TLS_CA_FILE: "ca", USERS_TLS_CERT_FILE: "c" })).toContain(
      "USERS_TLS_KEY_FILE: USERS_TLS_CERT_FILE and USERS_TLS_KEY_FILE go together",
    );
  });

  it("names the setting whose file cannot be read", () => {
    const config = loadConfig("common", { TLS_CERT_FILE: "/nonexistent/server.crt", TLS_KEY_FILE: "k" });
    expect(() => serverCredentialsOf(config)).toThrow(/^TLS_CERT_FILE: cannot read \/nonexistent\/server\.crt/);
  });
});
