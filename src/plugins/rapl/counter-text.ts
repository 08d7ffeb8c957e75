// The text of a powercap counter file (energy_uj, max_energy_range_uj): one unsigned decimal integer and a
// newline. Pure; the definition reads the range (main thread), the source the counters (worker thread).

import { U64_MAX } from '../shared/counter-diff.js';

const U64_DIGITS = /^\d{1,20}$/;

/** The counter in `text`, read from `path` (named in the error when the text is not a counter). */
export function parseCounter(text: string, path: string): bigint {
  const trimmed = text.trim();
  const value = U64_DIGITS.test(trimmed) ? BigInt(trimmed) : -1n;
  if (value < 0n || value > U64_MAX) {
    throw new Error(`${path}: expected a counter (an unsigned 64-bit integer), got ${JSON.stringify(trimmed)}`);
  }
  return value;
}
