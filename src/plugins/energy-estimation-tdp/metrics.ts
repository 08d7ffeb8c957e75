// The metric of the energy-estimation-tdp plugin, as data: the definition registers it and the README lists
// it. Main thread.

import type { MetricSpecs } from '../../agent/plugin-api.js';

export const TDP_METRICS = {
  // Each point is the energy of its input point's interval, so a delta as the input is; its attributes are
  // the input point's (cpu_state for kernel_cpu_time, the default input).
  estimated_consumed_energy: { type: 'f64', unit: 'J', description: "CPU's estimated energy consumption", attributes: ['cpu_state'], delta: true },
} satisfies MetricSpecs;
