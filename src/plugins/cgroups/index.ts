// The cgroups plugin (Alumet's raw cgroups, v2): one run-time source per cgroup, found and followed by the
// `cgroup-watcher`. Main thread: config schema, metric registration, and the watcher's start.

import { statSync } from 'node:fs';
import { definePlugin } from '../../agent/plugin-api.js';
import { t, type Infer } from '../../agent/config/schema.js';
import type { CgroupMetrics } from './cgroup.js';
import type { CgroupWatcherConfig } from './watcher.js';

const schema = t.table({
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

export type CgroupsConfig = Infer<typeof schema>;

export default definePlugin<CgroupsConfig>({
  name: 'cgroups',
  version: '0.1.0',
  config: schema,

  start(config, ctx) {
    if (config.disable_sources) {
      ctx.log.info({}, 'cgroups: disable_sources = true, so no cgroup is measured (this agent has no cgroup observer that would use the plugin otherwise)');
      return;
    }
    if (!isDirectory(config.root)) {
      throw new Error(`root ${JSON.stringify(config.root)} is not a directory: is cgroupfs mounted? Set plugins.cgroups.root to its mount point`);
    }
    const u64 = (name: string, unit: string, description: string) => ctx.metric(name, { type: 'u64', unit, description });
    const f64 = (name: string, unit: string, description: string) => ctx.metric(name, { type: 'f64', unit, description });
    // cpu_time_delta, cpu_percent and memory_usage are procfs's too: same name, unit and type, so one id.
    const metrics: CgroupMetrics = {
      cpuTime: u64('cpu_time_delta', 'ns', 'CPU time spent by the consumer since the previous measurement'),
      cpuPercent: f64('cpu_percent', '%', 'share of all online CPUs used by the consumer since the previous measurement'),
      memoryUsage: u64('memory_usage', 'By', 'memory used by the consumer'),
      memoryMax: f64('memory_max', 'By', 'memory limit of the cgroup (memory.max); -1 when unlimited'),
      swapMax: f64('cgroup_memory_swap_max', 'By', 'swap limit of the cgroup (memory.swap.max); -1 when unlimited'),
      swapCurrent: u64('cgroup_memory_swap_current', 'By', 'swap used by the cgroup (memory.swap.current)'),
      anonymous: u64('cgroup_memory_anonymous', 'By', 'anonymous memory of the cgroup (memory.stat anon)'),
      file: u64('cgroup_memory_file', 'By', 'file-backed memory of the cgroup, page cache included (memory.stat file)'),
      kernelStack: u64('cgroup_memory_kernel_stack', 'By', 'kernel stacks of the cgroup (memory.stat kernel_stack)'),
      pagetables: u64('cgroup_memory_pagetables', 'By', 'page tables of the cgroup (memory.stat pagetables)'),
      slabReclaimable: u64('cgroup_slab_reclaimable', 'By', 'reclaimable kernel slab memory of the cgroup (memory.stat slab_reclaimable)'),
      pswpin: u64('cgroup_pswpin', '1', 'pages swapped in since the cgroup was created (memory.stat pswpin)'),
      pswpout: u64('cgroup_pswpout', '1', 'pages swapped out since the cgroup was created (memory.stat pswpout)'),
      ioSome: u64('io_pressure_some_total', 'μs', 'time some tasks of the cgroup were stalled on I/O since the previous measurement (io.pressure)'),
      ioFull: u64('io_pressure_full_total', 'μs', 'time all tasks of the cgroup were stalled on I/O since the previous measurement (io.pressure)'),
    };
    const watcher: CgroupWatcherConfig = {
      root: config.root,
      poll_interval: config.poll_interval,
      cpuOnlinePath: '/sys/devices/system/cpu/online',
      metrics,
    };
    if (config.flush_interval !== undefined) watcher.flush_interval = config.flush_interval;
    ctx.source('cgroup-watcher', new URL('./watcher.js', import.meta.url), watcher, { poll_interval: config.refresh_interval });
  },
});

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
