// Helpers for tests that run a real Orderly server on 127.0.0.1:0 with the real interceptor chain: a verifier with a
// test secret, tokens for any subject and roles, and the server's log lines captured for assertions.
import { Writable } from "node:stream";
import { OrderlyError } from "@orderly/common";
import { SignJWT } from "jose";
import { createLogger } from "./logging.js";
import { createOrderlyServer, type OrderlyServer } from "./server.js";
import { createTokenVerifier, type AuthConfig } from "./token-verifier.js";
import type { DeadlineOptions } from "./deadline.js";

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
  options: { deadlines?: DeadlineOptions } = {},
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
  });
  await register(server);
  const port = await server.listen("127.0.0.1:0");
  return { server, address: `127.0.0.1:${port}`, logs, close: () => server.shutdown(1000) };
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
