// Load: a fixed number of concurrent callers making GetUser or CreateOrder calls with the generated grpc-js clients,
// first for a warm-up, then for the measured window (marked "start"/"end" so the runner can read server CPU). Every
// CreateOrder has its own request_id, so every call really creates an order. Any failed call fails the run. Given
// several addresses (replicas), it opens one client (one HTTP/2 connection) per address and splits the callers
// evenly: caller k always calls address k mod N.
import { credentials, Metadata, type Client, type ServiceError } from "@grpc/grpc-js";
import { OrderServiceClient } from "@orderly/proto/orderly/order/v1/order_service";
import { UserServiceClient } from "@orderly/proto/orderly/user/v1/user_service";
import { latencySummary } from "../lib/stats.js";
import { newOrderRequest } from "./order-request.js";
import { finish, loadConfig, mark, runMain } from "./protocol.js";

interface Config {
  method: "getUser" | "createOrder";
  address: string | string[];
  token: string;
  userIds: string[];
  concurrency: number;
  warmupSeconds: number;
  durationSeconds: number;
}

/** What one measured window gave. */
export interface UnaryResult {
  calls: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number; mean: number };
  clientCpuPercent: number;
  /** Calls completed in the window, per address. */
  callsByAddress: Record<string, number>;
}

type Invoke = (i: number, metadata: Metadata, done: (error: ServiceError | null) => void) => void;

function invoker(config: Config, address: string): { client: Client; invoke: Invoke } {
  const pick = (i: number) => config.userIds[i % config.userIds.length]!;
  if (config.method === "getUser") {
    const client = new UserServiceClient(address, credentials.createInsecure());
    return { client, invoke: (i, md, done) => client.getUser({ id: pick(i) }, md, (e) => done(e)) };
  }
  const client = new OrderServiceClient(address, credentials.createInsecure());
  return { client, invoke: (i, md, done) => client.createOrder(newOrderRequest(pick(i), i), md, (e) => done(e)) };
}

runMain(async () => {
  const config = loadConfig() as Config;
  const addresses = typeof config.address === "string" ? [config.address] : config.address;
  if (addresses.length === 0) throw new Error("no address");
  const targets = addresses.map((address) => invoker(config, address));
  await Promise.all(
    targets.map(
      ({ client }) =>
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
  let measuring = false;
  let stopAt = performance.now() + config.warmupSeconds * 1000;
  let counter = 0;
  const latencies: number[] = [];
  const callsByTarget = addresses.map(() => 0);
  const worker = (k: number) =>
    new Promise<void>((resolve, reject) => {
      const target = k % targets.length;
      const { invoke } = targets[target]!;
      const next = () => {
        if (performance.now() >= stopAt) {
          resolve();
          return;
        }
        const started = performance.now();
        invoke(counter++, metadata(), (error) => {
          if (error) {
            reject(new Error(`${config.method} on ${addresses[target]} failed: ${error.code} ${error.details}`));
            return;
          }
          if (measuring) {
            latencies.push(performance.now() - started);
            callsByTarget[target]! += 1;
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
  for (const { client } of targets) client.close();
  const { p50, p99, max, mean } = latencySummary(latencies);
  const result: UnaryResult = {
    calls: latencies.length,
    requestsPerSecond: latencies.length / seconds,
    latencyMs: { p50, p99, max, mean },
    clientCpuPercent: ((used.user + used.system) / 1e6 / seconds) * 100,
    callsByAddress: Object.fromEntries(addresses.map((a, t) => [a, callsByTarget[t]!])),
  };
  finish(result);
});
