// CreateOrder's idempotency compares a request's content, not its bytes: a hash over a canonical form of exactly the
// fields that define the order, so a retry that re-encodes the same order still matches and any real change does not.
import { createHash } from "node:crypto";
import type { NewOrder } from "./model.js";

// Bumped if the canonical form ever changes, so old and new hashes can never be mistaken for each other.
const CANONICAL_VERSION = "orderly.order.create/v1";

/** A canonical JSON of an order's content: arrays in a fixed field order, money as decimal strings, items in order. */
export function canonicalOrderContent(
  order: Pick<NewOrder, "userId" | "items" | "currencyCode" | "shippingAddress">,
): string {
  const a = order.shippingAddress;
  // Arrays rather than objects: key order can never differ, and bigint (which JSON cannot encode) becomes a string.
  return JSON.stringify([
    CANONICAL_VERSION,
    order.userId,
    order.currencyCode,
    order.items.map((item) => [item.sku, item.quantity, item.unitPriceMinor.toString()]),
    [a.recipient, a.line1, a.line2, a.city, a.region, a.postalCode, a.countryCode],
  ]);
}

/** The hex SHA-256 of the canonical content; what the store keeps next to the request id. */
export function requestHashOf(order: Pick<NewOrder, "userId" | "items" | "currencyCode" | "shippingAddress">): string {
  return createHash("sha256").update(canonicalOrderContent(order)).digest("hex");
}
