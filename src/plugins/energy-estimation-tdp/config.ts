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
});

/** `[plugins.energy-estimation-tdp]` with its defaults filled in. */
export type TdpConfig = Infer<typeof tdpSchema>;
