// Number, timestamp and attribute formatting identical to the Rust agent's `Display`, for the csv and Prometheus
// outputs. Worker thread (the csv output calls these once per cell), so each has a fast path for the common case
// and allocates as little as it can.

import type { AttrValue } from '../../protocol/element-api.js';

const U64_MAX = 18446744073709551615n;

/**
 * Rust's `Display` for f64: the shortest digits that read back to the same number, never in exponent
 * notation (`1e21` → `1000000000000000000000`, `1e-7` → `0.0000001`), `1.0` → `1`, `NaN`, `inf`, `-inf`, `-0`.
 */
export function formatF64(x: number): string {
  if (Number.isInteger(x)) {
    if (x === 0) return Object.is(x, -0) ? '-0' : '0';
    // JS switches to exponent notation at 1e21; every integer below that prints in full.
    return x < 1e21 && x > -1e21 ? String(x) : expandExponent(String(x));
  }
  if (x !== x) return 'NaN';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  // A non-integer is below 2^53 in magnitude, so only tiny values get an exponent (below 1e-6).
  return x >= 1e-6 || x <= -1e-6 ? String(x) : expandExponent(String(x));
}

/** Rewrites JS's `d.ddde±n` without an exponent, keeping exactly the digits JS chose. */
function expandExponent(s: string): string {
  const e = s.indexOf('e');
  if (e < 0) return s;
  const negative = s.charCodeAt(0) === 45; // '-'
  const mantissa = s.slice(negative ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const digits = mantissa.replace('.', '');
  let out: string;
  if (exp >= 0) {
    const intLen = exp + 1;
    out = digits.length <= intLen ? digits + '0'.repeat(intLen - digits.length) : `${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  } else {
    out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  return negative ? '-' + out : out;
}

/**
 * A u64 in exact decimal. A number is read with Rust's `as u64` rules (truncated; negatives and NaN give 0;
 * too large saturates), so it prints what the Rust agent would have stored.
 */
export function formatU64(v: bigint | number): string {
  if (typeof v === 'bigint') return v.toString();
  if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) return Number.isInteger(v) ? String(v) : String(Math.trunc(v));
  if (!(v > 0)) return '0';
  if (v >= 18446744073709551616) return U64_MAX.toString();
  return BigInt(Math.trunc(v)).toString();
}

/** The exact u64 whose little-endian 32-bit words are `lo` and `hi` (how a Batch stores it). */
export function formatU64Words(lo: number, hi: number): string {
  // Below 2^53 a double holds the value exactly, and String() is much faster than BigInt.
  if (hi < 0x200000) return String(hi * 4294967296 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

// Outputs see long runs of points with the same timestamp (one poll), then timestamps in the same second.
let cachedSec = NaN;
let cachedDate = '';
let cachedNsec = -1;
let cachedFull = '';

/**
 * RFC 3339 in UTC as the Rust `time` crate writes it: `2025-04-25T15:08:53.99636522Z`, with up to nine
 * fraction digits, trailing zeros trimmed, and no fraction at all when `nsec` is 0.
 */
export function formatTimestamp(sec: number, nsec: number): string {
  if (sec === cachedSec) {
    if (nsec === cachedNsec) return cachedFull;
  } else {
    const date = new Date(sec * 1000);
    // Beyond ±275 760 years (a corrupt relay message, say) Date cannot print: write plain seconds, never throw.
    if (Number.isNaN(date.getTime())) return `${formatF64(sec)}${fraction(nsec)}s`;
    cachedSec = sec;
    cachedDate = date.toISOString().slice(0, -5); // drop ".sssZ"; years past 9999 print as +YYYYYY
  }
  cachedNsec = nsec;
  cachedFull = cachedDate + fraction(nsec) + 'Z';
  return cachedFull;
}

function fraction(nsec: number): string {
  if (nsec === 0) return '';
  let f = nsec;
  let digits = 9;
  while (f % 10 === 0) {
    f /= 10;
    digits--;
  }
  const s = String(f);
  return '.' + '000000000'.slice(0, digits - s.length) + s;
}

/**
 * An attribute value as Alumet writes it (Rust's `Display`: the CSV cells, the Prometheus label values): strings raw, `true`/`false`, f64 and u64 as above. A list
 * prints as `[1, 2, 3]` (Alumet's `Display` garbles lists into `[12, 3, ]`, a bug we do not copy).
 */
export function formatAttrValue(v: AttrValue): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return formatF64(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      return `[${v.join(', ')}]`;
  }
}
