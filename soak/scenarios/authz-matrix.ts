// Every method x every role (admin, support, user, service, none) x the caller's own resource and another user's,
// generated from the contract: the methods and the permission each needs come from the descriptors' policy options
// (method-policy.ts), and what each role may do comes from the roles table in docs/product.md, read as text, not from
// permissions.ts, so the code is checked against the written rule. Each cell is one real call to the processes; a cell
// disagrees when the answer is not what the table says, and any answer that shows or changes another user's data to a
// caller limited to their own is a cross-user read or write.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Client, credentials, Metadata } from "@grpc/grpc-js";
import { Code, OrderlyError, createOrderClient, createUserClient } from "@orderly/clients";
import { methodsOf } from "@orderly/kit";
import { testToken } from "@orderly/kit/testing";
import * as orderService from "@orderly/proto/orderly/order/v1/order_service";
import * as userService from "@orderly/proto/orderly/user/v1/user_service";
import type { Scenario, ScenarioOptions, ScenarioResult } from "../scenario.js";
import { markedOrder } from "../lib/orders.js";
import { REPO_ROOT } from "../lib/repo.js";
import { startPair, type Pair } from "../lib/standalone.js";
import { testAuthEnv } from "../../test/support/service-process.js";

const ROLES = ["admin", "support", "user", "service", "none"] as const;
type Role = (typeof ROLES)[number];
type Reach = "all" | "own" | undefined;
const SERVICES = ["orderly.user.v1.UserService", "orderly.order.v1.OrderService"] as const;
/** Methods whose answer is a list: a caller limited to their own sees only their own records, whatever they ask. */
const LISTS = new Set(["ListUsers", "StreamUsers", "ListOrders", "WatchOrders"]);

/** The authorization matrix row. */
export const authzMatrix: Scenario = {
  id: "authz-matrix",
  title: "Every method x every role (admin, support, user, service, none) x own / another user's resource, on the wire",
  criterion:
    "each cell answers as the roles table of docs/product.md says (permission: OK; own-only permission: OK on one's own, " +
    "NOT_FOUND on another's, PERMISSION_DENIED creating for another; none: PERMISSION_DENIED): 0 disagreements, " +
    "0 cross-user reads or writes (no other user's record in any answer to an own-only caller, no call on another's " +
    "resource answered OK to one)",
  run,
};

/** The roles table of docs/product.md: role -> permissions as written ("users:*", "orders:read:own", ...). */
function documentedRoles(): Map<string, string[]> {
  const text = readFileSync(join(REPO_ROOT, "docs/product.md"), "utf8");
  const table = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    // "| service | users:read (service-to-service callers) |": the words in parentheses are a comment.
    const match = /^\| (\w+) \| ([a-z:*\\, ]+)(?:\([^)]*\))? *\|$/.exec(line.trim());
    if (!match?.[1] || !match[2]) continue;
    table.set(
      match[1],
      match[2].split(",").map((p) => p.trim().replace(/\\\*/g, "*")),
    );
  }
  if (!table.has("admin") || !table.has("user"))
    throw new Error("docs/product.md has no roles table the matrix can read");
  return table;
}

/** How far the documented grants of `role` reach for `permission` ("orders:read"). */
function documentedReach(table: Map<string, string[]>, role: Role, permission: string): Reach {
  const grants = table.get(role) ?? [];
  const [resource] = permission.split(":");
  if (grants.includes(permission) || grants.includes(`${resource ?? ""}:*`)) return "all";
  if (grants.includes(`${permission}:own`)) return "own";
  return undefined;
}

/** What a cell answered, as the matrix compares it. */
// "OK", "NOT_FOUND", "PERMISSION_DENIED", or "CODE/REASON" for anything else.
type Observed = string;

interface Answer {
  outcome: Observed;
  /** user ids of the records the answer carried (users' ids, orders' and events' user ids). */
  userIds: string[];
}

const same = (b: Buffer) => b;

