// The CreateOrder request the load generators send: two line items, a fresh request_id each time (so every call
// creates), for one of the seeded users.
import { randomUUID } from "node:crypto";
import { OrderState } from "@orderly/proto/orderly/order/v1/order";
import type { CreateOrderRequest } from "@orderly/proto/orderly/order/v1/order_service";

/** A new CreateOrder request for `userId`; `i` varies the quantities. */
export function newOrderRequest(userId: string, i: number): CreateOrderRequest {
  return {
    requestId: randomUUID(),
    order: {
      id: "",
      userId,
      items: [
        { sku: "SKU-BOOK-1", quantity: 1 + (i % 3), unitPriceMinor: 1299n },
        { sku: "SKU-PEN-2", quantity: 2, unitPriceMinor: 250n },
      ],
      totalMinor: 0n,
      currencyCode: "USD",
      shippingAddress: {
        recipient: "Ada Lovelace",
        line1: "12 Bench Street",
        line2: "",
        city: "London",
        region: "",
        postalCode: "N1 9GU",
        countryCode: "GB",
      },
      state: OrderState.ORDER_STATE_UNSPECIFIED,
      createTime: undefined,
      updateTime: undefined,
      etag: "",
    },
  };
}
