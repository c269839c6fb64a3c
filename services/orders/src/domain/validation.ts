// The rules an order's fields must satisfy. Each function returns every violation it finds, one per broken rule, so a
// client can fix a request in one round trip. Field paths use the proto's snake_case names because clients see them in
// BadRequest.
import { codePointLength, controlCharacterViolations, type FieldViolation } from "@orderly/kit/domain";
import type { CurrencySet } from "./currencies.js";
import type { LineItem, ShippingAddress } from "./model.js";
import { formatMinor, maxTotalMinor, totalOf } from "./money.js";

/** The limits of docs/product.md#orders and the comments in proto/orderly/order/v1/order.proto. */
export const OrderLimits = {
  itemsMin: 1,
  itemsMax: 100,
  skuMaxChars: 64,
  quantityMin: 1,
  quantityMax: 10_000,
  recipientMaxChars: 200,
  line1MaxChars: 200,
  line2MaxChars: 200,
  cityMaxChars: 100,
  regionMaxChars: 100,
  postalCodeMaxChars: 20,
  reasonMaxChars: 500,
} as const;

/** The content of an order that validation looks at; the address may be absent because proto3 messages may be. */
export interface OrderContent {
  items: readonly LineItem[];
  currencyCode: string;
  shippingAddress: ShippingAddress | undefined;
}

/** What CreateOrder validates: the content plus the user it is for. */
export interface OrderInput extends OrderContent {
  userId: string;
}

// 8-4-4-4-12 hex digits; any version, since AIP-155 asks for a UUID, not a particular kind.
const UUID_SHAPE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const CURRENCY_SHAPE = /^[A-Z]{3}$/;
const COUNTRY_SHAPE = /^[A-Z]{2}$/;

/** Violations of a new order under `prefix`: user_id, then the content (items, total, currency, address). */
export function validateNewOrder(order: OrderInput, currencies: CurrencySet, prefix = "order"): FieldViolation[] {
  const violations: FieldViolation[] = [];
  if (order.userId.trim() === "") violations.push({ field: `${prefix}.user_id`, description: "is required" });
  violations.push(...validateOrderContent(order, currencies, prefix));
  return violations;
}

/** Violations of an order's items, computed total, currency and shipping address under `prefix`. */
export function validateOrderContent(order: OrderContent, currencies: CurrencySet, prefix = "order"): FieldViolation[] {
  const exponent = currencies.exponentOf(order.currencyCode);
  return [
    ...validateItems(order.items, exponent, order.currencyCode, `${prefix}.items`),
    ...validateCurrency(order.currencyCode, currencies, `${prefix}.currency_code`),
    ...validateShippingAddress(order.shippingAddress, `${prefix}.shipping_address`),
  ];
}

/**
 * Violations of the item list: its length, each item's fields, and the total against the maximum for the currency
 * (reported on the list itself, since no single item is at fault). `exponent` is undefined for an unknown currency,
 * whose violation is reported elsewhere; the total is then not checked because its bound depends on the currency.
 */
export function validateItems(
  items: readonly LineItem[],
  exponent: number | undefined,
  currencyCode: string,
  field = "order.items",
): FieldViolation[] {
  if (items.length < OrderLimits.itemsMin || items.length > OrderLimits.itemsMax) {
    // Per-item checks are skipped for an oversized list so one request cannot produce an unbounded error.
    return [
      { field, description: `must hold ${OrderLimits.itemsMin} to ${OrderLimits.itemsMax} items, got ${items.length}` },
    ];
  }
  const violations: FieldViolation[] = [];
  items.forEach((item, index) => violations.push(...validateItem(item, `${field}[${index}]`)));
  // A fractional quantity has no exact total; its own violation already says what is wrong.
  if (exponent !== undefined && items.every((item) => Number.isInteger(item.quantity))) {
    const total = totalOf(items);
    const max = maxTotalMinor(exponent);
    if (total > max) {
      violations.push({
        field,
        description: `total ${formatMinor(total, exponent)} ${currencyCode} must be at most ${formatMinor(max, exponent)} ${currencyCode}`,
      });
    }
  }
  return violations;
}

