// The energy-estimation-tdp plugin: estimates CPU energy in joules from procfs' kernel_cpu_time and the
// processor's TDP. Main thread: checks and the transform's start (keys in config.ts, metric in metrics.ts);
// the work happens in transform.ts. Disabled in a generated config: its TDP must be set for the machine.

import { definePlugin } from '../../agent/plugin-api.js';
import { tdpSchema, type TdpConfig } from './config.js';
import { TDP_METRICS } from './metrics.js';
import type { TdpTransformConfig } from './transform.js';

export default definePlugin<TdpConfig>({
  name: 'energy-estimation-tdp',
  version: '0.1.0',
  config: tdpSchema,
  enabledByDefault: false,
  metrics: TDP_METRICS,

  check(config, problems) {
    if (config.nb_cpu === 0) problems.add('nb_cpu', 'must be > 0 (the number of logical CPUs of the host, as lscpu shows)');
  },

  start(config, ctx) {
    const element: TdpTransformConfig = {
      input: 'kernel_cpu_time',
      output: ctx.metric('estimated_consumed_energy', TDP_METRICS.estimated_consumed_energy),
      wattsPerCpuSecond: (config.tdp * config.nb_vcpu) / config.nb_cpu,
    };
    ctx.transform('transform', new URL('./transform.js', import.meta.url), element);
  },
});
