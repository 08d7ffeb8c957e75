// Alumet units: parsing of unit strings (`kW`, `μs`, `By`) and their unique and display names. Any thread:
// plugins parse units on the main thread, outputs print them in workers.

import type { Unit } from './metrics.js';

/** A unit string that is neither a known base unit nor a prefix followed by one. */
export class UnitError extends Error {
  override readonly name = 'UnitError';
}

/** Known base units: unique (UCUM-style) name → display name. */
export const UNITS: Readonly<Record<string, string>> = Object.freeze({
  '1': '',
  s: 's',
  W: 'W',
  J: 'J',
  V: 'V',
  A: 'A',
  Hz: 'Hz',
  Cel: '°C',
  '[degF]': '°F',
  'W.h': 'Wh',
  By: 'B',
  '%': '%',
});

/** Prefixes: unique name → display name (the display of micro is U+03BC, as in Alumet). */
export const PREFIXES: Readonly<Record<string, string>> = Object.freeze({
  '': '',
  nano: 'n',
  micro: 'μ',
  milli: 'm',
  kilo: 'k',
  mega: 'M',
  giga: 'G',
});

/** Prefixes: unique name → the factor to the base unit (`milli` → 1e-3). */
const PREFIX_FACTORS: Readonly<Record<string, number>> = Object.freeze({
  '': 1,
  nano: 1e-9,
  micro: 1e-6,
  milli: 1e-3,
  kilo: 1e3,
  mega: 1e6,
  giga: 1e9,
});

/** How many base units one unit of `prefix` is (`kilo`: 1000), or undefined for an unknown prefix. */
export function prefixFactor(prefix: string): number | undefined {
  return hasOwn(PREFIX_FACTORS, prefix) ? PREFIX_FACTORS[prefix] : undefined;
}

// Alumet's order: the first prefix that starts the text wins, even if the rest then fails to parse
// (so `mega` is tried before `m`). U+00B5 (the keyboard micro sign) is ours: both look the same to users.
const PARSE_ORDER: ReadonlyArray<readonly [string, string]> = [
  ['giga', 'giga'],
  ['mega', 'mega'],
  ['kilo', 'kilo'],
  ['milli', 'milli'],
  ['micro', 'micro'],
  ['nano', 'nano'],
  ['G', 'giga'],
  ['M', 'mega'],
  ['k', 'kilo'],
  ['m', 'milli'],
  ['\u03bc', 'micro'],
  ['\u00b5', 'micro'],
  ['n', 'nano'],
  ['', ''],
];

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Parses a unit as Alumet's `PrefixedUnit` does: an optional prefix (`kilo` or `k`, …) then the unique name
 * of a known base unit. Display names (`°C`, `B`) and custom units are not accepted.
 */
export function parseUnit(text: string): Unit {
  for (const [spelling, prefix] of PARSE_ORDER) {
    if (!text.startsWith(spelling)) continue;
    const base = text.slice(spelling.length);
    if (hasOwn(UNITS, base)) return { base, prefix };
    break;
  }
  throw new UnitError(
    `Unknown or non standard Unit ${text === '' ? '""' : JSON.stringify(text)}: expected an optional prefix ` +
      `(giga, mega, kilo, milli, micro, nano, G, M, k, m, μ, n) followed by a base unit (${Object.keys(UNITS).join(', ')})`,
  );
}

/** A unit with no prefix: a known base unit, or a custom one with its own display name. */
export function baseUnit(base: string, display?: string): Unit {
  return display === undefined ? { base, prefix: '' } : { base, prefix: '', display };
}

/** `milliW`, `kiloW.h`, `nanos`: the prefix's unique name then the base's. */
export function unitUniqueName(u: Unit): string {
  return u.prefix + u.base;
}

/** `mW`, `kWh`, `μs`, `°C`, and the empty string for the unity `1`. */
export function unitDisplayName(u: Unit): string {
  const prefix = PREFIXES[u.prefix] ?? u.prefix;
  const base = hasOwn(UNITS, u.base) ? UNITS[u.base]! : (u.display ?? u.base);
  return prefix + base;
}

/** Structural equality as Alumet compares units: no normalisation, so `milliW` is not `W`. */
export function unitEquals(a: Unit, b: Unit): boolean {
  return a.base === b.base && a.prefix === b.prefix && unitDisplayName(a) === unitDisplayName(b);
}
