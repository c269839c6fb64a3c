import { describe, expect, it } from "vitest";
import { currencySet, DEFAULT_CURRENCIES, parseCurrencies } from "./currencies.js";
import { formatMinor, MAX_TOTAL_MAJOR, maxTotalMinor, totalOf } from "./money.js";

describe("totalOf", () => {
  it("sums quantity x unit price exactly", () => {
    expect(totalOf([])).toBe(0n);
    expect(
      totalOf([
        { quantity: 3, unitPriceMinor: 199n },
        { quantity: 1, unitPriceMinor: 0n },
        { quantity: 2, unitPriceMinor: 5n },
      ]),
    ).toBe(607n);
  });

  it("stays exact far beyond 2^53, where a double would round", () => {
    const price = 2n ** 60n + 1n;
    expect(
      totalOf([
        { quantity: 10_000, unitPriceMinor: price },
        { quantity: 1, unitPriceMinor: 1n },
      ]),
    ).toBe(10_000n * price + 1n);
    // The same sum in doubles loses the final +1, which is why money is never a number.
    expect(10_000 * Number(price) + 1).toBe(10_000 * Number(price));
  });

  it("refuses a fractional quantity instead of rounding it", () => {
    expect(() => totalOf([{ quantity: 1.5, unitPriceMinor: 2n }])).toThrow(RangeError);
  });
});

describe("maxTotalMinor", () => {
  it("is 1,000,000.00 in major units, scaled by the currency's exponent", () => {
    expect(MAX_TOTAL_MAJOR).toBe(1_000_000n);
    expect(maxTotalMinor(2)).toBe(100_000_000n);
    expect(maxTotalMinor(0)).toBe(1_000_000n);
    expect(maxTotalMinor(3)).toBe(1_000_000_000n);
  });
});

describe("formatMinor", () => {
  it.each([
    [123456n, 2, "1234.56"],
    [5n, 2, "0.05"],
    [0n, 2, "0.00"],
    [100_000_001n, 2, "1000000.01"],
    [1_000_000n, 0, "1000000"],
    [-5n, 3, "-0.005"],
  ] as const)("formats %s with exponent %s as %s", (amount, exponent, text) => {
    expect(formatMinor(amount, exponent)).toBe(text);
  });
});

describe("currencySet", () => {
  it("defaults to USD, EUR and GBP with exponent 2", () => {
    const set = currencySet();
    expect(DEFAULT_CURRENCIES).toEqual({ USD: 2, EUR: 2, GBP: 2 });
    expect(set.codes).toEqual(["EUR", "GBP", "USD"]);
    expect(set.exponentOf("USD")).toBe(2);
    expect(set.exponentOf("JPY")).toBeUndefined();
    expect(set.exponentOf("usd")).toBeUndefined();
  });

  it("takes a configured set, e.g. with JPY at exponent 0", () => {
    const set = currencySet({ ...DEFAULT_CURRENCIES, JPY: 0 });
    expect(set.codes).toEqual(["EUR", "GBP", "JPY", "USD"]);
    expect(set.exponentOf("JPY")).toBe(0);
  });

  it.each<Record<string, number>>([{ usd: 2 }, { US: 2 }, { USD: -1 }, { USD: 5 }, { USD: 1.5 }, {}])(
    "rejects the configuration %j",
    (config) => {
      expect(() => currencySet(config)).toThrow(RangeError);
    },
  );

  it("parses CODE:EXPONENT lists", () => {
    const set = parseCurrencies(" usd:2, JPY:0 ,BHD:3,");
    expect(set.codes).toEqual(["BHD", "JPY", "USD"]);
    expect(set.exponentOf("BHD")).toBe(3);
    expect(() => parseCurrencies("USD")).toThrow(/CODE:EXPONENT/);
    expect(() => parseCurrencies("")).toThrow(RangeError);
  });
});
