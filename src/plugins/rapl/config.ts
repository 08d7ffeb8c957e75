// The rapl plugin's `[plugins.rapl]` keys and defaults (Alumet's, plus `powercap_root`), and the config type
// they give. Imported by the definition (main thread).

import { t, type Infer } from '../../agent/plugin-api.js';

/** Where the kernel mounts the power capping framework; its `intel-rapl` directory holds the RAPL zones. */
export const DEFAULT_POWERCAP_ROOT = '/sys/devices/virtual/powercap';

export const raplSchema = t.table({
  /** Time between two reads of the energy counters. */
  poll_interval: t.duration('1s', { min: '100us' }),
  /** Time between two batches sent downstream. */
  flush_interval: t.duration('5s', { min: '100us' }),
  /** Alumet's switch to powercap; this build reads powercap only, so it only silences the line that says so. */
  no_perf_events: t.bool(false),
  /** The powercap directory (tests point it at a fake tree). */
  powercap_root: t.string(DEFAULT_POWERCAP_ROOT, { nonEmpty: true }),
});

/** `[plugins.rapl]` with its defaults filled in. */
export type RaplConfig = Infer<typeof raplSchema>;
