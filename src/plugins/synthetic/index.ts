// The synthetic plugin (ours, not Alumet's): sources that emit a configurable number of points per poll, for
// tests and benchmarks. Main thread: config, metric registration, and `sources` copies of source.ts.

import { definePlugin } from '../../agent/plugin-api.js';
import { t, type Infer } from '../../agent/config/schema.js';
import type { SyntheticSourceConfig } from './source.js';

const schema = t.table({
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
  /** Value type of every synthetic metric. */
  value_type: t.oneOf(['f64', 'u64'], 'f64'),
  /** 0 = never fail; N = the Nth poll of each source throws (fault tests). */
  fail_after_polls: t.int(0, { min: 0 }),
  /** Number of source elements, named synthetic-0, synthetic-1, … */
  sources: t.int(1, { min: 1, max: 1024 }),
});

export type SyntheticConfig = Infer<typeof schema>;

export default definePlugin<SyntheticConfig>({
  name: 'synthetic',
  version: '0.1.0',
  config: schema,

  check(config, problems) {
    if (config.metrics > config.points_per_poll) {
      problems.add(
        'metrics',
        `${config.metrics} metrics but only ${config.points_per_poll} points per poll: synthetic_${config.points_per_poll} and above would never get a point; set metrics <= points_per_poll`,
      );
    }
  },

  start(config, ctx) {
    const metrics = Array.from({ length: config.metrics }, (_, m) =>
      ctx.metric(`synthetic_${m}`, { type: config.value_type, unit: '1', description: 'synthetic counter for tests and benchmarks' }),
    );
    const element: SyntheticSourceConfig = {
      metrics,
      pointsPerPoll: config.points_per_poll,
      attributes: config.attributes,
      failAfterPolls: config.fail_after_polls,
    };
    const trigger =
      config.flush_interval === undefined
        ? { poll_interval: config.poll_interval }
        : { poll_interval: config.poll_interval, flush_interval: config.flush_interval };
    for (let i = 0; i < config.sources; i++) ctx.source(`synthetic-${i}`, new URL('./source.js', import.meta.url), element, trigger);
  },
});
