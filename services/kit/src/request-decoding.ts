// Request bodies that are not the message they claim to be. grpc-js deserializes a request before any interceptor
// runs, and a body that fails to decode ends the call with INTERNAL ("Error deserializing request"), which tells the
// caller nothing and counts as a server failure. Here the service definition's requestDeserialize never throws: an
// undecodable body becomes an UndecodableRequest, which decodingInterceptor (innermost in the chain, after auth, so an
// unauthenticated caller still gets UNAUTHENTICATED) answers with INVALID_ARGUMENT and a BadRequest, before a
// handler could see it. The decoder's own message is not repeated: it can quote the body.
import { invalidArgument } from "./domain/errors.js";
import type { Interceptor } from "./interceptor.js";
import type { GeneratedService } from "./service.js";

/** What requestDeserialize yields for a body that does not decode. */
export class UndecodableRequest {
  constructor(
    /** Its size in bytes, for the log. */
    readonly bytes: number,
  ) {}
}

/** The definition with every method's requestDeserialize made total: an undecodable body is an UndecodableRequest. */
export function withTolerantDecoding<S extends GeneratedService>(definition: S): S {
  const copy: GeneratedService = {};
  for (const [key, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize;
    copy[key] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return decode(bytes);
        } catch {
          return new UndecodableRequest(bytes.length);
        }
      },
    };
  }
  return copy as S;
}

/** INVALID_ARGUMENT (BadRequest on "request") for a body withTolerantDecoding could not decode. */
export const decodingInterceptor: Interceptor = (next) => (request, ctx) => {
  if (request instanceof UndecodableRequest) {
    return Promise.reject(
      invalidArgument([
        {
          field: "request",
          description: `the body (${request.bytes} bytes) is not a valid protobuf encoding of the ${ctx.method.name} request`,
        },
      ]),
    );
  }
  return next(request, ctx);
};
