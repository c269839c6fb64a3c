// Load: WatchOrders fan-out. Opens many watch streams (all orders, as staff) spread over several HTTP/2 connections,
// waits until every one has passed its SYNC marker, then changes orders at a steady rate (create, confirm, create,
// ...) and records, for every event every stream receives, receipt time minus the event's commit time (event.time,
// stamped by the server when it writes the change; same machine, same clock).
import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { OrderServiceClient, type WatchOrdersResponse } from "@orderly/proto/orderly/order/v1/order_service";
import { latencySummary } from "../lib/stats.js";
import { newOrderRequest } from "./order-request.js";
import { finish, loadConfig, mark, runMain } from "./protocol.js";

interface Config {
  address: string;
  token: string;
  userIds: string[];
  streams: number;
  connections: number;
  changesPerSecond: number;
  durationSeconds: number;
}

/** What one fan-out run measured. */
export interface WatchResult {
  streams: number;
  changes: number;
  deliveries: number;
  expectedDeliveries: number;
  latencyMs: { p50: number; p99: number; max: number; mean: number };
  clientCpuPercent: number;
}

runMain(async () => {
  const config = loadConfig() as Config;
  const metadata = () => {
    const md = new Metadata();
    md.set("authorization", `Bearer ${config.token}`);
    return md;
  };
  // A local subchannel pool gives each client its own connection; grpc-js otherwise shares one between equal channels.
  const watchers = Array.from(
    { length: config.connections },
    () => new OrderServiceClient(config.address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }),
  );
  const writer = new OrderServiceClient(config.address, credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  });

  const latencies: number[] = [];
  let synced = 0;
  // Set by stream callbacks while this function awaits; typed so the checks after each await are not narrowed away.
  const failed: { error: Error | undefined } = { error: undefined };
  const throwIfFailed = (): void => {
    if (failed.error) throw failed.error;
  };
  const calls: ClientReadableStream<WatchOrdersResponse>[] = [];
  for (let i = 0; i < config.streams; i++) {
    const call = watchers[i % watchers.length]!.watchOrders({ orderId: "", userId: "", sinceRevision: 0n }, metadata());
    call.on("data", (message: WatchOrdersResponse) => {
      const kind = message.kind;
      if (kind?.$case === "event") latencies.push(Date.now() - kind.value.time!.getTime());
      else if (kind?.$case === "sync") synced++;
    });
    call.on("error", (error: ServiceError) => {
      if (error.code !== status.CANCELLED)
        failed.error ??= new Error(`a watch stream failed: ${error.code} ${error.details}`); // CANCELLED: our own cancel
    });
    calls.push(call);
  }
  await until(
    () => synced === config.streams || failed.error !== undefined,
    60_000,
    () => `only ${synced} of ${config.streams} watches synced`,
  );
  throwIfFailed();

  mark("start");
  const cpu = process.cpuUsage();
  const started = performance.now();
  const total = Math.round(config.changesPerSecond * config.durationSeconds);
  let changes = 0;
  let pending: string | undefined; // an order created and not yet confirmed
  const writes: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    // A steady schedule: change i at start + i/rate, however long the previous one took.
    const due = started + (i * 1000) / config.changesPerSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const id = pending;
    pending = undefined;
    writes.push(
      id
        ? new Promise<void>((resolve, reject) =>
            writer.confirmOrder({ id, etag: "" }, metadata(), (e) => {
              if (e) {
                reject(e);
                return;
              }
              changes++;
              resolve();
            }),
          )
        : new Promise<void>((resolve, reject) =>
            writer.createOrder(newOrderRequest(config.userIds[i % config.userIds.length]!, i), metadata(), (e, r) => {
              if (e) {
                reject(e);
                return;
              }
              changes++;
              pending = r.order!.id;
              resolve();
            }),
          ),
    );
  }
  await Promise.all(writes);
  const expectedDeliveries = changes * config.streams;
  await until(
    () => latencies.length >= expectedDeliveries || failed.error !== undefined,
    30_000,
    () => `${latencies.length} of ${expectedDeliveries} deliveries arrived`,
  );
  throwIfFailed();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  mark("end");
  for (const call of calls) call.cancel();
  for (const client of [...watchers, writer]) client.close();
  const { p50, p99, max, mean } = latencySummary(latencies);
  const result: WatchResult = {
    streams: config.streams,
    changes,
    deliveries: latencies.length,
    expectedDeliveries,
    latencyMs: { p50, p99, max, mean },
    clientCpuPercent: ((used.user + used.system) / 1e6 / seconds) * 100,
  };
  finish(result);
});

async function until(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
