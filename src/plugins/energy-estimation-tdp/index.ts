// The energy-estimation-tdp plugin: estimates CPU energy in joules from procfs' kernel_cpu_time and the
// processor's TDP. Main thread: config and checks; the work happens in transform.ts.

import { definePlugin } from '../../agent/plugin-api.js';
import { t, type Infer } from '../../agent/config/schema.js';
import type { TdpTransformConfig } from './transform.js';

const schema = t.table({
  /** Alumet divides by it to get watts; ours outputs joules for any interval, so it is read and ignored. */
  poll_interval: t.duration('5s'),
  /** Thermal design power of the processor, in watts: the draw assumed at 100 % CPU. */
  tdp: t.float(100.0, { min: 0 }),
  /** Virtual CPUs given to this machine (1 on a physical machine). */
  nb_vcpu: t.float(1.0, { min: 0 }),
  /** Logical CPUs of the host. */
  nb_cpu: t.float(1.0, { min: 0 }),
  /** The CPU-time metric to read. */
  cpu_usage: t.string('kernel_cpu_time', { nonEmpty: true }),
  /** Alumet's manual factor to microseconds; ours derives the factor from the input's unit, so it is ignored. */
  cpu_time_conversion_factor: t.optional(t.float(1000)),
});

export type TdpConfig = Infer<typeof schema>;

export default definePlugin<TdpConfig>({
  name: 'energy-estimation-tdp',
  version: '0.1.0',
  config: schema,

  check(config, problems) {
    if (config.nb_cpu === 0) problems.add('nb_cpu', 'must be > 0 (the number of logical CPUs of the host, as lscpu shows)');
  },

  start(config, ctx) {
    if (config.cpu_time_conversion_factor !== undefined) {
      ctx.log.warn(
        { cpu_time_conversion_factor: config.cpu_time_conversion_factor },
        `plugins.energy-estimation-tdp.cpu_time_conversion_factor is ignored: the factor comes from the unit of ${config.cpu_usage}`,
      );
    }
    const element: TdpTransformConfig = {
      input: config.cpu_usage,
      output: ctx.metric('estimated_consumed_energy', { type: 'f64', unit: 'J', description: "CPU's estimated energy consumption" }),
      wattsPerCpuSecond: (config.tdp * config.nb_vcpu) / config.nb_cpu,
    };
    ctx.transform('transform', new URL('./transform.js', import.meta.url), element);
  },
});
