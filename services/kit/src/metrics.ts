// Prometheus metrics with prom-client, under go-grpc-prometheus's names and labels, so dashboards and alerts written
// for gRPC servers in Go read Orderly's unchanged: grpc_server_started_total, grpc_server_handled_total (with
// grpc_code spelled as Go spells codes: OK, NotFound, ResourceExhausted, ...), grpc_server_handling_seconds,
// grpc_server_msg_received_total and grpc_server_msg_sent_total, labelled grpc_type, grpc_service, grpc_method. Plus
// gauges other code registers through the Gauges port (open watches, pool connections) and Node's process metrics.
// Served as text on METRICS_ADDRESS (metricsHttpServer); with metrics off, no interceptor or registry exists.
import { createServer, type Server } from "node:http";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { Code, OrderlyError } from "@orderly/common";
import type { MethodInfo } from "./context.js";
import type { Gauges } from "./domain/gauges.js";
import type { Interceptor } from "./interceptor.js";

/** Go's names of the status codes (google.golang.org/grpc/codes String()), as go-grpc-prometheus labels them. */
const GO_CODE_NAMES: readonly string[] = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

/** The grpc_code label of a status code. */
export function grpcCodeLabel(code: number): string {
  return GO_CODE_NAMES[code] ?? `Code(${code})`;
}

/** Prometheus's default buckets, which go-grpc-prometheus's handling-time histogram uses too (seconds). */
export const HANDLING_SECONDS_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METHOD_LABELS = ["grpc_type", "grpc_service", "grpc_method"] as const;
type MethodLabelName = (typeof METHOD_LABELS)[number];
type MethodLabels = Record<MethodLabelName, string>;

/**
 * One method's counts since the last scrape. A call adds to plain numbers; a scrape moves them into prom-client's
 * counters (flush), so the per-call cost is a few additions rather than a label hash per counter.
 */
interface MethodSeries {
  labels: MethodLabels;
  started: number;
  received: number;
  sent: number;
  /** Calls finished, by status code. */
  handled: number[];
  /** For server streams: counts the messages written, as the kit writes them. */
  onSent: (count: number) => void;
  /** The duration histogram's series, bound once (prom-client has no cheaper way to observe). */
  handling: Histogram.Internal<MethodLabelName>;
}

/** What a ServerMetrics collects besides the calls. */
export interface ServerMetricsOptions {
  /** Also collect Node's process metrics (CPU, memory, event loop lag, GC); a service process does. Default false. */
  processMetrics?: boolean;
}

/** A server's metrics: the registry to scrape, the interceptor that fills it, and the Gauges port. */
export class ServerMetrics implements Gauges {
  readonly registry = new Registry();
  private readonly started: Counter<MethodLabelName>;
  private readonly handled: Counter<MethodLabelName | "grpc_code">;
  private readonly handling: Histogram<MethodLabelName>;
  private readonly received: Counter<MethodLabelName>;
  private readonly sent: Counter<MethodLabelName>;
  private readonly series = new Map<string, MethodSeries>();

  constructor(options: ServerMetricsOptions = {}) {
    const registers = [this.registry];
    const labelNames = METHOD_LABELS;
    const collect = () => this.flush();
    this.started = new Counter({
      name: "grpc_server_started_total",
      help: "Total number of RPCs started on the server.",
      labelNames,
      registers,
      collect,
    });
    this.handled = new Counter({
      name: "grpc_server_handled_total",
      help: "Total number of RPCs completed on the server, regardless of success or failure.",
      labelNames: [...labelNames, "grpc_code"],
      registers,
      collect,
    });
    this.handling = new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
      labelNames,
      buckets: [...HANDLING_SECONDS_BUCKETS],
      registers,
    });
    this.received = new Counter({
      name: "grpc_server_msg_received_total",
      help: "Total number of RPC stream messages received on the server.",
      labelNames,
      registers,
      collect,
    });
    this.sent = new Counter({
      name: "grpc_server_msg_sent_total",
      help: "Total number of gRPC stream messages sent by the server.",
      labelNames,
      registers,
      collect,
    });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Reports read() as a gauge when scraped (the Gauges port). */
  add(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** Counts every call it wraps: started and received first, then sent, handled (by code) and its duration. */
  readonly interceptor: Interceptor = (next) => async (request, ctx) => {
    const series = this.seriesOf(ctx.method);
    const begun = performance.now();
    series.started++;
    series.received++;
    const unary = ctx.method.kind === "unary";
    if (!unary) ctx.onMessagesSent = series.onSent;
    let code: number = Code.OK;
    try {
      const response = await next(request, ctx);
      if (unary) series.sent++;
      return response;
    } catch (error) {
      code = OrderlyError.from(error).code;
      throw error;
    } finally {
      series.handled[code] = (series.handled[code] ?? 0) + 1;
      series.handling.observe((performance.now() - begun) / 1000);
    }
  };

  /** Moves the counts made since the last scrape into the counters. */
  private flush(): void {
    for (const series of this.series.values()) {
      const { labels } = series;
      if (series.started > 0) this.started.inc(labels, series.started);
      if (series.received > 0) this.received.inc(labels, series.received);
      if (series.sent > 0) this.sent.inc(labels, series.sent);
      series.started = series.received = series.sent = 0;
      series.handled.forEach((count, code) => {
        if (count > 0) this.handled.inc({ ...labels, grpc_code: grpcCodeLabel(code) }, count);
      });
      series.handled = [];
    }
  }

  private seriesOf(method: MethodInfo): MethodSeries {
    let series = this.series.get(method.path);
    if (!series) {
      const labels: MethodLabels = {
        grpc_type: method.kind === "unary" ? "unary" : "server_stream",
        grpc_service: method.service,
        grpc_method: method.name,
      };
      const created: MethodSeries = {
        labels,
        started: 0,
        received: 0,
        sent: 0,
        handled: [],
        onSent: (count) => (created.sent += count),
        handling: this.handling.labels(labels),
      };
      this.series.set(method.path, created);
      series = created;
    }
    return series;
  }
}

/**
 * Serves `registry` in Prometheus's text format on `address` (host:port; port 0 picks one) at /metrics (any other
 * path is 404). Resolves with the listening server and its port.
 */
export async function metricsHttpServer(
  registry: Registry,
  address: string,
): Promise<{ server: Server; port: number }> {
  const separator = address.lastIndexOf(":");
  const host = address.slice(0, separator).replace(/^\[(.*)\]$/, "$1");
  const port = Number(address.slice(separator + 1));
  const server = createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  return { server, port: typeof bound === "object" && bound ? bound.port : port };
}
