// Distributed tracing with OpenTelemetry: a SERVER span per call, continuing the W3C trace context (`traceparent`,
// `tracestate`) the caller sent in metadata, made the active context while the handler runs, so the typed client
// (which injects the active context with @opentelemetry/api alone) carries the trace on to the next service: a
// CreateOrder and the GetUser it makes are one trace. The span's ids go into ctx.trace, and from there into the call's
// log line. Exported as the standard OTEL_* settings choose (otlp, console or none, the default): with none, no SDK is
// set up and the interceptor is not in the chain, so tracing costs nothing.
import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type TextMapGetter,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-node";
import type { Metadata } from "@grpc/grpc-js";
import { Code, OrderlyError } from "@orderly/common";
import type { Interceptor } from "./interceptor.js";
import type { SamplerName } from "./config.js";

export { SAMPLERS, type SamplerName } from "./config.js";

/** The sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (a ratio, for the traceidratio ones) name. */
export function samplerOf(name: SamplerName, ratio: number): Sampler {
  const root: Record<SamplerName, () => Sampler> = {
    always_on: () => new AlwaysOnSampler(),
    always_off: () => new AlwaysOffSampler(),
    traceidratio: () => new TraceIdRatioBasedSampler(ratio),
    parentbased_always_on: () => new AlwaysOnSampler(),
    parentbased_always_off: () => new AlwaysOffSampler(),
    parentbased_traceidratio: () => new TraceIdRatioBasedSampler(ratio),
  };
  const sampler = root[name]();
  return name.startsWith("parentbased_") ? new ParentBasedSampler({ root: sampler }) : sampler;
}

/** How a process traces. */
export interface TracingOptions {
  /** service.name of the spans. */
  serviceName: string;
  /** Where finished spans go. */
  exporter: SpanExporter;
  /** Batch spans (default; for a network exporter) or export each as it ends (tests, console). */
  batch?: boolean;
  sampler?: Sampler;
}

// gRPC metadata as OpenTelemetry's propagators read it: traceparent and tracestate are ASCII headers.
const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get: (carrier, key) => {
    const values = carrier.get(key);
    if (values.length === 0) return undefined;
    return values.map(String);
  },
};

// The codes OpenTelemetry's semantic conventions count as a server span's error: the server's own faults.
const SERVER_ERRORS = new Set<number>([
  Code.UNKNOWN,
  Code.DEADLINE_EXCEEDED,
  Code.UNIMPLEMENTED,
  Code.INTERNAL,
  Code.UNAVAILABLE,
  Code.DATA_LOSS,
]);

/** A process's tracing: the SDK (registered globally) and the SERVER-span interceptor. */
export class Tracing {
  private readonly provider: NodeTracerProvider;
  private readonly tracer: Tracer;
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(options: TracingOptions) {
    const processor =
      options.batch === false ? new SimpleSpanProcessor(options.exporter) : new BatchSpanProcessor(options.exporter);
    this.provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ "service.name": options.serviceName }),
      spanProcessors: [processor],
      ...(options.sampler ? { sampler: options.sampler } : {}),
    });
    // Globally: the AsyncLocalStorage context manager that carries the active span into the handler's awaits, and
    // the W3C propagator the typed client injects with.
    this.provider.register({ propagator: this.propagator });
    this.tracer = this.provider.getTracer("@orderly/kit");
  }

  /** A SERVER span around every call it wraps, child of the caller's traceparent if it sent one. */
  readonly interceptor: Interceptor = (next) => (request, ctx) => {
    const parent = this.propagator.extract(ROOT_CONTEXT, ctx.requestMetadata, metadataGetter);
    const span = this.tracer.startSpan(
      ctx.method.path.slice(1),
      {
        kind: SpanKind.SERVER,
        attributes: { "rpc.system": "grpc", "rpc.service": ctx.method.service, "rpc.method": ctx.method.name },
      },
      parent,
    );
    const { traceId, spanId } = span.spanContext();
    ctx.trace = { traceId, spanId };
    return context
      .with(trace.setSpan(parent, span), () => next(request, ctx))
      .then(
        (response) => {
          span.setAttribute("rpc.grpc.status_code", Code.OK);
          span.end();
          return response;
        },
        (error: unknown) => {
          const failure = OrderlyError.from(error);
          span.setAttribute("rpc.grpc.status_code", failure.code);
          if (failure.reason) span.setAttribute("orderly.reason", failure.reason);
          if (SERVER_ERRORS.has(failure.code)) span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
          span.end();
          throw error;
        },
      );
  };

  /** Exports what is still buffered and stops; the process is about to exit. */
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

/** The standard OTEL_* settings this kit reads (config.ts). */
export interface TracingSettings {
  OTEL_TRACES_EXPORTER: "otlp" | "console" | "none";
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_SERVICE_NAME?: string | undefined;
  OTEL_TRACES_SAMPLER: SamplerName;
  OTEL_TRACES_SAMPLER_ARG: number;
}

/** The process's tracing as the settings choose, or undefined when OTEL_TRACES_EXPORTER is none. */
export function tracingFromSettings(settings: TracingSettings, serviceName: string): Tracing | undefined {
  const kind = settings.OTEL_TRACES_EXPORTER;
  if (kind === "none") return undefined;
  const endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporter =
    kind === "console"
      ? new ConsoleSpanExporter()
      : new OTLPTraceExporter(endpoint ? { url: `${endpoint.replace(/\/$/, "")}/v1/traces` } : {});
  return new Tracing({
    serviceName: settings.OTEL_SERVICE_NAME ?? serviceName,
    exporter,
    batch: kind === "otlp",
    sampler: samplerOf(settings.OTEL_TRACES_SAMPLER, settings.OTEL_TRACES_SAMPLER_ARG),
  });
}
