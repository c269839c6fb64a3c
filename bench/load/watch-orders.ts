// Load: WatchOrders fan-out. Opens many watch streams (all orders, as staff) spread over several HTTP/2 connections,
// waits until every one has passed its SYNC marker, then changes orders at a steady rate (create, confirm, create,
// ...) and records, for every event every stream receives, receipt time minus the event's commit time (event.time,
// stamped by the server when it writes the change; same machine, same clock).
//
// The watch streams are read with node:http2 directly, not with a gRPC library: at 50,000 messages a second the
// grpc-js client's own per-message work (its stream decoder, interceptors and Readable) took most of this process's
// core, and its queueing then counted in the latency it measures. Each message is still cut out of the DATA frames,
// decoded in full with the generated decoder and checked: an event (never a second SYNC or anything else), revisions
// rising on each stream, every stream agreeing on which order a revision belongs to, and every order the writer
// changed seen. A stream that ends, fails or answers anything but HTTP 200 fails the run. The writer (25 calls a
// second) is an ordinary grpc-js client.
import {
  connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
} from "node:http2";
import { credentials, Metadata } from "@grpc/grpc-js";
import {
  OrderServiceClient,
  WatchOrdersRequest,
  WatchOrdersResponse,
} from "@orderly/proto/orderly/order/v1/order_service";
import { GrpcMessageReader, grpcFrame } from "../lib/grpc-frame.js";
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
  warmupSeconds: number;
}

/** What one fan-out run measured. */
export interface WatchResult {
  streams: number;
  changes: number;
  deliveries: number;
  expectedDeliveries: number;
  latencyMs: { p50: number; p99: number; max: number; mean: number };
  /** The warm-up's changes (same streams and rate, before the window), measured apart: the fan-out path's first use. */
  warmup: { changes: number; latencyMs: { p50: number; p99: number; max: number; mean: number } };
  clientCpuPercent: number;
  /** This process's CPU time in the window divided by the deliveries (the writer's few calls included). */
  clientCpuMicrosPerDelivery: number;
}

const WATCH_PATH = "/orderly.order.v1.OrderService/WatchOrders";

