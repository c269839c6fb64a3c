// Connection limits: the settings (config.ts, GRPC_*) as grpc-js server options. Message sizes and concurrent streams
// protect the server's memory from one client; keepalive pings find peers that vanished without closing (a dead
// WatchOrders client would otherwise hold its stream forever); idle and age GOAWAYs make clients reconnect now and
// then, so connections spread again over replicas a load balancer added, instead of staying where they first landed.
// grpc-js's server reads exactly these options (server.js, server-interceptors.js in 1.14); it enforces no ping
// policy, so a client that pings often is never refused with "too_many_pings".
import type { ServerOptions } from "@grpc/grpc-js";
import type { Config } from "./config.js";

/** The connection settings this file maps. */
export type ConnectionSettings = Pick<
  Config,
  | "GRPC_MAX_RECEIVE_MESSAGE_BYTES"
  | "GRPC_MAX_SEND_MESSAGE_BYTES"
  | "GRPC_MAX_CONCURRENT_STREAMS"
  | "GRPC_KEEPALIVE_TIME_MS"
  | "GRPC_KEEPALIVE_TIMEOUT_MS"
  | "GRPC_MAX_CONNECTION_IDLE_MS"
  | "GRPC_MAX_CONNECTION_AGE_MS"
  | "GRPC_MAX_CONNECTION_AGE_GRACE_MS"
>;

/** grpc-js server options for the settings; a timer set to 0 is left out (grpc-js: never), not passed as 0. */
export function connectionOptions(settings: ConnectionSettings): ServerOptions {
  const options: ServerOptions = {
    "grpc.max_receive_message_length": settings.GRPC_MAX_RECEIVE_MESSAGE_BYTES,
    "grpc.max_send_message_length": settings.GRPC_MAX_SEND_MESSAGE_BYTES,
    "grpc.max_concurrent_streams": settings.GRPC_MAX_CONCURRENT_STREAMS,
    "grpc.keepalive_timeout_ms": settings.GRPC_KEEPALIVE_TIMEOUT_MS,
  };
  // An idle limit of 0 would make grpc-js close every connection at once; "never" is leaving the option out.
  if (settings.GRPC_KEEPALIVE_TIME_MS > 0) options["grpc.keepalive_time_ms"] = settings.GRPC_KEEPALIVE_TIME_MS;
  if (settings.GRPC_MAX_CONNECTION_IDLE_MS > 0)
    options["grpc.max_connection_idle_ms"] = settings.GRPC_MAX_CONNECTION_IDLE_MS;
  if (settings.GRPC_MAX_CONNECTION_AGE_MS > 0) {
    options["grpc.max_connection_age_ms"] = settings.GRPC_MAX_CONNECTION_AGE_MS;
    if (settings.GRPC_MAX_CONNECTION_AGE_GRACE_MS > 0)
      options["grpc.max_connection_age_grace_ms"] = settings.GRPC_MAX_CONNECTION_AGE_GRACE_MS;
  }
  return options;
}
