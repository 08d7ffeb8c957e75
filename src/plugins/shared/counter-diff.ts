// Differences between two readings of a kernel counter that only grows until it wraps (procfs' /proc/stat and
// /proc/net/dev counters, RAPL's energy_uj). Pure arithmetic; any thread.

export const U64_MAX = 0xffff_ffff_ffff_ffffn;

/**
 * Difference between two readings of a monotonic counter, as Alumet's CounterDiff: when the new reading is
 * below the old one the counter is taken to have wrapped at `max` (its largest value) once.
 */
export function counterDiff(prev: bigint, now: bigint, max: bigint = U64_MAX): bigint {
  return now >= prev ? now - prev : max - prev + now + 1n;
}
