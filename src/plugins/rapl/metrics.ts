// The metric of the rapl plugin, as data: the definition registers it and the README lists it. Main thread.

import type { MetricSpecs } from '../../agent/plugin-api.js';

export const RAPL_METRICS = {
  rapl_consumed_energy: {
    type: 'f64',
    unit: 'J',
    description: 'Energy consumed since the previous measurement, as reported by RAPL.',
    attributes: ['domain'],
    delta: true,
  },
} satisfies MetricSpecs;
