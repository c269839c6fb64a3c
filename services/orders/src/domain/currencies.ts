// The currencies this deployment accepts, each with its ISO 4217 minor-unit exponent (USD 2: cents; JPY 0: no minor
// unit). Limits on money depend on the exponent, so the set carries it instead of a bare list of codes.

/** The default configuration: code -> ISO 4217 minor-unit exponent. */
export const DEFAULT_CURRENCIES: Readonly<Record<string, number>> = { USD: 2, EUR: 2, GBP: 2 };

// ISO 4217 exponents in use today are 0 to 4 (e.g. JPY 0, USD 2, BHD 3, CLF 4).
const MAX_EXPONENT = 4;
const CODE_SHAPE = /^[A-Z]{3}$/;

/** A fixed set of accepted currencies. */
export interface CurrencySet {
  /** The configured codes, sorted, for error messages. */
  readonly codes: readonly string[];
  /** The minor-unit exponent of a configured currency, or undefined when the code is not configured. */
  exponentOf(code: string): number | undefined;
}

/** A CurrencySet from code -> exponent; throws RangeError for a malformed code or exponent (a configuration bug). */
export function currencySet(exponents: Readonly<Record<string, number>> = DEFAULT_CURRENCIES): CurrencySet {
  const byCode = new Map<string, number>();
  for (const [code, exponent] of Object.entries(exponents)) {
    if (!CODE_SHAPE.test(code))
      throw new RangeError(`currency code ${JSON.stringify(code)} must be 3 upper-case letters`);
    if (!Number.isInteger(exponent) || exponent < 0 || exponent > MAX_EXPONENT) {
      throw new RangeError(
        `currency ${code} has exponent ${exponent}; ISO 4217 exponents are integers 0 to ${MAX_EXPONENT}`,
      );
    }
    byCode.set(code, exponent);
  }
  if (byCode.size === 0) throw new RangeError("at least one currency must be configured");
  const codes = Object.freeze([...byCode.keys()].sort());
  return { codes, exponentOf: (code) => byCode.get(code) };
}

/**
 * Parses a configuration string such as "USD:2,EUR:2,JPY:0" (e.g. from an environment variable) into a CurrencySet.
 * The exponent is required: guessing one wrongly would scale every limit by a power of ten.
 */
export function parseCurrencies(text: string): CurrencySet {
  const exponents: Record<string, number> = {};
  for (const entry of text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")) {
    const [, code, exponent] = /^([A-Za-z]{3}):(\d)$/.exec(entry) ?? [];
    if (code === undefined || exponent === undefined) {
      throw new RangeError(`currency entry ${JSON.stringify(entry)} must look like CODE:EXPONENT, e.g. JPY:0`);
    }
    exponents[code.toUpperCase()] = Number(exponent);
  }
  return currencySet(exponents);
}
