import { describe, expect, it } from "vitest";
import { currencySet } from "./currencies.js";
import type { LineItem, NewOrder, ShippingAddress } from "./model.js";
import { codePointLength } from "@orderly/kit/domain";
import { validateNewOrder, validateReason, validateRequestId, validateShippingAddress } from "./validation.js";

const currencies = currencySet();
const address: ShippingAddress = {
  recipient: "Ada Lovelace",
  line1: "12 St James's Sq",
  line2: "",
  city: "London",
  region: "",
  postalCode: "SW1Y 4JH",
  countryCode: "GB",
};
const item: LineItem = { sku: "BOOK-1", quantity: 2, unitPriceMinor: 1_999n };
const ok: NewOrder = { userId: "usr_1", items: [item], currencyCode: "GBP", shippingAddress: address };

function fields(violations: { field: string }[]): string[] {
  return violations.map((v) => v.field);
}

function check(overrides: Partial<NewOrder>, set = currencies) {
  return validateNewOrder({ ...ok, ...overrides }, set);
}

describe("validateNewOrder", () => {
  it("accepts a valid order, including the boundaries", () => {
    expect(check({})).toEqual([]);
    const items = Array.from({ length: 100 }, (_, i) => ({
      sku: "😀".repeat(64).slice(0, i % 2 ? undefined : 2),
      quantity: 10_000,
      unitPriceMinor: 0n,
    }));
    expect(check({ items })).toEqual([]);
    expect(check({ items: [{ sku: "X", quantity: 1, unitPriceMinor: 100_000_000n }] })).toEqual([]);
  });

  it("requires user_id", () => {
    expect(check({ userId: "" })).toEqual([{ field: "order.user_id", description: "is required" }]);
    expect(fields(check({ userId: "   " }))).toEqual(["order.user_id"]);
  });

  it("takes 1 to 100 items", () => {
    expect(check({ items: [] })).toEqual([{ field: "order.items", description: "must hold 1 to 100 items, got 0" }]);
    expect(check({ items: Array.from({ length: 101 }, () => ({ ...item, sku: "" })) })).toEqual([
      { field: "order.items", description: "must hold 1 to 100 items, got 101" },
    ]);
  });

  it("takes skus of 1 to 64 code points", () => {
    expect(check({ items: [{ ...item, sku: "😀".repeat(64) }] })).toEqual([]);
    expect(check({ items: [item, { ...item, sku: "" }] })).toEqual([
      { field: "order.items[1].sku", description: "must be 1 to 64 characters, got 0" },
    ]);
    expect(fields(check({ items: [{ ...item, sku: "x".repeat(65) }] }))).toEqual(["order.items[0].sku"]);
  });

  it.each([0, -1, 10_001, 1.5, Number.NaN])("rejects the quantity %s", (quantity) => {
    expect(fields(check({ items: [{ ...item, quantity }] }))).toEqual(["order.items[0].quantity"]);
  });

  it("takes unit prices of 0 or more", () => {
    expect(check({ items: [{ ...item, unitPriceMinor: 0n }] })).toEqual([]);
    expect(check({ items: [{ ...item, unitPriceMinor: -1n }] })).toEqual([
      { field: "order.items[0].unit_price_minor", description: "must be 0 or more, got -1" },
    ]);
  });

  it("bounds the total at 1,000,000.00 in the order's currency, reported on order.items", () => {
    const atMax = [
      { sku: "A", quantity: 10_000, unitPriceMinor: 9_999n },
      { sku: "B", quantity: 1, unitPriceMinor: 10_000n },
    ];
    expect(check({ items: atMax })).toEqual([]);
    const over = [
      { sku: "A", quantity: 10_000, unitPriceMinor: 10_000n },
      { sku: "B", quantity: 1, unitPriceMinor: 1n },
    ];
    expect(check({ items: over })).toEqual([
      { field: "order.items", description: "total 1000000.01 GBP must be at most 1000000.00 GBP" },
    ]);
  });

  it("uses the currency's exponent for the bound (JPY has no minor unit)", () => {
    const withYen = currencySet({ GBP: 2, JPY: 0 });
    expect(
      check({ currencyCode: "JPY", items: [{ sku: "A", quantity: 100, unitPriceMinor: 10_000n }] }, withYen),
    ).toEqual([]);
    expect(
      check({ currencyCode: "JPY", items: [{ sku: "A", quantity: 100, unitPriceMinor: 10_001n }] }, withYen),
    ).toEqual([{ field: "order.items", description: "total 1000100 JPY must be at most 1000000 JPY" }]);
  });

  it.each([
    ["", "is required; one of EUR, GBP, USD"],
    ["gbp", 'must be an upper-case ISO 4217 code, one of EUR, GBP, USD; got "gbp"'],
    ["POUND", 'must be an upper-case ISO 4217 code, one of EUR, GBP, USD; got "POUND"'],
    ["JPY", 'must be one of EUR, GBP, USD; got "JPY"'],
  ])("rejects the currency %j, listing the allowed ones", (currencyCode, description) => {
    expect(check({ currencyCode })).toEqual([{ field: "order.currency_code", description }]);
  });

  it("does not check the total against a currency it does not know", () => {
    expect(
      fields(check({ currencyCode: "XXX", items: [{ sku: "A", quantity: 10_000, unitPriceMinor: 10n ** 12n }] })),
    ).toEqual(["order.currency_code"]);
  });

  it("reports every broken rule at once, in field order", () => {
    const violations = validateNewOrder(
      {
        userId: "",
        items: [
          { sku: "", quantity: 0, unitPriceMinor: -5n },
          { sku: "OK", quantity: 10_000, unitPriceMinor: 1_000_000n },
        ],
        currencyCode: "usd",
        shippingAddress: { ...address, recipient: "", city: "c".repeat(101), countryCode: "gb" },
      },
      currencies,
    );
    expect(fields(violations)).toEqual([
      "order.user_id",
      "order.items[0].sku",
      "order.items[0].quantity",
      "order.items[0].unit_price_minor",
      "order.currency_code",
      "order.shipping_address.recipient",
      "order.shipping_address.city",
      "order.shipping_address.country_code",
    ]);
  });
});

