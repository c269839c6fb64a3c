// Calls by path with bytes the harness encodes itself, through a generic grpc-js client: the abuse rows send requests
// and tokens no typed client would, and judge the status each one got (code, ErrorInfo reason, message).
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { Code, OrderlyError } from "@orderly/clients";

/** What one call got back. */
export interface Answer {
  code: Code;
  /** "OK", "UNAUTHENTICATED", ... */
  codeName: string;
  /** The ErrorInfo reason ("" when the status carried none, or on OK). */
  reason: string;
  message: string;
  /** The response bytes, on OK. */
  response?: Buffer;
}

const identity = (bytes: Buffer) => bytes;

/** A generic client of one address (plain text, loopback). */
export function rawClient(address: string, options: Record<string, number> = {}): Client {
  return new Client(address, credentials.createInsecure(), options);
}

/** Metadata from [key, value] pairs (a key may repeat). */
export function metadataOf(pairs: readonly (readonly [string, string])[]): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of pairs) metadata.add(key, value);
  return metadata;
}

/** The headers of a call with this bearer token (none when undefined). */
export function bearer(token: string | undefined): Metadata {
  return metadataOf(token === undefined ? [] : [["authorization", `Bearer ${token}`]]);
}

/** One unary call of `path` with `request` bytes; never throws, resolves with what came back. */
export function rawUnary(
  client: Client,
  path: string,
  request: Uint8Array,
  metadata: Metadata,
  deadlineMs = 10_000,
): Promise<Answer> {
  return new Promise((resolve) => {
    client.makeUnaryRequest<Buffer, Buffer>(
      path,
      identity,
      identity,
      Buffer.from(request),
      metadata,
      { deadline: Date.now() + deadlineMs },
      (error: ServiceError | null, response?: Buffer) => {
        if (!error) {
          resolve({ code: Code.OK, codeName: "OK", reason: "", message: "", ...(response ? { response } : {}) });
          return;
        }
        const failure = OrderlyError.from(error);
        resolve({ code: failure.code, codeName: failure.codeName, reason: failure.reason, message: failure.message });
      },
    );
  });
}

/** "UNAUTHENTICATED/TOKEN_INVALID", or the code alone when there was no reason. */
export function outcomeName(answer: Answer): string {
  return answer.reason ? `${answer.codeName}/${answer.reason}` : answer.codeName;
}