async function call(
  client: Client,
  path: string,
  streaming: boolean,
  request: Uint8Array,
  token: string | undefined,
  decode: (bytes: Buffer) => unknown,
): Promise<Answer> {
  const metadata = new Metadata();
  if (token) metadata.set("authorization", `Bearer ${token}`);
  const outcomeOf = (error: unknown) => {
    const failure = OrderlyError.from(error);
    return failure.code === Code.NOT_FOUND || failure.code === Code.PERMISSION_DENIED
      ? failure.codeName
      : `${failure.codeName}/${failure.reason}`;
  };
  if (!streaming)
    return new Promise((resolve) =>
      client.makeUnaryRequest(
        path,
        same,
        same,
        Buffer.from(request),
        metadata,
        { deadline: Date.now() + 10_000 },
        (e, r) =>
          resolve(
            e
              ? { outcome: outcomeOf(e), userIds: [] }
              : { outcome: "OK", userIds: userIdsIn(decode(r ?? Buffer.alloc(0))) },
          ),
      ),
    );
  return new Promise((resolve) => {
    const stream = client.makeServerStreamRequest(path, same, same, Buffer.from(request), metadata, {
      deadline: Date.now() + 10_000,
    });
    const ids: string[] = [];
    let done = false;
    const finish = (answer: Answer) => {
      if (done) return;
      done = true;
      stream.cancel();
      resolve(answer);
    };
    stream.on("data", (bytes: Buffer) => {
      const message = decode(bytes) as { kind?: { $case: string } };
      ids.push(...userIdsIn(message));
      if (message.kind?.$case === "sync") finish({ outcome: "OK", userIds: ids }); // a watch: replay done
    });
    stream.on("error", (e) => finish({ outcome: outcomeOf(e), userIds: ids }));
    stream.on("end", () => finish({ outcome: "OK", userIds: ids }));
  });
}

/** Every user id a decoded answer mentions: users' ids, and the userId of orders and events. */
function userIdsIn(value: unknown): string[] {
  const ids: string[] = [];
  const walk = (v: unknown, key: string) => {
    if (Array.isArray(v)) v.forEach((x) => walk(x, key));
    else if (v && typeof v === "object" && !(v instanceof Date) && !(v instanceof Uint8Array))
      for (const [k, x] of Object.entries(v)) walk(x, k === "user" || k === "users" ? "user" : k);
    else if (typeof v === "string" && (key === "userId" || (key === "id" && v.startsWith("usr_")))) ids.push(v);
  };
  walk(value, "");
  return ids;
}

/** One size: the matrix is the matrix (smoke runs it whole; about 15 s). */
async function run({ workDir, log }: ScenarioOptions): Promise<ScenarioResult> {
  const pair = await startPair(await testAuthEnv());
  try {
    return await matrix(pair, log);
  } catch (error) {
    pair.saveLogs(workDir, "authz");
    throw error;
  } finally {
    await pair.stop();
  }
}

async function matrix(pair: Pair, log: (line: string) => void): Promise<ScenarioResult> {
  const table = documentedRoles();
  const adminToken = await testToken("authz-admin", ["admin"], { expiresInSeconds: 3600 });
  const users = createUserClient({ address: pair.users.address, token: adminToken });
  const orders = createOrderClient({ address: pair.orders.address, token: adminToken });
  const clients = {
    users: new Client(pair.users.address, credentials.createInsecure()),
    orders: new Client(pair.orders.address, credentials.createInsecure()),
  };
  let serial = 0;
  const newUser = async () =>
    (await users.create({ email: `authz-${serial++}-${Date.now()}@example.com`, profile: { firstName: "A" } })).id;
  /** An order of `userId`, moved to the state a transition needs. */
  const newOrder = async (userId: string, state: "PENDING" | "CONFIRMED" | "SHIPPED") => {
    const order = await orders.create(markedOrder(userId, `AUTHZ-${serial++}`));
    if (state !== "PENDING") await orders.confirm(order.id);
    if (state === "SHIPPED") await orders.ship(order.id);
    return (await orders.get(order.id)).id;
  };

  const failures: string[] = [];
  const counts = new Map<string, number>();
  let cells = 0;
  let disagreements = 0;
  let crossUser = 0;
  const methodNames: string[] = [];
  for (const serviceName of SERVICES) {
    const service = serviceName.includes("User") ? "users" : "orders";
    const module = (service === "users" ? userService : orderService) as Record<string, unknown>;
    for (const info of methodsOf(serviceName).values()) {
      if (info.isPublic) continue;
      methodNames.push(info.name);
      const fns = (suffix: string) =>
        module[`${info.name}${suffix}`] as {
          fromPartial(v: unknown): unknown;
          encode(v: unknown): { finish(): Uint8Array };
          decode(b: Uint8Array): unknown;
        };
      const requestType = fns("Request");
      const responseType = fns("Response");
      for (const role of ROLES) {
        for (const whose of ["own", "other"] as const) {
          cells++;
          // Fresh resources per cell, so a cell that writes (or deletes) cannot change another cell's answer.
          const me = await newUser();
          const other = await newUser();
          const target = whose === "own" ? me : other;
          const request = await requestFor(info.name, target, {
            newOrder,
            email: `authz-new-${serial++}@example.com`,
            users,
          });
          const token = await testToken(me, role === "none" ? [] : [role], { expiresInSeconds: 600 });
          const answer = await call(
            clients[service],
            info.path,
            info.kind === "server_streaming",
            requestType.encode(requestType.fromPartial(request)).finish(),
            token,
            (b) => responseType.decode(b),
          );
          const reach = documentedReach(table, role, info.permission);
          const expected: Observed[] =
            reach === undefined
              ? ["PERMISSION_DENIED"]
              : reach === "all" || whose === "own" || LISTS.has(info.name)
                ? ["OK"]
                : info.name === "CreateOrder"
                  ? ["PERMISSION_DENIED"]
                  : ["NOT_FOUND"];
          // A list asked for another user's records by an own-only caller may also refuse outright.
          if (reach === "own" && whose === "other" && LISTS.has(info.name))
            expected.push("NOT_FOUND", "PERMISSION_DENIED");
          const key = `${info.name} ${role} ${whose}: ${answer.outcome}`;
          counts.set(answer.outcome, (counts.get(answer.outcome) ?? 0) + 1);
          if (!expected.includes(answer.outcome)) {
            disagreements++;
            failures.push(`${key}, the table says ${expected.join(" or ")}`);
          }
          if (reach === "own") {
            const foreign = answer.userIds.filter((id) => id !== me);
            if (answer.outcome === "OK" && (foreign.length > 0 || (whose === "other" && !LISTS.has(info.name)))) {
              crossUser++;
              failures.push(`${key}: cross-user ${foreign.length > 0 ? `read of ${foreign.length} records` : "write"}`);
            }
          }
        }
      }
    }
  }
  log(`${cells} cells over ${methodNames.length} methods`);
  users.close();
  orders.close();
  clients.users.close();
  clients.orders.close();
  const byOutcome = [...counts].map(([o, n]) => `${o} ${n}`).join(", ");
  return {
    passed: failures.length === 0,
    figures: { methods: methodNames.length, roles: ROLES.length, cells, disagreements, crossUser, outcomes: byOutcome },
    summary:
      `${methodNames.length} methods x ${ROLES.length} roles x own/other = ${cells} cells, from the contract's policies and ` +
      `docs/product.md's roles table: ${disagreements} disagreements, ${crossUser} cross-user reads or writes; ${byOutcome}`,
    failures: failures.slice(0, 40),
  };
}

