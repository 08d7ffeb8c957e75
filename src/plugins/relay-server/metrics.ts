// The metrics of the relay-server plugin: those its clients register, as they register them.

import type { MetricSpecs } from '../../agent/plugin-api.js';
import { RELAY_CLIENT_ATTRIBUTE } from './decode-measurements.js';

export const RELAY_SERVER_METRICS = {
  '<metric>': {
    foreign: true,
    description: 'remote metric via plugin_relay',
    attributes: [RELAY_CLIENT_ATTRIBUTE],
  },
} satisfies MetricSpecs;
