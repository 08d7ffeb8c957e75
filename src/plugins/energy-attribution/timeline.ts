// Time series of an attribution formula: samples in time order, linear interpolation at a reference time,
// and trimming. Pure code; runs in the transform's worker thread.

import type { Attributes, Timestamp } from '../../protocol/element-api.js';

export interface Sample extends Timestamp {
  readonly value: number;
  readonly attributes: Attributes;
}

/** Negative, zero or positive as `a` is before, at or after `b` (exact to the nanosecond). */
export function compareTime(a: Timestamp, b: Timestamp): number {
  return a.sec - b.sec || a.nsec - b.nsec;
}

/** Seconds from `a` to `b`. */
export function secondsBetween(a: Timestamp, b: Timestamp): number {
  return b.sec - a.sec + (b.nsec - a.nsec) / 1e9;
}

/** `t` minus `ns` nanoseconds. */
export function minus(t: Timestamp, ns: bigint): Timestamp {
  const total = BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec) - ns;
  const sec = total / 1_000_000_000n;
  const nsec = total - sec * 1_000_000_000n;
  return nsec < 0n ? { sec: Number(sec) - 1, nsec: Number(nsec) + 1e9 } : { sec: Number(sec), nsec: Number(nsec) };
}

/** Index of the first sample at or after `t` (`series.length` if none). */
function firstAtOrAfter(series: readonly Sample[], t: Timestamp): number {
  let lo = 0;
  let hi = series.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareTime(series[mid]!, t) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Adds a sample in time order (sources of one series may deliver out of order across batches). */
export function insertSample(series: Sample[], s: Sample): void {
  const last = series[series.length - 1];
  if (last === undefined || compareTime(last, s) <= 0) series.push(s);
  else series.splice(firstAtOrAfter(series, s), 0, s);
}

/**
 * The series at time `t`, which must lie between its first and last samples: the sample at `t`, or the
 * line between the samples around it, `(1 − u)·x + u·y` (rounded when the series holds integers, as
 * Alumet's interpolator does), with the attributes of the earlier one.
 */
export function interpolateAt(series: readonly Sample[], t: Timestamp, integers: boolean): { value: number; attributes: Attributes } {
  const k = firstAtOrAfter(series, t);
  const after = series[k]!;
  if (compareTime(after, t) === 0) return after;
  const before = series[k - 1]!;
  const u = secondsBetween(before, t) / secondsBetween(before, after);
  const value = (1 - u) * before.value + u * after.value;
  return { value: integers ? Math.round(value) : value, attributes: before.attributes };
}

/** Drops the samples before the last one at or before `t`, which later interpolations may still need. */
export function keepFrom(series: Sample[], t: Timestamp): void {
  const k = firstAtOrAfter(series, t);
  const keep = k < series.length && compareTime(series[k]!, t) === 0 ? k : k - 1;
  if (keep > 0) series.splice(0, keep);
}

/** Drops the samples older than `t`. */
export function dropBefore(series: Sample[], t: Timestamp): void {
  const k = firstAtOrAfter(series, t);
  if (k > 0) series.splice(0, k);
}