/** A valid request of `method` about `target` (a user id: that user, or that user's order). */
async function requestFor(
  method: string,
  target: string,
  helpers: {
    newOrder: (userId: string, state: "PENDING" | "CONFIRMED" | "SHIPPED") => Promise<string>;
    email: string;
    users: { get(id: string): Promise<{ email: string }> };
  },
): Promise<unknown> {
  const { newOrder } = helpers;
  switch (method) {
    case "CreateUser":
      return { user: { email: helpers.email } };
    case "GetUser":
    case "DeleteUser":
      return { id: target };
    case "BatchGetUsers":
      return { ids: [target] };
    case "ListUsers":
      return { pageSize: 100, filter: { emailContains: (await helpers.users.get(target)).email } };
    case "StreamUsers":
      return { filter: { emailContains: (await helpers.users.get(target)).email } };
    case "UpdateUser":
      return { user: { id: target, profile: { firstName: "Changed" } }, updateMask: ["profile.first_name"] };
    case "CreateOrder":
      return { requestId: crypto.randomUUID(), order: markedOrder(target, "AUTHZ-NEW") };
    case "GetOrder":
      return { id: await newOrder(target, "PENDING"), includeEvents: true };
    case "ListOrders":
      await newOrder(target, "PENDING");
      return { pageSize: 100, filter: { userId: target } };
    case "UpdateOrder":
      return {
        order: {
          id: await newOrder(target, "PENDING"),
          items: [{ sku: "AUTHZ-UPD", quantity: 1, unitPriceMinor: 100n }],
        },
        updateMask: ["items"],
      };
    case "CancelOrder":
      return { id: await newOrder(target, "PENDING"), reason: "authz" };
    case "ConfirmOrder":
      return { id: await newOrder(target, "PENDING") };
    case "ShipOrder":
      return { id: await newOrder(target, "CONFIRMED") };
    case "DeliverOrder":
      return { id: await newOrder(target, "SHIPPED") };
    case "ListOrderEvents":
      return { orderId: await newOrder(target, "PENDING"), pageSize: 100 };
    case "WatchOrders":
      await newOrder(target, "PENDING");
      return { userId: target, sinceRevision: 1n };
    default:
      throw new Error(`the matrix has no request for ${method}; add one`);
  }
}
