import { describe, expect, it } from "vitest";
import { DomainError } from "@orderly/kit/domain";
import type { Order } from "./model.js";
import { applyOrderMask, checkOrderMask, ORDER_MASK_PATHS } from "./update-mask.js";

const current: Order = {
  id: "ord_1",
  userId: "usr_1",
  items: [{ sku: "OLD", quantity: 1, unitPriceMinor: 100n }],
  totalMinor: 100n,
  currencyCode: "EUR",
  shippingAddress: {
    recipient: "Old R",
    line1: "Old 1",
    line2: "Old 2",
    city: "Old City",
    region: "Old Region",
    postalCode: "111",
    countryCode: "DE",
  },
  state: "PENDING",
  createTime: new Date(0),
  updateTime: new Date(0),
  etag: "e0",
};
const patch = {
  items: [{ sku: "NEW", quantity: 2, unitPriceMinor: 250n }],
  shippingAddress: {
    recipient: "New R",
    line1: "New 1",
    line2: "New 2",
    city: "New City",
    region: "New Region",
    postalCode: "222",
    countryCode: "FR",
  },
};

function thrown(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError");
}

describe("applyOrderMask", () => {
  it("changes only the items for 'items'", () => {
    expect(applyOrderMask(current, patch, ["items"])).toEqual({
      items: patch.items,
      shippingAddress: current.shippingAddress,
    });
  });

  it("changes single address fields and keeps the rest", () => {
    expect(applyOrderMask(current, patch, ["shipping_address.city", "shipping_address.postal_code"])).toEqual({
      items: current.items,
      shippingAddress: { ...current.shippingAddress, city: "New City", postalCode: "222" },
    });
  });

  it("replaces the whole address for 'shipping_address', clearing fields absent from the patch", () => {
    expect(
      applyOrderMask(current, { shippingAddress: { recipient: "Only" } }, ["shipping_address"]).shippingAddress,
    ).toEqual({
      recipient: "Only",
      line1: "",
      line2: "",
      city: "",
      region: "",
      postalCode: "",
      countryCode: "",
    });
  });

  it("replaces items and address for '*', and empties masked fields the patch leaves out", () => {
    expect(applyOrderMask(current, patch, ["*"])).toEqual(patch);
    expect(applyOrderMask(current, {}, ["items", "shipping_address.line2"])).toEqual({
      items: [],
      shippingAddress: { ...current.shippingAddress, line2: "" },
    });
  });

  it("shares no objects with the current order or the patch", () => {
    const kept = applyOrderMask(current, patch, ["shipping_address.city"]);
    kept.items[0]!.quantity = 99;
    kept.shippingAddress.line1 = "changed";
    const taken = applyOrderMask(current, patch, ["items"]);
    taken.items[0]!.sku = "changed";
    expect(current.items[0]?.quantity).toBe(1);
    expect(current.shippingAddress.line1).toBe("Old 1");
    expect(patch.items[0]?.sku).toBe("NEW");
  });

  it("rejects an empty mask", () => {
    const error = thrown(() => applyOrderMask(current, patch, []));
    expect(error).toMatchObject({ kind: "invalid_argument", reason: "INVALID_UPDATE_MASK" });
    expect(error.fieldViolations.map((v) => v.field)).toEqual(["update_mask"]);
  });

  it("rejects unknown paths with one violation each, naming them once", () => {
    const error = thrown(() =>
      checkOrderMask(["items", "state", "shipping_address.street", "state", "currency_code", "total_minor"]),
    );
    expect(error).toMatchObject({
      kind: "invalid_argument",
      reason: "INVALID_UPDATE_MASK",
      metadata: { unknown_paths: "state,shipping_address.street,currency_code,total_minor" },
    });
    expect(error.fieldViolations).toHaveLength(4);
    expect(error.fieldViolations[0]?.description).toContain('"state"');
  });

  it("accepts every documented path, and only in snake_case", () => {
    expect([...ORDER_MASK_PATHS]).toEqual([
      "*",
      "items",
      "shipping_address",
      "shipping_address.recipient",
      "shipping_address.line1",
      "shipping_address.line2",
      "shipping_address.city",
      "shipping_address.region",
      "shipping_address.postal_code",
      "shipping_address.country_code",
    ]);
    expect(() => checkOrderMask(ORDER_MASK_PATHS)).not.toThrow();
    expect(() => checkOrderMask(["shippingAddress"])).toThrow(DomainError);
  });
});
