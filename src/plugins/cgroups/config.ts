// The cgroups plugin's `[plugins.cgroups]` keys and defaults, and the config type they give. Imported by the
// definition (main thread) and, as a type only, by the element modules (worker threads).

import { t, type Infer } from '../../agent/plugin-api.js';

export const cgroupsSchema = t.table({
  /** Time between two polls of each cgroup. */
  poll_interval: t.duration('5s', { min: '1ms' }),
  /** Time between two batches each cgroup source sends downstream (default: one batch per poll). */
  flush_interval: t.optional(t.duration('5s', { min: '1ms' })),
  /**
   * Create no per-cgroup source. In Alumet this keeps only the cgroup events for observers such as the perf
   * plugin; this agent has no such observer yet, so the plugin then does nothing.
   */
  disable_sources: t.bool(false),
  /** Where cgroupfs is mounted (ours, not Alumet's): the cgroup2 mount, or a hybrid layout's parent. */
  root: t.string('/sys/fs/cgroup', { nonEmpty: true }),
  /** Time between two full rescans of the hierarchy (inotify reports most changes at once; this is the fallback). */
  refresh_interval: t.duration('2s', { min: '1ms' }),
});

/** `[plugins.cgroups]` with its defaults filled in. */
export type CgroupsConfig = Infer<typeof cgroupsSchema>;
