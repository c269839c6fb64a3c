// The one error class of Orderly, on both sides of the wire: a gRPC status code, a message, the stable reason and the
// decoded google.rpc details. Servers throw it (the kit encodes it); clients receive it (decoded from the trailers).
import { Metadata, status as Code, type ServiceError } from "@grpc/grpc-js";
import { decodeStatus, encodeStatus, ERROR_DOMAIN, STATUS_DETAILS_KEY, type ErrorDetails } from "./rich-status.js";

export { Code };

/** An Orderly RPC failure with its gRPC code, ErrorInfo reason and rich details. */
export class OrderlyError extends Error {
  override readonly name = "OrderlyError";

  constructor(
    /** The gRPC status code. */
    readonly code: Code,
    message: string,
    /** The decoded google.rpc details; errorInfo is always present on errors from an Orderly server. */
    readonly details: ErrorDetails = {},
    /** Response metadata (trailers) that came with the error, if any. */
    readonly metadata: Metadata = new Metadata(),
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The stable UPPER_SNAKE_CASE reason from ErrorInfo, e.g. "USER_NOT_FOUND"; "" when the peer sent none. */
  get reason(): string {
    return this.details.errorInfo?.reason ?? "";
  }

  /** The code's name, e.g. "NOT_FOUND". */
  get codeName(): string {
    return nameOf(this.code) ?? String(this.code);
  }

  /** Turns anything thrown by a gRPC call (or anything at all) into an OrderlyError, decoding rich details. */
  static from(error: unknown): OrderlyError {
    if (error instanceof OrderlyError) return error;
    if (isServiceError(error)) {
      // Typed as always there, but an error made by hand (or by another library) may lack it.
      const metadata = (error.metadata as Metadata | undefined) ?? new Metadata();
      const raw = metadata.get(STATUS_DETAILS_KEY)[0];
      let details: ErrorDetails = {};
      let message = error.details || error.message;
      if (raw instanceof Buffer) {
        try {
          const decoded = decodeStatus(raw);
          details = decoded.details;
          message = decoded.message || message;
        } catch {
          // Malformed details: keep the plain status.
        }
      }
      return new OrderlyError(error.code, message, details, metadata, { cause: error });
    }
    // What an AbortSignal throws: AbortSignal.timeout() fires a TimeoutError, abort() an AbortError.
    if (error instanceof Error && error.name === "TimeoutError")
      return new OrderlyError(Code.DEADLINE_EXCEEDED, error.message || "the call timed out", {}, undefined, {
        cause: error,
      });
    if (error instanceof Error && error.name === "AbortError")
      return new OrderlyError(Code.CANCELLED, error.message || "the call was cancelled", {}, undefined, {
        cause: error,
      });
    const message = error instanceof Error ? error.message : String(error);
    return new OrderlyError(Code.UNKNOWN, message, {}, undefined, { cause: error });
  }

  /** The grpc-js error to hand to a server callback: code, message and `grpc-status-details-bin`. */
  toServiceError(): Partial<ServiceError> {
    const metadata = this.metadata.clone();
    const details: ErrorDetails = {
      ...this.details,
      errorInfo: this.details.errorInfo ?? {
        reason: nameOf(this.code) ?? "UNKNOWN",
        domain: ERROR_DOMAIN,
        metadata: {},
      },
    };
    metadata.set(STATUS_DETAILS_KEY, encodeStatus(this.code, this.message, details));
    return { code: this.code, details: this.message, metadata };
  }
}

// The enum's reverse mapping is typed string, but a peer may send a code grpc-js does not know.
function nameOf(code: number): string | undefined {
  return (Code as unknown as Record<number, string | undefined>)[code];
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number" && "metadata" in error;
}
