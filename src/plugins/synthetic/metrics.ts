// The metrics of the synthetic plugin, as data: the definition registers them and the README lists them.
// Main thread.

import type { MetricSpecs } from '../../agent/plugin-api.js';

export const SYNTHETIC_METRICS = {
  /** `metrics` of them, synthetic_0 … synthetic_<metrics-1>; `value_type` sets their type (f64 by default). */
  'synthetic_<m>': { type: 'f64', unit: '1', description: 'synthetic counter for tests and benchmarks', attributes: ['attr_<k>'] },
} satisfies MetricSpecs;
