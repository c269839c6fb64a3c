// Exact money: bigint minor units, never floating point. A total is at most 1,000,000.00 in the order's currency,
// which is a different number of minor units per currency (1_000_000n JPY, 100_000_000n USD).
import type { LineItem } from "./model.js";

/** The largest order total, in major units of the order's currency. */
export const MAX_TOTAL_MAJOR = 1_000_000n;

/** The sum of quantity x unit price over the items, in minor units; exact at any size. */
export function totalOf(items: readonly Pick<LineItem, "quantity" | "unitPriceMinor">[]): bigint {
  // BigInt(quantity) throws a RangeError for a fractional quantity instead of silently rounding it.
  return items.reduce((sum, item) => sum + BigInt(item.quantity) * item.unitPriceMinor, 0n);
}

/** The largest total, in minor units, for a currency with this ISO 4217 exponent. */
export function maxTotalMinor(exponent: number): bigint {
  return MAX_TOTAL_MAJOR * 10n ** BigInt(exponent);
}

/** Minor units as a plain decimal in major units, e.g. (123456n, 2) -> "1234.56"; for messages, not for clients. */
export function formatMinor(amount: bigint, exponent: number): string {
  const sign = amount < 0n ? "-" : "";
  const digits = (amount < 0n ? -amount : amount).toString().padStart(exponent + 1, "0");
  if (exponent === 0) return `${sign}${digits}`;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}
