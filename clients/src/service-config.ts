// The gRPC service config a client channel uses: round-robin over every address it was given, and retries only for
// methods the contract marks IDEMPOTENT or NO_SIDE_EFFECTS (read from the descriptor set, never hand-listed).
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { registry } from "@orderly/proto/descriptors";

/** Retry settings for safe methods. */
export interface RetryOptions {
  /** Total attempts including the first (grpc-js caps this at 5). */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** Defaults: up to 4 attempts, backoff 100 ms doubling up to 2 s, on UNAVAILABLE only. */
export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 2000 };

/** The service config JSON for a service: round_robin, plus a retry policy on its idempotent methods. */
export function serviceConfigFor(serviceName: string, retry: RetryOptions | false): string {
  const service = registry.getService(serviceName);
  if (!service) throw new Error(`${serviceName} is not in the descriptor set`);
  const safe = service.methods
    .filter((method) => method.idempotency !== MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN)
    .map((m) => ({ service: serviceName, method: m.name }));
  const methodConfig =
    retry && safe.length > 0
      ? [
          {
            name: safe,
            retryPolicy: {
              maxAttempts: retry.maxAttempts,
              initialBackoff: `${retry.initialBackoffMs / 1000}s`,
              maxBackoff: `${retry.maxBackoffMs / 1000}s`,
              backoffMultiplier: 2,
              retryableStatusCodes: ["UNAVAILABLE"],
            },
          },
        ]
      : [];
  return JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }], methodConfig });
}