describe("validateShippingAddress", () => {
  it("treats an absent address and an all-empty one alike: one 'is required'", () => {
    const empty = { recipient: "", line1: "", line2: "", city: "", region: "", postalCode: "", countryCode: "" };
    expect(validateShippingAddress(undefined)).toEqual([
      { field: "order.shipping_address", description: "is required" },
    ]);
    expect(validateShippingAddress(empty)).toEqual([{ field: "order.shipping_address", description: "is required" }]);
  });

  it("requires recipient, line1, city, postal_code and country_code, but not line2 or region", () => {
    const partial = { recipient: " ", line1: "", line2: "x", city: "", region: "y", postalCode: "", countryCode: "" };
    expect(fields(validateShippingAddress(partial))).toEqual([
      "order.shipping_address.recipient",
      "order.shipping_address.line1",
      "order.shipping_address.city",
      "order.shipping_address.postal_code",
      "order.shipping_address.country_code",
    ]);
  });

  it("bounds lengths as the proto says, in code points", () => {
    const atMax = {
      recipient: "😀".repeat(200),
      line1: "l".repeat(200),
      line2: "l".repeat(200),
      city: "c".repeat(100),
      region: "r".repeat(100),
      postalCode: "p".repeat(20),
      countryCode: "DE",
    };
    expect(validateShippingAddress(atMax)).toEqual([]);
    const over = {
      recipient: "r".repeat(201),
      line1: "l".repeat(201),
      line2: "l".repeat(201),
      city: "c".repeat(101),
      region: "r".repeat(101),
      postalCode: "p".repeat(21),
      countryCode: "DE",
    };
    expect(validateShippingAddress(over)).toEqual(
      [
        ["recipient", 200, 201],
        ["line1", 200, 201],
        ["line2", 200, 201],
        ["city", 100, 101],
        ["region", 100, 101],
        ["postal_code", 20, 21],
      ].map(([name, max, got]) => ({
        field: `order.shipping_address.${name}`,
        description: `must be at most ${max} characters, got ${got}`,
      })),
    );
  });

  it.each(["de", "DEU", "D", "D1"])("rejects the country code %j", (countryCode) => {
    expect(fields(validateShippingAddress({ ...address, countryCode }))).toEqual([
      "order.shipping_address.country_code",
    ]);
  });
});

describe("validateRequestId", () => {
  it.each([
    "123e4567-e89b-12d3-a456-426614174000",
    "123E4567-E89B-42D3-A456-426614174000",
    "00000000-0000-0000-0000-000000000000",
  ])("accepts %s", (id) => {
    expect(validateRequestId(id)).toEqual([]);
  });

  it.each([
    "not-a-uuid",
    "123e4567e89b12d3a456426614174000",
    "123e4567-e89b-12d3-a456-42661417400g",
    " 123e4567-e89b-12d3-a456-426614174000",
  ])("rejects %j", (id) => {
    expect(fields(validateRequestId(id))).toEqual(["request_id"]);
  });

  it("requires one", () => {
    expect(validateRequestId("")).toEqual([
      { field: "request_id", description: expect.stringContaining("is required") },
    ]);
  });

  it("echoes at most 40 characters of a bad value", () => {
    const [violation] = validateRequestId("z".repeat(10_000));
    expect(violation?.description).toContain(`"${"z".repeat(40)}"…`);
    expect(violation?.description.length).toBeLessThan(120);
  });
});

describe("validateReason", () => {
  it("takes up to 500 code points", () => {
    expect(validateReason("")).toEqual([]);
    expect(validateReason("😀".repeat(500))).toEqual([]);
    expect(validateReason("x".repeat(501))).toEqual([
      { field: "reason", description: "must be at most 500 characters, got 501" },
    ]);
  });

  it("codePointLength counts code points, not UTF-16 units", () => {
    expect(codePointLength("a😀é")).toBe(3);
  });
});
