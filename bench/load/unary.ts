// Load: a fixed number of concurrent callers making GetUser or CreateOrder calls with the generated grpc-js clients,
// first for a warm-up, then for the measured window (marked "start"/"end" so the runner can read server CPU). Every
// CreateOrder has its own request_id, so every call really creates an order. Any failed call fails the run.
import { credentials, Metadata, type Client, type ServiceError } from "@grpc/grpc-js";
import { OrderServiceClient } from "@orderly/proto/orderly/order/v1/order_service";
import { UserServiceClient } from "@orderly/proto/orderly/user/v1/user_service";
import { latencySummary } from "../lib/stats.js";
import { newOrderRequest } from "./order-request.js";
import { finish, loadConfig, mark, runMain } from "./protocol.js";

interface Config {
  method: "getUser" | "createOrder";
  address: string;
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
}

type Invoke = (i: number, metadata: Metadata, done: (error: ServiceError | null) => void) => void;

function invoker(config: Config): { client: Client; invoke: Invoke } {
  const pick = (i: number) => config.userIds[i % config.userIds.length]!;
  if (config.method === "getUser") {
    const client = new UserServiceClient(config.address, credentials.createInsecure());
    return { client, invoke: (i, md, done) => client.getUser({ id: pick(i) }, md, (e) => done(e)) };
  }
  const client = new OrderServiceClient(config.address, credentials.createInsecure());
  return { client, invoke: (i, md, done) => client.createOrder(newOrderRequest(pick(i), i), md, (e) => done(e)) };
}

runMain(async () => {
  const config = loadConfig() as Config;
  const { client, invoke } = invoker(config);
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())),
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
  const worker = () =>
    new Promise<void>((resolve, reject) => {
      const next = () => {
        if (performance.now() >= stopAt) {
          resolve();
          return;
        }
        const started = performance.now();
        invoke(counter++, metadata(), (error) => {
          if (error) {
            reject(new Error(`${config.method} failed: ${error.code} ${error.details}`));
            return;
          }
          if (measuring) latencies.push(performance.now() - started);
          next();
        });
      };
      next();
    });
  const runWindow = () => Promise.all(Array.from({ length: config.concurrency }, worker));

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
  client.close();
  const { p50, p99, max, mean } = latencySummary(latencies);
  const result: UnaryResult = {
    calls: latencies.length,
    requestsPerSecond: latencies.length / seconds,
    latencyMs: { p50, p99, max, mean },
    clientCpuPercent: ((used.user + used.system) / 1e6 / seconds) * 100,
  };
  finish(result);
});
