// Helpers for tests that run a real Orderly server on 127.0.0.1:0 with the real interceptor chain: a verifier with a
// test secret, tokens for any subject and roles, the server's log lines captured for assertions, and a bare UserService
// client to call it with.
import { Writable } from "node:stream";
import {
  credentials,
  Metadata,
  type ChannelCredentials,
  type ServerCredentials,
  type ServerOptions,
} from "@grpc/grpc-js";
import { OrderlyError } from "@orderly/common";
import type { User } from "@orderly/proto/orderly/user/v1/user";
import {
  UserServiceClient,
  type StreamUsersResponse,
  type UserServiceService,
} from "@orderly/proto/orderly/user/v1/user_service";
import { SignJWT } from "jose";
import { DomainError } from "./domain/errors.js";
import { createLogger } from "./logging.js";
import { createOrderlyServer, type OrderlyServer, type OrderlyServerOptions } from "./server.js";
import { createTokenVerifier, type AuthConfig } from "./token-verifier.js";
import type { DeadlineOptions } from "./deadline.js";
import type { PeerRoles } from "./tls.js";
import type { ServiceHandlers } from "./service.js";

export { createTestPki, type TestPki, type TestCertificate, type CertificateNames } from "./test-pki.js";

/** The auth settings of test servers. */
export const TEST_AUTH: AuthConfig = {
  issuer: "orderly-test",
  audience: "orderly",
  key: { kind: "secret", secret: "orderly-test-secret-at-least-32-bytes-long" },
};

/** A token the test servers accept (override claims to forge bad ones). */
export async function testToken(
  subject: string,
  roles: readonly string[],
  overrides: { expiresInSeconds?: number; secret?: string; issuer?: string; audience?: string } = {},
): Promise<string> {
  const key = TEST_AUTH.key as { kind: "secret"; secret: string };
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles: [...roles] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(subject)
    .setIssuer(overrides.issuer ?? TEST_AUTH.issuer)
    .setAudience(overrides.audience ?? TEST_AUTH.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + (overrides.expiresInSeconds ?? 600))
    .sign(new TextEncoder().encode(overrides.secret ?? key.secret));
}

/** A running test server. */
export interface TestServer {
  server: OrderlyServer;
  address: string;
  /** Every JSON log line the server wrote so far. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Starts an Orderly server on 127.0.0.1:0 with the services `register` adds. */
export async function startTestServer(
  register: (server: OrderlyServer) => void | Promise<void>,
  options: {
    deadlines?: DeadlineOptions;
    grpc?: ServerOptions;
    /** TLS (serverCredentialsOf) and the mTLS identities' roles. */
    credentials?: ServerCredentials;
    peerRoles?: PeerRoles;
  } & Pick<OrderlyServerOptions, "metrics" | "rateLimiter" | "tracing"> = {},
): Promise<TestServer> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger("test", { level: "debug" }, sink);
  const server = createOrderlyServer({
    logger,
    verifier: createTokenVerifier(TEST_AUTH),
    ...(options.deadlines ? { deadlines: options.deadlines } : {}),
    ...(options.grpc ? { grpc: options.grpc } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.peerRoles ? { peerRoles: options.peerRoles } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.rateLimiter ? { rateLimiter: options.rateLimiter } : {}),
    ...(options.tracing ? { tracing: options.tracing } : {}),
  });
  await register(server);
  const port = await server.listen("127.0.0.1:0");
  return { server, address: `127.0.0.1:${port}`, logs, close: () => server.shutdown({ graceMs: 1000 }) };
}

/** The OrderlyError a call fails with; fails the test if the call succeeds. */
export async function failureOf(promise: Promise<unknown>): Promise<OrderlyError> {
  try {
    await promise;
  } catch (error) {
    return OrderlyError.from(error);
  }
  throw new Error("expected the call to fail, it succeeded");
}

/**
 * The generated grpc-js UserService client behind a few promise methods: the kit is tested with nothing of
 * @orderly/clients (which the kit must not depend on), and a failure is read with the same OrderlyError.from a real
 * client uses.
 */
export function bareUserClient(address: string, token?: string, channel?: ChannelCredentials) {
  const raw = new UserServiceClient(address, channel ?? credentials.createInsecure());
  const metadataOf = (requestId?: string): Metadata => {
    const metadata = new Metadata();
    if (token) metadata.set("authorization", `Bearer ${token}`);
    if (requestId) metadata.set("x-request-id", requestId);
    return metadata;
  };
  return {
    get(id: string, options: { deadlineMs?: number; signal?: AbortSignal; requestId?: string } = {}): Promise<User> {
      const deadline = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
      return new Promise((resolve, reject) => {
        const call = raw.getUser({ id }, metadataOf(options.requestId), deadline, (error, response) => {
          if (error) reject(OrderlyError.from(error));
          else if (response.user) resolve(response.user);
          else reject(new Error("GetUser answered without a user"));
        });
        options.signal?.addEventListener("abort", () => call.cancel(), { once: true });
      });
    },
    async *stream(filter: { emailContains?: string } = {}): AsyncGenerator<User> {
      const call = raw.streamUsers({ filter: { emailContains: filter.emailContains ?? "" } }, metadataOf());
      try {
        for await (const message of call) {
          const { user } = message as StreamUsersResponse;
          if (!user) throw new Error("StreamUsers sent a message without a user");
          yield user;
        }
      } finally {
        call.cancel();
      }
    },
    close: () => raw.close(),
  };
}

/** What bareUserClient returns. */
export type BareUserClient = ReturnType<typeof bareUserClient>;

/**
 * The value of one sample in Prometheus's text format: the line of metric `name` whose labels include `labels`
 * (others may be present); undefined when there is none. Throws when several lines match, so a test cannot pass on
 * the wrong series.
 */
export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const matches = text.split("\n").filter((line) => {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) return false;
    const present = new Set((match[2] ?? "").split(/,(?=[a-zA-Z_]+=")/));
    return wanted.every((pair) => present.has(pair));
  });
  if (matches.length > 1) throw new Error(`${matches.length} samples of ${name} match ${wanted.join(",")}`);
  const [line] = matches;
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/** A user as a test handler returns it. */
export const testUser = (id: string) => ({
  id,
  email: `${id}@example.com`,
  profile: undefined,
  createTime: new Date(0),
  updateTime: new Date(0),
  etag: "e1",
});

/** A handler a test does not call: FAILED_PRECONDITION NOT_IN_TEST if it is called. */
export const notInTest = () =>
  Promise.reject(new DomainError("failed_precondition", "NOT_IN_TEST", "not in this test"));

/** UserService handlers for a test of server streams: `streamUsers`, and notInTest for every other method. */
export function streamUsersOnly(
  streamUsers: ServiceHandlers<typeof UserServiceService>["streamUsers"],
): ServiceHandlers<typeof UserServiceService> {
  return {
    streamUsers,
    getUser: notInTest,
    createUser: notInTest,
    batchGetUsers: notInTest,
    listUsers: notInTest,
    updateUser: notInTest,
    deleteUser: notInTest,
  };
}
