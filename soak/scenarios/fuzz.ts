// Mutated request bodies against every method of both services, sent as raw HTTP/2 (node:http2) to the real processes
// on PostgreSQL: valid requests of each method with bits flipped, bytes inserted, replaced or cut, NUL bytes and
// invalid UTF-8 in strings, huge varints and lengths, unknown fields, a body repeated hundreds of times (long lists
// that make long violation lists); plus frame-level abuse (a truncated frame, a length prefix larger than the body or
// than any message, the compressed flag without an encoding, a gzip body that does not inflate, a bad grpc-timeout,
// no message, two messages). Every answer must be a clear status; the servers must not crash, must stay SERVING,
// and their memory must settle back.
import { gzipSync } from "node:zlib";
import type { ClientHttp2Session } from "node:http2";
import { Code, createOrderClient, createUserClient } from "@orderly/clients";
import { HealthCheckResponse, HealthCheckResponse_ServingStatus } from "@orderly/proto/grpc/health/v1/health";
import * as orderService from "@orderly/proto/orderly/order/v1/order_service";
import * as userService from "@orderly/proto/orderly/user/v1/user_service";
import type { Scenario, ScenarioOptions, ScenarioResult } from "../scenario.js";
import { onPrivatePostgres, type Deployment } from "../lib/deployment.js";
import { createUsers, markedOrder } from "../lib/orders.js";
import { frame, grpcHeaders, h2Connect, rawRequest, type RawAnswer } from "../lib/raw-h2.js";
import { sampleRss } from "../lib/rss.js";
import { rssMb } from "../../bench/lib/proc-stats.js";
import { sleep } from "../lib/time.js";
import { roundRobin } from "../lib/pick.js";

const FULL = { bodies: 100_000, concurrency: 32 };
const SMOKE = { bodies: 3_000, concurrency: 16 };
const SEED = 0x5eed;
/**
 * Memory: between the middle and the end of the run (the second half of the bodies) a service's RSS may grow at most
 * this much: a leak of even 1 KB per request would add about 50 MB there. Before that, V8's heap and the pools grow
 * to their working size.
 */
const RSS_GROWTH_LIMIT_MB = 32;
/** And it must never pass this, at the peak. */
const RSS_PEAK_LIMIT_MB = 400;

/** The fuzz row. */
export const fuzz: Scenario = {
  id: "fuzz",
  title: "Mutated request bodies and malformed gRPC frames, raw HTTP/2, every method of both services (PostgreSQL)",
  criterion:
    "0 crashes; every call answered with a grpc-status; 0 INTERNAL except the two grpc-js answers before the kit " +
    "(a gzip body that does not inflate, a malformed grpc-timeout); an undecodable body is INVALID_ARGUMENT; " +
    `0 unexpected failures logged; both services SERVING after; RSS after the run within ${RSS_GROWTH_LIMIT_MB} MB of ` +
    `RSS half-way (no growth per request), peak under ${RSS_PEAK_LIMIT_MB} MB`,
  run,
};

/** A method as the fuzzer sees it: its path, whether it streams, a valid request. */
interface Target {
  service: "users" | "orders";
  path: string;
  name: string;
  streaming: boolean;
  seed: Buffer;
}