runMain(async () => {
  const config = loadConfig() as Config;
  const metadata = () => {
    const md = new Metadata();
    md.set("authorization", `Bearer ${config.token}`);
    return md;
  };
  const writer = new OrderServiceClient(config.address, credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  });

  // The deliveries of the current phase (warm-up, then the window); every stream callback pushes to it.
  let latencies: number[] = [];
  /** The order of each revision, as the first stream to receive it saw it (an array: revisions are small integers). */
  const orderOfRevision: string[] = [];
  let synced = 0;
  let cancelling = false;
  // Set by stream callbacks while this function awaits; typed so the checks after each await are not narrowed away.
  const failed: { error: Error | undefined } = { error: undefined };
  const fail = (message: string): void => {
    if (!cancelling) failed.error ??= new Error(message);
  };
  const throwIfFailed = (): void => {
    if (failed.error) throw failed.error;
  };

  const sessions: ClientHttp2Session[] = Array.from({ length: config.connections }, () => {
    const session = connect(`http://${config.address}`);
    session.on("error", (error: Error) => fail(`a watch connection failed: ${error.message}`));
    return session;
  });
  const body = grpcFrame(WatchOrdersRequest.encode({ orderId: "", userId: "", sinceRevision: 0n }).finish());
  const calls: ClientHttp2Stream[] = [];
  for (let i = 0; i < config.streams; i++) {
    const stream = sessions[i % sessions.length]!.request({
      ":method": "POST",
      ":path": WATCH_PATH,
      "content-type": "application/grpc",
      te: "trailers",
      authorization: `Bearer ${config.token}`,
    });
    let sawSync = false;
    let lastRevision = -1n;
    const reader = new GrpcMessageReader((bytes) => {
      const kind = WatchOrdersResponse.decode(bytes).kind;
      if (kind?.$case === "event" && sawSync) {
        const event = kind.value;
        latencies.push(Date.now() - event.time!.getTime());
        if (event.revision <= lastRevision) fail(`stream ${i}: revision ${event.revision} after ${lastRevision}`);
        lastRevision = event.revision;
        const orderId = orderOfRevision[Number(event.revision)];
        if (orderId === undefined) orderOfRevision[Number(event.revision)] = event.orderId;
        else if (orderId !== event.orderId)
          fail(`stream ${i}: revision ${event.revision} is of ${event.orderId}, another stream saw ${orderId}`);
      } else if (kind?.$case === "sync" && !sawSync) {
        sawSync = true;
        lastRevision = kind.value.headRevision;
        synced++;
      } else if (kind?.$case !== "heartbeat") {
        fail(`stream ${i}: unexpected ${kind?.$case ?? "empty"} message${sawSync ? "" : " before SYNC"}`);
      }
    });
    stream.on("response", (headers) => {
      if (headers[":status"] !== 200) fail(`a watch answered HTTP ${headers[":status"]}`);
      // Trailers-only: the call failed before any message.
      else if (headers["grpc-status"] !== undefined)
        fail(`a watch failed: ${String(headers["grpc-status"])} ${String(headers["grpc-message"] ?? "")}`);
    });
    stream.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (error) {
        fail(`stream ${i}: ${(error as Error).message}`);
      }
    });
    stream.on("trailers", (trailers: IncomingHttpHeaders) =>
      fail(`a watch ended: ${String(trailers["grpc-status"])} ${String(trailers["grpc-message"] ?? "")}`),
    );
    stream.on("error", (error: Error) => fail(`a watch stream failed: ${error.message}`));
    stream.on("close", () => fail(`a watch stream closed (${stream.rstCode})`));
    stream.end(body);
    calls.push(stream);
  }
  await until(
    () => synced === config.streams || failed.error !== undefined,
    60_000,
    () => `only ${synced} of ${config.streams} watches synced`,
  );
  throwIfFailed();
  mark("synced");

  const changed = new Set<string>();
  let pending: string | undefined; // an order created and not yet confirmed
  let next = 0; // the index of the next change (its order's user and items)
  /** Makes `total` changes at the configured rate, then waits until each has reached every stream. */
  const changeAll = async (total: number): Promise<number> => {
    latencies = [];
    const started = performance.now();
    let changes = 0;
    const writes: Promise<void>[] = [];
    for (let k = 0; k < total; k++, next++) {
      const i = next;
      // A steady schedule: change k at start + k/rate, however long the previous one took.
      const due = started + (k * 1000) / config.changesPerSecond;
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
                changed.add(pending);
                resolve();
              }),
            ),
      );
    }
    await Promise.all(writes);
    const expected = changes * config.streams;
    await until(
      () => latencies.length >= expected || failed.error !== undefined,
      30_000,
      () => `${latencies.length} of ${expected} deliveries arrived`,
    );
    throwIfFailed();
    if (latencies.length !== expected) throw new Error(`${latencies.length} deliveries for ${expected} expected`);
    return changes;
  };

  // Warm-up, as the unary rows have: the first events after the streams open are far slower than the rest (the
  // fan-out path compiled and run for the first time), for bare grpc-js too; measured, and reported apart.
  const warmupChanges = await changeAll(Math.round(config.changesPerSecond * config.warmupSeconds));
  const warmupLatencies = latencies;

  mark("start");
  const cpu = process.cpuUsage();
  const started = performance.now();
  const changes = await changeAll(Math.round(config.changesPerSecond * config.durationSeconds));
  const expectedDeliveries = changes * config.streams;
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  mark("end");
  cancelling = true;
  for (const stream of calls) stream.close(constants.NGHTTP2_CANCEL);
  for (const session of sessions) session.close();
  writer.close();

  const seen = new Set(orderOfRevision);
  const unseen = [...changed].filter((id) => !seen.has(id));
  if (unseen.length > 0) throw new Error(`no event of ${unseen.length} changed orders arrived, e.g. ${unseen[0]}`);
  const { p50, p99, max, mean } = latencySummary(latencies);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const result: WatchResult = {
    streams: config.streams,
    changes,
    deliveries: latencies.length,
    expectedDeliveries,
    latencyMs: { p50, p99, max, mean },
    warmup: { changes: warmupChanges, latencyMs: latencySummary(warmupLatencies) },
    clientCpuPercent: (cpuSeconds / seconds) * 100,
    clientCpuMicrosPerDelivery: (cpuSeconds / latencies.length) * 1e6,
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
