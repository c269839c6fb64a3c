// What the contract says about a service that the client's channel and retries need: the service config of the
// channel (round-robin over every address it was given; retries are the Transport's, so grpc-js keeps only its
// transparent retry of calls that never reached a server's handler), and which methods are safe to retry, read from
// the descriptor set (IDEMPOTENT or NO_SIDE_EFFECTS), never hand-listed.
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { registry } from "@orderly/proto/descriptors";

/** The service config JSON of every Orderly client channel. */
export const SERVICE_CONFIG = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

/** Each method of the service (e.g. "GetUser") and whether the contract marks it IDEMPOTENT or NO_SIDE_EFFECTS. */
export function methodSafetyOf(serviceName: string): ReadonlyMap<string, boolean> {
  const service = registry.getService(serviceName);
  if (!service) throw new Error(`${serviceName} is not in the descriptor set`);
  return new Map(
    service.methods.map((method) => [
      method.name,
      method.idempotency !== MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN,
    ]),
  );
}
