// A stopping server as a load balancer sees it from outside: its grpc.health.v1 Check answer (over one connection of
// a separate client) and whether its port still accepts TCP connections, each polled every few ms, so a row can tell
// in which order NOT_SERVING and the closed listener came, and how long after the signal.
import { credentials, Metadata } from "@grpc/grpc-js";
import { HealthCheckResponse_ServingStatus, HealthClient } from "@orderly/proto/grpc/health/v1/health";
import { accepts } from "./net.js";
import { sleep } from "./time.js";

/** Milliseconds after mark() at which each was first seen; NaN while never seen. */
export interface StopTimeline {
  notServingMs: number;
  refusedMs: number;
}

/** A running probe of one server. */
export interface StopProbe {
  /** The moment times are counted from (send the signal right after it). */
  mark(): void;
  readonly timeline: StopTimeline;
  /** Stops polling. */
  stop(): Promise<void>;
}

/** Starts polling the server at 127.0.0.1:port (health of the whole server, "") until stop(). */
export function probeStop(port: number, intervalMs = 5): StopProbe {
  const health = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const timeline: StopTimeline = { notServingMs: Number.NaN, refusedMs: Number.NaN };
  let marked = Number.NaN;
  let running = true;
  const check = () =>
    new Promise<number | undefined>((resolve) =>
      health.check({ service: "" }, new Metadata(), { deadline: Date.now() + 500 }, (error, reply) =>
        resolve(error ? undefined : reply.status),
      ),
    );
  // Polls `seen` until it first holds (or stop()), and records when, counted from mark().
  const pollUntil = async (moment: keyof StopTimeline, seen: () => Promise<boolean>) => {
    while (running && Number.isNaN(timeline[moment])) {
      if (await seen()) timeline[moment] = performance.now() - marked;
      else await sleep(intervalMs);
    }
  };
  const polls = Promise.all([
    pollUntil("notServingMs", async () => (await check()) === HealthCheckResponse_ServingStatus.NOT_SERVING),
    pollUntil("refusedMs", async () => !(await accepts(port, 500)) && !Number.isNaN(marked)),
  ]);
  return {
    mark: () => void (marked = performance.now()),
    timeline,
    async stop() {
      running = false;
      await polls;
      health.close();
    },
  };
}
