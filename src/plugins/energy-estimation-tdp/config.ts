// The energy-estimation-tdp plugin's `[plugins.energy-estimation-tdp]` keys and defaults (Alumet's), and the
// config type they give. Imported by the definition (main thread) and, as a type only, by the transform.

import { t, type Infer } from '../../agent/plugin-api.js';

export const tdpSchema = t.table({
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

/** `[plugins.energy-estimation-tdp]` with its defaults filled in. */
export type TdpConfig = Infer<typeof tdpSchema>;
