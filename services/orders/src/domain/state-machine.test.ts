import { describe, expect, it } from "vitest";
import type { OrderState } from "./model.js";
import {
  EVENT_TYPE_OF_ACTION,
  ORDER_ACTIONS,
  ORDER_STATES,
  statesAllowing,
  transition,
  TRANSITIONS,
  type OrderAction,
} from "./state-machine.js";

// The table of docs/product.md#states, retyped as text so the test does not read the constant it checks.
const PRODUCT_TABLE = `
  from \\ method | confirm   | ship    | deliver   | cancel
  PENDING        | CONFIRMED | -       | -         | CANCELLED
  CONFIRMED      | -         | SHIPPED | -         | CANCELLED
  SHIPPED        | -         | -       | DELIVERED | -
  DELIVERED      | -         | -       | -         | -
  CANCELLED      | -         | -       | -         | CANCELLED
`;

function parse(table: string): { from: OrderState; action: OrderAction; cell: string }[] {
  const [header, ...rows] = table
    .trim()
    .split("\n")
    .map((line) => line.split("|").map((cell) => cell.trim()));
  const actions = header!.slice(1) as OrderAction[];
  return rows.flatMap(([from, ...cells]) =>
    cells.map((cell, i) => ({ from: from as OrderState, action: actions[i]!, cell })),
  );
}

const cells = parse(PRODUCT_TABLE);

describe("the transition table", () => {
  it("covers every state x every action, and nothing else", () => {
    expect(cells).toHaveLength(ORDER_STATES.length * ORDER_ACTIONS.length);
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...ORDER_STATES].sort());
    for (const state of ORDER_STATES) expect(Object.keys(TRANSITIONS[state]).sort()).toEqual([...ORDER_ACTIONS].sort());
  });

  it.each(cells.filter((c) => c.cell !== "-"))("$from x $action moves to $cell", ({ from, action, cell }) => {
    expect(TRANSITIONS[from][action]).toBe(cell);
    expect(transition(from, action)).toEqual({ to: cell, changes: cell !== from });
  });

  it.each(cells.filter((c) => c.cell === "-"))("$from x $action is not allowed", ({ from, action }) => {
    expect(TRANSITIONS[from][action]).toBe("-");
    expect(transition(from, action)).toBeUndefined();
  });

  it("cancelling a cancelled order succeeds and changes nothing; every other allowed move changes the state", () => {
    expect(transition("CANCELLED", "cancel")).toEqual({ to: "CANCELLED", changes: false });
    const noOps = cells.filter((c) => c.cell !== "-" && !transition(c.from, c.action)!.changes);
    expect(noOps.map((c) => `${c.from}/${c.action}`)).toEqual(["CANCELLED/cancel"]);
  });

  it("names the event each action writes and the states each action needs", () => {
    expect(EVENT_TYPE_OF_ACTION).toEqual({
      confirm: "CONFIRMED",
      ship: "SHIPPED",
      deliver: "DELIVERED",
      cancel: "CANCELLED",
    });
    expect(statesAllowing("confirm")).toEqual(["PENDING"]);
    expect(statesAllowing("ship")).toEqual(["CONFIRMED"]);
    expect(statesAllowing("deliver")).toEqual(["SHIPPED"]);
    expect(statesAllowing("cancel")).toEqual(["PENDING", "CONFIRMED", "CANCELLED"]);
  });
});
