// The synthetic plugin's `[plugins.synthetic]` keys and defaults, and the config type they give. Imported by
// the definition (main thread) and, as a type only, by the source element (worker thread).

import { t, type Infer } from '../../agent/plugin-api.js';

export const syntheticSchema = t.table({
  /** Time between two polls; the scheduler goes down to 100us, benchmarks try less. */
  poll_interval: t.duration('1s', { min: '1us' }),
  /** Time between two batches sent downstream (default: one batch per poll). */
  flush_interval: t.optional(t.duration('1s', { min: '1us' })),
  /** Points each source emits per poll. */
  points_per_poll: t.int(10, { min: 1, max: 10_000_000 }),
  /** Distinct metrics, named synthetic_0, synthetic_1, …; point j belongs to metric j mod `metrics`. */
  metrics: t.int(1, { min: 1, max: 10_000 }),
  /** Attributes per point (attr_0 … attr_N-1, string values). */
  attributes: t.int(0, { min: 0, max: 64 }),
  /** Series of each metric, told apart by their attribute values: point j is series (j div metrics) mod this. */
  series_per_metric: t.int(1, { min: 1, max: 1_000_000 }),
  /** Value type of every synthetic metric. */
  value_type: t.oneOf(['f64', 'u64'], 'f64'),
  /** 0 = never fail; N = the Nth poll of each source throws (fault tests). */
  fail_after_polls: t.int(0, { min: 0 }),
  /** Number of source elements, named synthetic-0, synthetic-1, … */
  sources: t.int(1, { min: 1, max: 1024 }),
});

/** `[plugins.synthetic]` with its defaults filled in. */
export type SyntheticConfig = Infer<typeof syntheticSchema>;
