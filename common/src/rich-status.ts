// google.rpc.Status <-> `grpc-status-details-bin`. The server kit encodes with it and the client decodes with it,
// so both sides agree on one typed shape of the rich error model (AIP-193).
import { Any } from "@orderly/proto/google/protobuf/any";
import { Status } from "@orderly/proto/google/rpc/status";
import {
  BadRequest,
  ErrorInfo,
  PreconditionFailure,
  QuotaFailure,
  RequestInfo,
  ResourceInfo,
  RetryInfo,
} from "@orderly/proto/google/rpc/error_details";

/** The metadata key that carries a serialized google.rpc.Status. */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

/** The error domain of every Orderly ErrorInfo. */
export const ERROR_DOMAIN = "orderly";

/** The google.rpc error details Orderly sends, decoded. Absent ones are undefined. */
export interface ErrorDetails {
  errorInfo?: { reason: string; domain: string; metadata: Record<string, string> };
  badRequest?: { fieldViolations: { field: string; description: string }[] };
  preconditionFailure?: { violations: { type: string; subject: string; description: string }[] };
  resourceInfo?: { resourceType: string; resourceName: string; owner: string; description: string };
  retryInfo?: { retryDelayMs: number };
  quotaFailure?: { violations: { subject: string; description: string }[] };
  requestInfo?: { requestId: string; servingData: string };
}

const TYPE_PREFIX = "type.googleapis.com/";

/** Encodes a status code, message and details as the bytes of a google.rpc.Status. */
export function encodeStatus(code: number, message: string, details: ErrorDetails): Buffer {
  const packed: Any[] = [];
  const pack = (typeName: string, value: Uint8Array) =>
    packed.push({ typeUrl: TYPE_PREFIX + typeName, value: Buffer.from(value) });
  if (details.errorInfo) pack("google.rpc.ErrorInfo", ErrorInfo.encode(details.errorInfo).finish());
  if (details.badRequest) pack("google.rpc.BadRequest", BadRequest.encode(details.badRequest).finish());
  if (details.preconditionFailure)
    pack("google.rpc.PreconditionFailure", PreconditionFailure.encode(details.preconditionFailure).finish());
  if (details.resourceInfo) pack("google.rpc.ResourceInfo", ResourceInfo.encode(details.resourceInfo).finish());
  if (details.quotaFailure) pack("google.rpc.QuotaFailure", QuotaFailure.encode(details.quotaFailure).finish());
  if (details.requestInfo) pack("google.rpc.RequestInfo", RequestInfo.encode(details.requestInfo).finish());
  if (details.retryInfo) {
    const ms = Math.max(0, Math.round(details.retryInfo.retryDelayMs));
    const retryDelay = { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
    pack("google.rpc.RetryInfo", RetryInfo.encode({ retryDelay }).finish());
  }
  return Buffer.from(Status.encode({ code, message, details: packed }).finish());
}

/** Decodes google.rpc.Status bytes; details of types it does not know are skipped, never fatal. */
export function decodeStatus(bytes: Uint8Array): { code: number; message: string; details: ErrorDetails } {
  const status = Status.decode(bytes);
  const details: ErrorDetails = {};
  for (const any of status.details) {
    const typeName = any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1);
    try {
      switch (typeName) {
        case "google.rpc.ErrorInfo":
          details.errorInfo = ErrorInfo.decode(any.value);
          break;
        case "google.rpc.BadRequest":
          details.badRequest = BadRequest.decode(any.value);
          break;
        case "google.rpc.PreconditionFailure":
          details.preconditionFailure = PreconditionFailure.decode(any.value);
          break;
        case "google.rpc.ResourceInfo":
          details.resourceInfo = ResourceInfo.decode(any.value);
          break;
        case "google.rpc.QuotaFailure":
          details.quotaFailure = QuotaFailure.decode(any.value);
          break;
        case "google.rpc.RequestInfo":
          details.requestInfo = RequestInfo.decode(any.value);
          break;
        case "google.rpc.RetryInfo": {
          const delay = RetryInfo.decode(any.value).retryDelay;
          details.retryInfo = {
            retryDelayMs: delay ? Number(delay.seconds) * 1000 + Math.round(delay.nanos / 1e6) : 0,
          };
          break;
        }
      }
    } catch {
      // A detail we cannot decode must not hide the error itself.
    }
  }
  return { code: status.code, message: status.message, details };
}
