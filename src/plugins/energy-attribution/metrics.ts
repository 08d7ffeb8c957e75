// The metric of each attribution formula, as data: the definition registers one per formula, under the
// formula's name, and the README lists it. Main thread.

import type { MetricSpecs } from '../../agent/plugin-api.js';

export const ATTRIBUTION_METRICS = {
  // A share of its reference's energy, which is a delta (the energy since the previous point); its
  // attributes are those of the input series that keep theirs.
  '<formula>': {
    type: 'f64',
    unit: 'J',
    description: 'Energy attribution (since the previous value) per consumer and per resource',
    attributes: ['<attribute>'],
    delta: true,
  },
} satisfies MetricSpecs;
