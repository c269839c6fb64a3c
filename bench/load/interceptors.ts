// Microbenchmark: what each kit interceptor costs per call, in process. Each one wraps a no-op handler and is called
// back to back with a fresh minimal CallContext (auth with a real HS256 token and the real verifier, logging through
// pino to /dev/null the way the service logs to stdout). Figures are net of the same loop around the bare no-op.
// Two more rows go through the kit's real bindService with a fake grpc-js call, to show what the kit costs per call
// outside the interceptors (context, request id, child logger, call scope).
import { EventEmitter } from "node:events";
import { Metadata, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { pino } from "pino";
import {
  authInterceptor,
  authRequired,
  bindService,
  compose,
  createLogger,
  createTokenVerifier,
  deadlineInterceptor,
  DEFAULT_DEADLINES,
  errorInterceptor,
  loggingInterceptor,
  methodsOf,
  orderlyInterceptors,
  select,
  RateLimiter,
  parseRateLimits,
  type CallContext,
  type Interceptor,
  type Next,
} from "@orderly/kit";
import { ServerMetrics } from "@orderly/kit/metrics";
import { TEST_AUTH, testToken } from "@orderly/kit/testing";
import { samplerOf, Tracing, tracingFromSettings } from "@orderly/kit/tracing";
import { UserServiceService } from "@orderly/proto/orderly/user/v1/user_service";
import { fixtureUser } from "../lib/fixture.js";
import { finish, loadConfig, runMain } from "./protocol.js";

interface Config {
  runs: number;
  warmupMs: number;
  budgetMs: number;
}

/** µs per call of each case, one figure per run. */
export type InterceptorResult = Record<string, { perCallUs: number[]; net: boolean }>;

const GET_USER = "/orderly.user.v1.UserService/GetUser";

runMain(async () => {
  const config = loadConfig() as Config;
  const verifier = createTokenVerifier(TEST_AUTH);
  const token = await testToken("bench-admin", ["admin"], { expiresInSeconds: 3600 });
  const logger = createLogger("bench", {}, pino.destination("/dev/null"));
  const method = methodsOf("orderly.user.v1.UserService").get(GET_USER)!;
  const requestMetadata = new Metadata();
  requestMetadata.set("authorization", `Bearer ${token}`);
  const response = { user: fixtureUser(1) };
  const limiter = new RateLimiter(parseRateLimits("*=1000000000/s"));
  // Tracing as OTEL_TRACES_EXPORTER=none leaves it: no Tracing at all, so nothing joins the chain.
  const tracingOff = tracingFromSettings(
    { OTEL_TRACES_EXPORTER: "none", OTEL_TRACES_SAMPLER: "parentbased_always_on", OTEL_TRACES_SAMPLER_ARG: 1 },
    "bench",
  );
  // On: every span recorded and batched to an exporter that drops them (the network's cost is not the kit's).
  const discard = {
    export: (_spans: unknown[], done: (result: { code: 0 }) => void) => done({ code: 0 }),
    shutdown: async () => {},
  };
  const tracingOn = new Tracing({ serviceName: "bench", exporter: discard });
  const tracingUnsampled = new Tracing({
    serviceName: "bench",
    exporter: discard,
    sampler: samplerOf("always_off", 0),
  });
  const noop: Next = async () => response;

  const newContext = (): CallContext => {
    const controller = new AbortController();
    return {
      method,
      requestMetadata,
      responseMetadata: new Metadata(),
      peer: "ipv4:127.0.0.1:50000",
      requestId: "bench-request",
      signal: controller.signal,
      cancellation: controller.signal,
      abort: (reason) => controller.abort(reason),
      deadline: undefined,
      logger,
      caller: undefined,
    };
  };
  const chained = (interceptors: Interceptor[]) => {
    const next = compose(interceptors, noop);
    return () => next({ id: "usr_1" }, newContext());
  };
  const viaKit = (interceptors: Interceptor[]) => {
    const handlers = new Proxy({}, { get: () => noop }) as never;
    const implementation: UntypedServiceImplementation = bindService(UserServiceService, handlers, {
      interceptors,
      logger,
    });
    const getUser = implementation.getUser as (call: unknown, callback: (error: unknown) => void) => void;
    return () =>
      new Promise<void>((resolve, reject) =>
        getUser(fakeCall(requestMetadata), (error) => {
          if (error) reject(new Error("GetUser through the kit failed", { cause: error }));
          else resolve();
        }),
      );
  };

  const cases: Record<string, { call: () => Promise<unknown>; net: boolean }> = {
    baseline: { call: chained([]), net: false },
    logging: { call: chained([loggingInterceptor(logger)]), net: true },
    errors: { call: chained([errorInterceptor]), net: true },
    deadline: { call: chained([deadlineInterceptor(DEFAULT_DEADLINES)]), net: true },
    auth: { call: chained([select(authRequired, authInterceptor(verifier))]), net: true },
    // Observability and rate limiting, each as it runs when switched on (all are off by default).
    metrics: { call: chained([new ServerMetrics().interceptor]), net: true },
    "tracing off": { call: chained(tracingOff ? [tracingOff.interceptor] : []), net: true },
    "tracing on": { call: chained([tracingOn.interceptor]), net: true },
    "tracing on, not sampled": { call: chained([tracingUnsampled.interceptor]), net: true },
    // One caller, so every call takes from the same bucket; the limit is set high enough never to refuse one.
    "rate limit": { call: chained([presetCaller, limiter.interceptor]), net: true },
    "whole chain": { call: chained(orderlyInterceptors({ logger, verifier })), net: true },
    "whole chain, tracing, metrics and rate limit on": {
      call: chained(
        orderlyInterceptors({
          logger,
          verifier,
          tracing: tracingOn,
          metrics: new ServerMetrics(),
          rateLimiter: limiter,
        }),
      ),
      net: true,
    },
    // The kit refuses to run a protected handler without a caller, so this row sets one without verifying anything.
    "kit call, no interceptors": { call: viaKit([presetCaller]), net: false },
    "kit call, whole chain": { call: viaKit(orderlyInterceptors({ logger, verifier })), net: false },
  };

  const raw: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (const { call } of Object.values(cases)) await timeLoop(call, config.warmupMs);
  for (let run = 0; run < config.runs; run++) {
    for (const [name, { call }] of Object.entries(cases)) raw[name]!.push(await timeLoop(call, config.budgetMs));
  }
  const result: InterceptorResult = {};
  for (const [name, { net }] of Object.entries(cases)) {
    result[name] = { net, perCallUs: raw[name]!.map((us, run) => (net ? us - raw.baseline![run]! : us)) };
  }
  finish(result);
});

/** Stands in for auth at no cost: sets a fixed caller. */
const presetCaller: Interceptor = (next) => (request, ctx) => {
  ctx.caller = { subject: "bench-admin", roles: ["admin"], access: { subject: "bench-admin", ownOnly: false } };
  return next(request, ctx);
};

/** Calls `call` back to back for budgetMs; returns µs per call. Yields to the event loop now and then (log writes). */
async function timeLoop(call: () => Promise<unknown>, budgetMs: number): Promise<number> {
  const started = performance.now();
  const end = started + budgetMs;
  let calls = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++) await call();
    calls += 256;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return ((performance.now() - started) * 1000) / calls;
}

/** Just enough of a grpc-js ServerUnaryCall for the kit's bindService. */
function fakeCall(metadata: Metadata) {
  return Object.assign(new EventEmitter(), {
    request: { id: "usr_1" },
    metadata,
    getDeadline: () => Infinity,
    getPeer: () => "ipv4:127.0.0.1:50000",
    sendMetadata: () => {},
  });
}