function targets(userId: string, orderId: string, etag: string): Target[] {
  const address = {
    recipient: "Ada",
    line1: "1 Road",
    line2: "",
    city: "London",
    region: "",
    postalCode: "N1 1AA",
    countryCode: "GB",
  };
  const samples: Record<string, unknown> = {
    createUser: {
      user: {
        email: "fuzz@example.com",
        profile: {
          firstName: "Ada",
          lastName: "L",
          avatarUrl: "https://example.com/a.png",
          preferences: { lang: "en" },
        },
      },
    },
    getUser: { id: userId },
    batchGetUsers: { ids: [userId, userId] },
    listUsers: { pageSize: 10, pageToken: "", filter: { emailContains: "fuzz" } },
    streamUsers: { filter: { emailContains: "soak" } },
    updateUser: {
      user: { id: userId, email: "", profile: { firstName: "Bea", lastName: "", avatarUrl: "", preferences: {} } },
      updateMask: ["profile.first_name"],
      etag: "",
    },
    deleteUser: { id: "usr_fuzz_missing", etag: "" },
    createOrder: {
      requestId: "0d5c7e1e-8a8c-4c57-9a63-2f8f3f0c1a10",
      order: {
        userId,
        currencyCode: "GBP",
        items: [{ sku: "BOOK-1", quantity: 2, unitPriceMinor: 1250n }],
        shippingAddress: address,
      },
    },
    getOrder: { id: orderId, includeEvents: true },
    listOrders: { pageSize: 10, pageToken: "", filter: { userId } },
    updateOrder: {
      order: { id: orderId, items: [{ sku: "BOOK-2", quantity: 1, unitPriceMinor: 999n }], shippingAddress: address },
      updateMask: ["items"],
      etag,
    },
    cancelOrder: { id: orderId, reason: "fuzz", etag: "" },
    confirmOrder: { id: orderId, etag },
    shipOrder: { id: orderId, etag: "" },
    deliverOrder: { id: orderId, etag: "" },
    listOrderEvents: { orderId, pageSize: 10, pageToken: "" },
    watchOrders: { orderId: "", userId, sinceRevision: 1n },
  };
  const out: Target[] = [];
  for (const [service, module, definition] of [
    ["users", userService, userService.UserServiceService],
    ["orders", orderService, orderService.OrderServiceService],
  ] as const) {
    const methods = definition as Record<string, { path: string; responseStream: boolean; requestSerialize: unknown }>;
    for (const [name, method] of Object.entries(methods)) {
      const sample = samples[name];
      const type = (module as Record<string, unknown>)[`${name.charAt(0).toUpperCase()}${name.slice(1)}Request`] as
        { fromPartial(value: unknown): unknown } | undefined;
      if (sample === undefined || !type) throw new Error(`the fuzzer has no sample request for ${method.path}`);
      const serialize = method.requestSerialize as (value: unknown) => Buffer;
      const seed = serialize(type.fromPartial(sample));
      out.push({ service, path: method.path, name, streaming: method.responseStream, seed });
    }
  }
  return out;
}

/** A small seeded PRNG (mulberry32), so a run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Mutator = (body: Buffer, random: () => number) => Buffer;

const int = (random: () => number, n: number) => Math.floor(random() * n);
const randomBytes = (random: () => number, n: number) => Buffer.from(Array.from({ length: n }, () => int(random, 256)));
/** Positions of bytes that look like text (inside strings, most likely). */
const textPositions = (body: Buffer) =>
  [...body.keys()].filter((i) => (body[i] ?? 0) >= 0x41 && (body[i] ?? 0) <= 0x7a);

