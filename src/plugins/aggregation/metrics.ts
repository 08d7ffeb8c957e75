// The metrics of the aggregation plugin, as data: the definition registers one per aggregated metric and the
// README lists them. Main thread.

import type { MetricSpecs } from '../../agent/plugin-api.js';

export const AGGREGATION_METRICS = {
  // Each has the unit, value type and description of <metric>, and the attributes of its points.
  '<metric>_sum': { derived: true, description: 'sum of the points of <metric> over each interval', attributes: ['<attribute>'] },
  '<metric>_mean': { derived: true, description: 'mean of the points of <metric> over each interval', attributes: ['<attribute>'] },
} satisfies MetricSpecs;