/** Violations of one line item under `prefix`, e.g. "order.items[2]". */
export function validateItem(item: LineItem, prefix: string): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const skuLength = codePointLength(item.sku);
  if (skuLength < 1 || skuLength > OrderLimits.skuMaxChars) {
    violations.push({
      field: `${prefix}.sku`,
      description: `must be 1 to ${OrderLimits.skuMaxChars} characters, got ${skuLength}`,
    });
  }
  violations.push(...controlCharacterViolations(`${prefix}.sku`, item.sku));
  const { quantity } = item;
  if (!Number.isInteger(quantity) || quantity < OrderLimits.quantityMin || quantity > OrderLimits.quantityMax) {
    violations.push({
      field: `${prefix}.quantity`,
      description: `must be a whole number from ${OrderLimits.quantityMin} to ${OrderLimits.quantityMax}, got ${quantity}`,
    });
  }
  if (item.unitPriceMinor < 0n) {
    violations.push({
      field: `${prefix}.unit_price_minor`,
      description: `must be 0 or more, got ${item.unitPriceMinor}`,
    });
  }
  return violations;
}

/** Violations of a currency code: required, 3 upper-case letters, and one of the configured set (which it lists). */
export function validateCurrency(
  code: string,
  currencies: CurrencySet,
  field = "order.currency_code",
): FieldViolation[] {
  const allowed = currencies.codes.join(", ");
  if (code === "") return [{ field, description: `is required; one of ${allowed}` }];
  if (!CURRENCY_SHAPE.test(code))
    return [{ field, description: `must be an upper-case ISO 4217 code, one of ${allowed}; got ${shown(code)}` }];
  if (currencies.exponentOf(code) === undefined)
    return [{ field, description: `must be one of ${allowed}; got ${shown(code)}` }];
  return [];
}

/**
 * Violations of a shipping address under `field`. An absent address and one with every field empty are the same to
 * a proto3 client, so both are one "is required" rather than five.
 */
export function validateShippingAddress(
  address: ShippingAddress | undefined,
  field = "order.shipping_address",
): FieldViolation[] {
  if (!address || (Object.values(address) as string[]).every((value) => value.trim() === ""))
    return [{ field, description: "is required" }];
  const violations: FieldViolation[] = [];
  const check = (name: string, value: string, max: number, required: boolean) => {
    if (required && value.trim() === "") {
      violations.push({ field: `${field}.${name}`, description: "is required" });
      return;
    }
    const length = codePointLength(value);
    if (length > max)
      violations.push({ field: `${field}.${name}`, description: `must be at most ${max} characters, got ${length}` });
    violations.push(...controlCharacterViolations(`${field}.${name}`, value));
  };
  check("recipient", address.recipient, OrderLimits.recipientMaxChars, true);
  check("line1", address.line1, OrderLimits.line1MaxChars, true);
  check("line2", address.line2, OrderLimits.line2MaxChars, false);
  check("city", address.city, OrderLimits.cityMaxChars, true);
  check("region", address.region, OrderLimits.regionMaxChars, false);
  check("postal_code", address.postalCode, OrderLimits.postalCodeMaxChars, true);
  if (address.countryCode === "") {
    violations.push({ field: `${field}.country_code`, description: "is required" });
  } else if (!COUNTRY_SHAPE.test(address.countryCode)) {
    violations.push({
      field: `${field}.country_code`,
      description: `must be an ISO 3166-1 alpha-2 code (2 upper-case letters), got ${shown(address.countryCode)}`,
    });
  }
  return violations;
}

/** Violations of CreateOrder's request_id: required, and a UUID. */
export function validateRequestId(requestId: string, field = "request_id"): FieldViolation[] {
  if (requestId === "") return [{ field, description: "is required: a UUID made once per intended order" }];
  if (!UUID_SHAPE.test(requestId))
    return [
      { field, description: `must be a UUID, e.g. 123e4567-e89b-12d3-a456-426614174000; got ${shown(requestId)}` },
    ];
  return [];
}

/** Violations of a transition's reason (CancelOrder's `reason`). */
export function validateReason(reason: string, field = "reason"): FieldViolation[] {
  const length = codePointLength(reason);
  if (length > OrderLimits.reasonMaxChars)
    return [{ field, description: `must be at most ${OrderLimits.reasonMaxChars} characters, got ${length}` }];
  return controlCharacterViolations(field, reason, { freeText: true });
}

// Values are caller data: cap what we echo back so an oversized value cannot blow up the error message.
function shown(value: string, max = 40): string {
  let prefix = "";
  let count = 0;
  for (const char of value) {
    if (count++ === max) return `${JSON.stringify(prefix)}…`;
    prefix += char;
  }
  return JSON.stringify(value);
}