const MUTATORS: Record<string, Mutator> = {
  "flip bits": (b, r) => {
    const out = Buffer.from(b);
    for (let i = 0, n = 1 + int(r, 8); i < n && out.length > 0; i++) {
      const at = int(r, out.length);
      out[at] = (out[at] ?? 0) ^ (1 << int(r, 8));
    }
    return out;
  },
  "replace a byte": (b, r) => {
    const out = Buffer.from(b);
    if (out.length > 0) out[int(r, out.length)] = int(r, 256);
    return out;
  },
  "insert bytes": (b, r) => {
    const at = int(r, b.length + 1);
    return Buffer.concat([b.subarray(0, at), randomBytes(r, 1 + int(r, 8)), b.subarray(at)]);
  },
  "delete bytes": (b, r) => {
    const at = int(r, b.length + 1);
    return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(r, 8))]);
  },
  truncate: (b, r) => b.subarray(0, int(r, b.length)),
  "append junk": (b, r) => Buffer.concat([b, randomBytes(r, 1 + int(r, 32))]),
  "random body": (_, r) => randomBytes(r, int(r, 64)),
  "NUL in a string": (b, r) => {
    const out = Buffer.from(b);
    const text = textPositions(out);
    for (let i = 0, n = 1 + int(r, 3); i < n && text.length > 0; i++) out[text[int(r, text.length)] ?? 0] = 0;
    return out;
  },
  "invalid UTF-8 in a string": (b, r) => {
    const out = Buffer.from(b);
    const text = textPositions(out);
    if (text.length > 0) out[text[int(r, text.length)] ?? 0] = [0xff, 0xc3, 0x80, 0xed][int(r, 4)] ?? 0xff;
    return out;
  },
  "control characters in a string": (b, r) => {
    const out = Buffer.from(b);
    const text = textPositions(out);
    if (text.length > 0) out[text[int(r, text.length)] ?? 0] = [0x01, 0x0a, 0x1b, 0x7f][int(r, 4)] ?? 0x01;
    return out;
  },
  "huge varint field": (b, r) =>
    Buffer.concat([b, Buffer.from([(1 + int(r, 4)) << 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]),
  "huge length field": (b, r) =>
    Buffer.concat([b, Buffer.from([((1 + int(r, 4)) << 3) | 2, 0xff, 0xff, 0xff, 0xff, 0x07, 0x61])]),
  "unknown fields": (b, r) =>
    Buffer.concat([
      b,
      Buffer.from([0xc0, 0x3e, 0x01, 0xc2, 0x3e, 0x02, 0x61, 0x62, 0xc5, 0x3e, 1, 2, 3, 4]),
      randomBytes(r, int(r, 4)),
    ]),
  "wrong wire type": (b, r) => {
    const out = Buffer.from(b);
    if (out.length > 0) out[0] = ((out[0] ?? 0) & ~7) | ((1 + int(r, 7)) % 8) || 3;
    return out;
  },
  // At most about 1 MB: chained mutations must not build bodies past the 4 MB limit (a separate frame case does that).
  "body repeated (long lists)": (b, r) =>
    Buffer.concat(Array<Buffer>(Math.min(50 + int(r, 800), Math.floor(1_000_000 / Math.max(1, b.length)))).fill(b)),
  "long string": (b, r) => {
    const text = Buffer.alloc(Math.min(20_000 + int(r, 200_000), Math.max(0, 1_000_000 - b.length)), "A");
    const length: number[] = [];
    for (let n = text.length; ; n >>>= 7) {
      if (n < 0x80) {
        length.push(n);
        break;
      }
      length.push((n & 0x7f) | 0x80);
    }
    return Buffer.concat([b, Buffer.from([((1 + int(r, 3)) << 3) | 2, ...length]), text]);
  },
};
const MUTATOR_NAMES = Object.keys(MUTATORS);

/** A frame-level case: the DATA sent, extra headers, and which answer grpc-js gives before the kit (if any). */
interface FrameCase {
  name: string;
  data: (seed: Buffer) => Buffer;
  headers?: Record<string, string>;
  /** INTERNAL from grpc-js itself is expected here (reported, allowed). */
  grpcJsInternal?: true;
  unaryOnly?: true;
}

const FRAME_CASES: FrameCase[] = [
  { name: "truncated frame (prefix longer than the body)", data: (s) => frame(s, { length: s.length + 10 }) },
  { name: "frame cut inside its prefix", data: () => Buffer.from([0, 0, 0]) },
  { name: "length prefix 4 GB", data: (s) => frame(s, { length: 0xffffffff }) },
  { name: "length prefix 5 MB (over the 4 MB limit)", data: (s) => frame(s, { length: 5 * 1024 * 1024 }) },
  { name: "compressed flag, no grpc-encoding", data: (s) => frame(s, { compressed: true }) },
  {
    name: "compressed flag, grpc-encoding gzip, not gzip",
    data: (s) => frame(s, { compressed: true }),
    headers: { "grpc-encoding": "gzip" },
    grpcJsInternal: true,
  },
  {
    name: "gzip of the body, valid",
    data: (s) => frame(gzipSync(s), { compressed: true }),
    headers: { "grpc-encoding": "gzip" },
  },
  {
    name: "gzip of random bytes",
    data: () => frame(gzipSync(Buffer.from([0xff, 0xff, 0x0f, 0x0a, 0xff])), { compressed: true }),
    headers: { "grpc-encoding": "gzip" },
  },
  {
    name: "unknown grpc-encoding",
    data: (s) => frame(s, { compressed: true }),
    headers: { "grpc-encoding": "br-fuzz" },
  },
  { name: "compression flag 2", data: (s) => Buffer.concat([Buffer.from([2]), frame(s).subarray(1)]) },
  { name: "no message", data: () => Buffer.alloc(0) },
  { name: "two messages", data: (s) => Buffer.concat([frame(s), frame(s)]) },
  { name: "malformed grpc-timeout", data: (s) => frame(s), headers: { "grpc-timeout": "soon" }, grpcJsInternal: true },
  { name: "grpc-timeout 0n", data: (s) => frame(s), headers: { "grpc-timeout": "0n" } },
  // Unary methods only: a server stream with a deadline of 11,000 years is a watch left open, as it should be.
  { name: "grpc-timeout 99999999H", data: (s) => frame(s), headers: { "grpc-timeout": "99999999H" }, unaryOnly: true },
];

function rssMbNow(child: { pid?: number | undefined }): number {
  return child.pid === undefined ? Number.NaN : Math.round(rssMb(child.pid));
}

/** How each answer is filed. */
function outcomeOf(answer: RawAnswer): string {
  if (answer.streamed) return "streamed (closed by the fuzzer after a message)";
  if (answer.code === undefined) return `no status (${answer.transport ?? "?"})`;
  return answer.reason ? `${Code[answer.code]}/${answer.reason}` : `${Code[answer.code] ?? answer.code}`;
}

async function run({ smoke, workDir, log }: ScenarioOptions): Promise<ScenarioResult> {
  return onPrivatePostgres({ usersReplicas: 1, ordersReplicas: 1 }, workDir, (deployment) =>
    fuzzDeployment(deployment, smoke ? SMOKE : FULL, log),
  );
}

async function fuzzDeployment(
  deployment: Deployment,
  size: typeof FULL,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const token = deployment.adminToken;
  const processes = { users: roundRobin(deployment.users, 0), orders: roundRobin(deployment.orders, 0) };
  const users = createUserClient({ address: processes.users.address, token });
  const orders = createOrderClient({ address: processes.orders.address, token });
  const [userId] = (await createUsers(users, "fuzz", 1)) as [string];
  const order = await orders.create(markedOrder(userId, "FUZZ-SEED"));
  users.close();
  orders.close();
  const list = targets(userId, order.id, order.etag);
  const sessions = new Map<string, ClientHttp2Session>();
  const note = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const session = async (service: "users" | "orders", lane: number): Promise<ClientHttp2Session> => {
    const key = `${service}-${lane}`;
    const open = sessions.get(key);
    if (open && !open.closed && !open.destroyed) return open;
    const fresh = await h2Connect(processes[service].address);
    fresh.once("goaway", (code: number) => {
      note(goaways, String(code));
      if (sessions.get(key) === fresh) sessions.delete(key);
    });
    sessions.set(key, fresh);
    return fresh;
  };
  const auth = { authorization: `Bearer ${token}` };
  const goaways = new Map<string, number>();
  const send = async (target: Target, lane: number, data: Buffer, headers: Record<string, string> = {}) => {
    // A server stream is closed (RST_STREAM CANCEL) by the fuzzer after its first message, as a client that has seen
    // enough: a short deadline instead would hit a grpc-js stall (see the README: a server stream whose deadline passes
    // mid-stream may never send its status to a raw HTTP/2 client), which this row does not measure.
    const h = grpcHeaders(target.path, { ...auth, "grpc-timeout": "10S", ...headers });
    return rawRequest(await session(target.service, lane), h, data, 30_000, target.streaming);
  };

  const rss = { users: sampleRss(processes.users.child), orders: sampleRss(processes.orders.child) };
  await sleep(500);
  const before = { users: rss.users.stop(), orders: rss.orders.stop() };
  const during = { users: sampleRss(processes.users.child), orders: sampleRss(processes.orders.child) };

  const byOutcome = new Map<string, number>();
  const internal = new Map<string, number>();
  const unanswered = new Map<string, number>();
  const frameOutcomes = new Map<string, string>();
  const random = prng(SEED);
  const started = performance.now();
  let sent = 0;
  let undecodableInvalid = 0;
  let frameCalls = 0;

  // Frame-level cases first: each against every method.
  for (const frameCase of FRAME_CASES) {
    const methods = list.filter((t) => !(frameCase.unaryOnly && t.streaming));
    const answers = await Promise.all(methods.map((t, i) => send(t, i % 4, frameCase.data(t.seed), frameCase.headers)));
    const seen = new Map<string, number>();
    answers.forEach((answer, i) => {
      const outcome = outcomeOf(answer);
      note(seen, outcome);
      note(byOutcome, outcome);
      if (answer.code === undefined && !answer.streamed) note(unanswered, `${frameCase.name}: ${outcome}`);
      if (answer.code === Code.INTERNAL && !frameCase.grpcJsInternal)
        note(internal, `${frameCase.name} (${roundRobin(methods, i).name}): ${answer.message.slice(0, 60)}`);
    });
    frameOutcomes.set(frameCase.name, [...seen].map(([o, n]) => `${o} x${n}`).join(", "));
    sent += answers.length;
    frameCalls += answers.length;
  }

  // Then mutated bodies, round-robin over the methods, size.concurrency in flight.
  let next = 0;
  let warm = { users: Number.NaN, orders: Number.NaN };
  let half = { users: Number.NaN, orders: Number.NaN };
  const mutatorCounts = new Map<string, number>();
  const worker = async (lane: number) => {
    while (next < size.bodies) {
      const index = next++;
      const target = roundRobin(list, index);
      let body = target.seed;
      const names: string[] = [];
      for (let i = 0, n = 1 + int(random, 3); i < n; i++) {
        const name = roundRobin(MUTATOR_NAMES, int(random, MUTATOR_NAMES.length));
        names.push(name);
        body = (MUTATORS[name] ?? ((b: Buffer) => b))(body, random);
      }
      for (const name of names) note(mutatorCounts, name);
      const answer = await send(target, lane % 4, frame(body));
      sent++;
      const outcome = outcomeOf(answer);
      note(byOutcome, outcome);
      if (answer.code === undefined && !answer.streamed)
        note(
          unanswered,
          `${target.name} after ${names.join("+")} (${body.length} B sent, ${answer.bodyBytes} B back): ${outcome}`,
        );
      if (answer.code === Code.INTERNAL)
        note(internal, `${target.name} after ${names.join("+")}: ${answer.message.slice(0, 60)}`);
      if (answer.code === Code.INVALID_ARGUMENT && answer.message.includes("not a valid protobuf encoding"))
        undecodableInvalid++;
      if (index === Math.floor(size.bodies / 10))
        warm = { users: rssMbNow(processes.users.child), orders: rssMbNow(processes.orders.child) };
      if (index === Math.floor(size.bodies / 2))
        half = { users: rssMbNow(processes.users.child), orders: rssMbNow(processes.orders.child) };
      if (index > 0 && index % 20_000 === 0) log(`${index.toLocaleString("en-US")} bodies sent`);
    }
  };
  await Promise.all(Array.from({ length: size.concurrency }, (_, lane) => worker(lane)));
  const seconds = (performance.now() - started) / 1000;
  for (const s of sessions.values()) s.close();
  const peak = { users: during.users.stop(), orders: during.orders.stop() };

  // Settle, then look again.
  await sleep(3_000);
  const failures: string[] = [];
  const health: Record<string, string> = {};
  for (const service of ["users", "orders"] as const) {
    const s = await h2Connect(processes[service].address);
    const answer = await rawRequest(
      s,
      grpcHeaders("/grpc.health.v1.Health/Check"),
      frame(Buffer.alloc(0)),
      5_000,
      false,
      true,
    );
    s.close();
    const status = answer.body ? HealthCheckResponse.decode(answer.body.subarray(5)).status : undefined;
    health[service] = status === undefined ? outcomeOf(answer) : HealthCheckResponse_ServingStatus[status];
    if (status !== HealthCheckResponse_ServingStatus.SERVING)
      failures.push(`${service} is not SERVING after the fuzz: ${health[service]}`);
  }
  const after = { users: sampleRss(processes.users.child), orders: sampleRss(processes.orders.child) };
  await sleep(500);
  const settled = { users: after.users.stop(), orders: after.orders.stop() };

  const crashed = (["users", "orders"] as const).filter(
    (s) => processes[s].child.exitCode !== null || processes[s].child.signalCode !== null,
  );
  for (const s of crashed)
    failures.push(`${s} crashed (exit ${processes[s].child.exitCode}, signal ${processes[s].child.signalCode})`);
  const unexpected = (["users", "orders"] as const).flatMap((s) =>
    processes[s].logs
      .filter((l) => l["msg"] === "unexpected failure")
      .map((l) => `${s}: ${JSON.stringify(l["err"] ?? l).slice(0, 200)}`),
  );
  if (unexpected.length > 0)
    failures.push(`${unexpected.length} unexpected failures logged, e.g. ${unexpected.slice(0, 3).join(" | ")}`);
  for (const [what, n] of internal) failures.push(`INTERNAL x${n}: ${what}`);
  for (const [what, n] of unanswered) failures.push(`no grpc-status x${n}: ${what}`);
  for (const s of ["users", "orders"] as const)
    if (!(settled[s].last <= half[s] + RSS_GROWTH_LIMIT_MB) || peak[s].max > RSS_PEAK_LIMIT_MB)
      failures.push(`${s} RSS: ${settled[s].last} MB after the run, ${half[s]} MB half-way, peak ${peak[s].max} MB`);

  const fmt = (n: number) => n.toLocaleString("en-US");
  const mem = (s: "users" | "orders") =>
    `${s} ${before[s].last}/${warm[s]}/${half[s]}/${peak[s].max}/${settled[s].last} MB`;
  const top = [...byOutcome]
    .sort((a, b) => b[1] - a[1])
    .map(([o, n]) => `${o} ${fmt(n)}`)
    .join(", ");
  const grpcJs = FRAME_CASES.filter((c) => c.grpcJsInternal)
    .map((c) => `${c.name}: ${frameOutcomes.get(c.name)}`)
    .join("; ");
  return {
    passed: failures.length === 0,
    figures: {
      bodies: size.bodies,
      frameCases: frameCalls,
      methods: list.length,
      seed: SEED,
      seconds: Math.round(seconds),
      callsPerSecond: Math.round(sent / seconds),
      outcomes: top,
      undecodableInvalidArgument: undecodableInvalid,
      grpcJsInternals: grpcJs,
      frameOutcomes: [...frameOutcomes].map(([c, o]) => `${c}: ${o}`).join("; "),
      mutators: [...mutatorCounts].map(([m, n]) => `${m} ${n}`).join(", "),
      rssBeforeTenthHalfPeakAfterMb: `${mem("users")}; ${mem("orders")}`,
      health: `users ${health["users"]}, orders ${health["orders"]}`,
      crashes: crashed.length,
      goawaysByCode: [...goaways].map(([c, n]) => `${c} x${n}`).join(", ") || "none",
      unexpectedFailuresLogged: unexpected.length,
    },
    summary:
      `${fmt(size.bodies)} mutated bodies + ${fmt(frameCalls)} malformed frames over ${list.length} methods ` +
      `(${fmt(Math.round(sent / seconds))}/s): ${top}; ${fmt(undecodableInvalid)} undecodable bodies INVALID_ARGUMENT; ` +
      `grpc-js INTERNAL only for: ${FRAME_CASES.filter((c) => c.grpcJsInternal)
        .map((c) => c.name)
        .join(", ")}; ` +
      `0 crashes: ${crashed.length === 0}; RSS before/10%/50%/peak/after ${mem("users")}, ${mem("orders")}; ` +
      `health after: users ${health["users"]}, orders ${health["orders"]}`,
    failures: failures.slice(0, 30),
  };
}
