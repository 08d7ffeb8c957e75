// Wall-clock timestamps with nanosecond resolution, and a monotonic clock for schedules. Any thread.
//
// The wall clock is read once per thread and then advanced with the monotonic high-resolution clock, so
// timestamps never go backwards within a thread and keep sub-microsecond resolution.

import { performance } from 'node:perf_hooks';
import type { Timestamp } from './batch.js';

const baseWallNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
const baseHr = process.hrtime.bigint();

export function nowNs(): bigint {
  return baseWallNs + (process.hrtime.bigint() - baseHr);
}

export function nowTimestamp(): Timestamp {
  const ns = nowNs();
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}

/** Monotonic milliseconds (fractional), for schedules. */
export function monoMs(): number {
  return performance.now();
}
