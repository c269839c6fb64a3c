// What every store's row mapping needs whatever the engine: the two drivers hand back the same column in different
// JavaScript types (SQLite epoch milliseconds as number or bigint, PostgreSQL a Date; int8 as bigint or decimal text),
// and these read either, so one mapping per entity serves both stores.

/** A timestamp column as either driver returns it: a Date (PostgreSQL) or epoch milliseconds (SQLite). */
export type StoredTime = Date | number | bigint;

/** A stored timestamp as a Date. */
export function dateOf(value: StoredTime): Date {
  return value instanceof Date ? value : new Date(Number(value));
}

/** An int8 column as either driver returns it: bigint (SQLite with safeIntegers) or decimal text (PostgreSQL). */
export type StoredInt64 = bigint | string | number;

/** A stored int8 as an exact bigint; never through a double. */
export function bigintOf(value: StoredInt64): bigint {
  return typeof value === "bigint" ? value : BigInt(value);
}

/** The row a statement that always yields one (INSERT ... RETURNING, a read inside its own write) gave back. */
export function oneRow<T>(row: T | undefined, statement: string): T {
  if (row === undefined) throw new Error(`${statement} returned no row`);
  return row;
}
