// The metric of the energy-to-carbon plugin, as data: the definition registers it and the README lists it.
// Main thread.

import type { MetricSpecs } from '../../agent/plugin-api.js';

export const CARBON_METRICS = {
  // Same attributes as the energy point it comes from: any key.
  carbon_emission: {
    type: 'f64',
    unit: { base: 'g_CO2', prefix: '', display: 'gCO₂' },
    description: 'Carbon emission in grams of CO2 equivalent, computed from energy consumption and emission intensity.',
    attributes: ['<attribute>'],
    delta: true,
  },
} satisfies MetricSpecs;
