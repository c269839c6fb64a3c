// AIP-134 update masks for UpdateOrder: only the named paths change. A path named in the mask but absent from the
// patch means "set to the empty value", as in proto3, so the result is then caught by validation (an order needs items
// and an address) instead of silently keeping the old value.
import { checkUpdateMask } from "@orderly/kit/domain";
import type { LineItem, Order, ShippingAddress } from "./model.js";

// Proto field name -> domain field name, for the address subfields a mask may name one by one.
const ADDRESS_FIELDS = {
  recipient: "recipient",
  line1: "line1",
  line2: "line2",
  city: "city",
  region: "region",
  postal_code: "postalCode",
  country_code: "countryCode",
} as const satisfies Record<string, keyof ShippingAddress>;

/** Every path UpdateOrder accepts; "*" replaces everything that may change (items and shipping_address). */
export const ORDER_MASK_PATHS = [
  "*",
  "items",
  "shipping_address",
  ...Object.keys(ADDRESS_FIELDS).map((name) => `shipping_address.${name}`),
] as const;

/** The new values UpdateOrder carries; only the fields named by the update mask are read. */
export interface OrderPatch {
  items?: readonly LineItem[];
  shippingAddress?: Partial<ShippingAddress>;
}

/** The changeable fields of an order after a mask is applied. */
export interface MaskedOrder {
  items: LineItem[];
  shippingAddress: ShippingAddress;
}

/** Throws INVALID_ARGUMENT (reason INVALID_UPDATE_MASK) for an empty mask or any unknown path; checks nothing else. */
export function checkOrderMask(paths: readonly string[]): void {
  checkUpdateMask(paths, ORDER_MASK_PATHS);
}

/** The order's items and address after copying the masked paths from `patch`; pure, and throws only for a bad mask. */
export function applyOrderMask(current: Order, patch: OrderPatch, paths: readonly string[]): MaskedOrder {
  checkOrderMask(paths);
  const mask = new Set(paths);
  const everything = mask.has("*");
  const wholeAddress = everything || mask.has("shipping_address");
  const from = patch.shippingAddress ?? {};
  const shippingAddress = wholeAddress ? emptyAddress() : { ...current.shippingAddress };
  for (const [protoName, key] of Object.entries(ADDRESS_FIELDS)) {
    if (wholeAddress || mask.has(`shipping_address.${protoName}`)) shippingAddress[key] = from[key] ?? "";
  }
  const items = everything || mask.has("items") ? (patch.items ?? []) : current.items;
  // Copies, so a caller mutating its request or the current order afterwards cannot reach the result.
  return { items: items.map((item) => ({ ...item })), shippingAddress };
}

function emptyAddress(): ShippingAddress {
  return { recipient: "", line1: "", line2: "", city: "", region: "", postalCode: "", countryCode: "" };
}
