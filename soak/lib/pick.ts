// Picking from the lists a scenario just made (its users, the orders it knows): an empty list there is a broken
// scenario, so it throws instead of handing an undefined id to a call.

/** The item at `index`, starting again from the front past the end: how workers take turns over a few users. */
export function roundRobin<T>(items: readonly T[], index: number): T {
  const item = items[index % items.length];
  if (item === undefined) throw new RangeError("nothing to pick from: the list is empty");
  return item;
}

/** One item, picked at random. */
export function randomItem<T>(items: readonly T[]): T {
  return roundRobin(items, Math.floor(Math.random() * items.length));
}
