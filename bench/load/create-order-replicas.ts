// Load over several OrderService replicas: like unary.ts (a fixed number of concurrent callers, a warm-up, then the
// measured window between "start" and "end" marks, a new request_id per call, any failed call fails the run), with one
// generated grpc-js client (one HTTP/2 connection) per replica address and the callers split evenly between them:
// caller k always calls replica k mod N, so with 2 replicas half of the calls in flight go to each.
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { OrderServiceClient } from "@orderly/proto/orderly/order/v1/order_service";
import { latencySummary } from "../lib/stats.js";
import { newOrderRequest } from "./order-request.js";
import { finish, loadConfig, mark, runMain } from "./protocol.js";
import type { UnaryResult } from "./unary.js";

interface Config {
  addresses: string[];
  token: string;
  userIds: string[];
  concurrency: number;
  warmupSeconds: number;
  durationSeconds: number;
}

/** What one measured window gave, overall and per replica address (calls completed in the window). */
export interface ReplicasResult extends UnaryResult {
  callsByAddress: Record<string, number>;
}

runMain(async () => {
  const config = loadConfig() as Config;
  if (config.addresses.length === 0) throw new Error("no replica addresses");
  const clients = config.addresses.map((address) => new OrderServiceClient(address, credentials.createInsecure()));
  await Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((resolve, reject) =>
          client.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())),
        ),
    ),
  );
  const metadata = () => {
    const md = new Metadata();
    md.set("authorization", `Bearer ${config.token}`);
    return md;
  };
  const pick = (i: number) => config.userIds[i % config.userIds.length]!;
  let measuring = false;
  let stopAt = performance.now() + config.warmupSeconds * 1000;
  let counter = 0;
  const latencies: number[] = [];
  const callsByReplica = config.addresses.map(() => 0);
  const worker = (k: number) =>
    new Promise<void>((resolve, reject) => {
      const replica = k % clients.length;
      const client = clients[replica]!;
      const next = () => {
        if (performance.now() >= stopAt) {
          resolve();
          return;
        }
        const started = performance.now();
        const i = counter++;
        client.createOrder(newOrderRequest(pick(i), i), metadata(), (error: ServiceError | null) => {
          if (error) {
            reject(new Error(`createOrder on ${config.addresses[replica]} failed: ${error.code} ${error.details}`));
            return;
          }
          if (measuring) {
            latencies.push(performance.now() - started);
            callsByReplica[replica]! += 1;
          }
          next();
        });
      };
      next();
    });
  const runWindow = () => Promise.all(Array.from({ length: config.concurrency }, (_, k) => worker(k)));

  await runWindow();
  // The measured window starts with no call in flight, so every call it counts started and ended inside it.
  measuring = true;
  mark("start");
  const cpu = process.cpuUsage();
  const started = performance.now();
  stopAt = started + config.durationSeconds * 1000;
  await runWindow();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  mark("end");
  for (const client of clients) client.close();
  const { p50, p99, max, mean } = latencySummary(latencies);
  const result: ReplicasResult = {
    calls: latencies.length,
    requestsPerSecond: latencies.length / seconds,
    latencyMs: { p50, p99, max, mean },
    clientCpuPercent: ((used.user + used.system) / 1e6 / seconds) * 100,
    callsByAddress: Object.fromEntries(config.addresses.map((a, r) => [a, callsByReplica[r]!])),
  };
  finish(result);
});
