// The request id ties a call's log line to what the caller saw: the caller's x-request-id when it is sane, else a
// fresh one; either way it goes back in the response metadata.
import { randomUUID } from "node:crypto";
import type { Metadata } from "@grpc/grpc-js";

/** The metadata key of the request id. */
export const REQUEST_ID_KEY = "x-request-id";

const SANE = /^[\w.:@/+=-]{1,128}$/;

/** The caller's request id if it is 1..128 safe characters, else a new UUID. */
export function requestIdOf(metadata: Metadata): string {
  const given = metadata.get(REQUEST_ID_KEY)[0];
  return typeof given === "string" && SANE.test(given) ? given : randomUUID();
}
