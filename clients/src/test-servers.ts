// Plain grpc-js UserService servers on 127.0.0.1:0 for the client's tests, so each test controls exactly what the
// server does on each attempt (fail n times, send RetryInfo, hang, recover), and the rich errors they answer with.
import {
  Metadata,
  Server,
  ServerCredentials,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from "@grpc/grpc-js";
import { UserServiceService, type UserServiceServer } from "@orderly/proto/orderly/user/v1/user_service";
import { Code, encodeStatus, ERROR_DOMAIN, type ErrorDetails } from "@orderly/common";

/** What the server saw of one attempt. */
export interface SeenCall {
  method: string;
  authorization: unknown;
  /** The deadline the attempt carried, epoch ms (Infinity for none). */
  deadline: number;
  requestId: unknown;
  /** When it arrived, epoch ms. */
  at: number;
}

/** A unary handler of the test server. */
export type UnaryBehaviour = (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void;
/** A server-streaming handler of the test server. */
export type StreamBehaviour = (call: ServerWritableStream<unknown, unknown>) => void;

/** Per method (generated client's name, e.g. getUser), what the server does; unset methods answer user `name`. */
export type Behaviour = Partial<Record<keyof UserServiceServer, UnaryBehaviour | StreamBehaviour>>;

/** A running test server. */
export interface TestUserServer {
  address: string;
  calls: SeenCall[];
  server: Server;
}

/** Starts a UserService on 127.0.0.1:0 that records every attempt and then does what `behaviour` says. */
export async function serveUsers(name: string, behaviour: Behaviour = {}): Promise<TestUserServer> {
  const server = new Server();
  const calls: SeenCall[] = [];
  const impl: Record<string, unknown> = {};
  for (const [key, definition] of Object.entries(UserServiceService)) {
    impl[key] = (call: ServerUnaryCall<unknown, unknown>, cb?: sendUnaryData<unknown>) => {
      calls.push({
        method: key,
        authorization: call.metadata.get("authorization")[0],
        deadline: Number(call.getDeadline()),
        requestId: call.metadata.get("x-request-id")[0],
        at: Date.now(),
      });
      const handler = behaviour[key as keyof UserServiceServer] as ((...args: unknown[]) => void) | undefined;
      if (handler) handler(call, cb);
      else if (definition.responseStream) {
        const stream = call as unknown as ServerWritableStream<unknown, unknown>;
        stream.write({ user: { id: name, email: "", etag: "" } });
        stream.end();
      } else cb?.(null, { user: { id: name, email: "", etag: "" } });
    };
  }
  server.addService(UserServiceService, impl as never);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, calls, server };
}

/** A grpc-js error with google.rpc.Status details (ErrorInfo reason in domain orderly, plus `details`). */
export function richError(code: Code, reason: string, details: Omit<ErrorDetails, "errorInfo"> = {}) {
  const metadata = new Metadata();
  const message = `${reason} (test server)`;
  const all: ErrorDetails = { errorInfo: { reason, domain: ERROR_DOMAIN, metadata: {} }, ...details };
  metadata.set("grpc-status-details-bin", encodeStatus(code, message, all));
  return { code, details: message, metadata };
}

/** A handler that fails with `error` the first `times` calls, then answers user `id`. */
export function failing(times: number, error: () => object, id = "usr_ok"): UnaryBehaviour {
  let failed = 0;
  return (_call, cb) => {
    if (failed++ < times) cb(error());
    else cb(null, { user: { id, email: "", etag: "" } });
  };
}
