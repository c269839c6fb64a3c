// The WatchOrders baseline: a bare grpc-js server with the generated OrderService definition and only what the
// fan-out benchmark calls. WatchOrders sends a sync marker and keeps the stream; CreateOrder and ConfirmOrder answer at
// once and write one event, encoded once, to every open watch stream with call.write (no store, no auth, no logging,
// no queue limit: grpc-js buffers for a slow reader). Orderly's cost above this is its store, its chain and its
// watch machinery; this is grpc-js's own cost of writing one message to N streams.
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { OrderEventType, OrderState } from "@orderly/proto/orderly/order/v1/order";
import {
  OrderServiceService,
  WatchOrdersResponse,
  type ConfirmOrderRequest,
  type ConfirmOrderResponse,
  type CreateOrderRequest,
  type CreateOrderResponse,
  type WatchOrdersRequest,
} from "@orderly/proto/orderly/order/v1/order_service";

const watchers = new Set<ServerWritableStream<WatchOrdersRequest, Buffer | WatchOrdersResponse>>();
let revision = 0n;

/** One event, encoded once, written to every open stream. */
function broadcast(orderId: string, userId: string, type: OrderEventType, fromState: OrderState, toState: OrderState) {
  revision++;
  const event = { revision, orderId, userId, type, fromState, toState, actor: "bench", reason: "", time: new Date() };
  const bytes = Buffer.from(WatchOrdersResponse.encode({ kind: { $case: "event", value: event } }).finish());
  for (const call of watchers) call.write(bytes);
}

const serialize = OrderServiceService.watchOrders.responseSerialize;
const definition = {
  ...OrderServiceService,
  watchOrders: {
    ...OrderServiceService.watchOrders,
    // The event is encoded once for every stream, as Orderly does (its Encoded messages).
    responseSerialize: (value: Buffer | WatchOrdersResponse) => (Buffer.isBuffer(value) ? value : serialize(value)),
  },
};

const users = new Map<string, string>();
const server = new Server();
server.addService(definition, {
  watchOrders(call: ServerWritableStream<WatchOrdersRequest, Buffer | WatchOrdersResponse>) {
    watchers.add(call);
    call.on("cancelled", () => watchers.delete(call));
    call.write({ kind: { $case: "sync", value: { headRevision: revision } } });
  },
  createOrder(
    call: ServerUnaryCall<CreateOrderRequest, CreateOrderResponse>,
    callback: sendUnaryData<CreateOrderResponse>,
  ) {
    const id = `ord_${revision + 1n}`;
    const userId = call.request.order?.userId ?? "";
    users.set(id, userId);
    const state = OrderState.ORDER_STATE_PENDING;
    broadcast(id, userId, OrderEventType.ORDER_EVENT_TYPE_CREATED, OrderState.ORDER_STATE_UNSPECIFIED, state);
    callback(null, { order: { ...call.request.order!, id, state } });
  },
  confirmOrder(
    call: ServerUnaryCall<ConfirmOrderRequest, ConfirmOrderResponse>,
    callback: sendUnaryData<ConfirmOrderResponse>,
  ) {
    const { id } = call.request;
    const userId = users.get(id) ?? "";
    users.delete(id);
    const state = OrderState.ORDER_STATE_CONFIRMED;
    broadcast(id, userId, OrderEventType.ORDER_EVENT_TYPE_CONFIRMED, OrderState.ORDER_STATE_PENDING, state);
    callback(null, { order: undefined });
  },
});

server.bindAsync(process.env.BARE_ADDRESS ?? "127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  // The same readiness line Orderly's processes log, so the runner starts both the same way.
  process.stdout.write(`${JSON.stringify({ msg: "listening", port })}\n`);
});
process.once("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
