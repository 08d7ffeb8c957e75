// The cgroups plugin (Alumet's raw cgroups, v2): one run-time source per cgroup, found and followed by the
// `cgroup-watcher`. Main thread: metric registration and the watcher's start (keys in config.ts, metrics in
// metrics.ts). Disabled in a generated config: it measures every cgroup of the machine.

import { statSync } from 'node:fs';
import { definePlugin } from '../../agent/plugin-api.js';
import type { CgroupMetrics } from './cgroup.js';
import { cgroupsSchema, type CgroupsConfig } from './config.js';
import { CGROUPS_METRICS } from './metrics.js';
import type { CgroupWatcherConfig } from './watcher.js';

export default definePlugin<CgroupsConfig>({
  name: 'cgroups',
  version: '0.1.0',
  config: cgroupsSchema,
  enabledByDefault: false,
  metrics: CGROUPS_METRICS,

  start(config, ctx) {
    if (config.disable_sources) {
      ctx.log.info({}, 'cgroups: disable_sources = true, so no cgroup is measured (this agent has no cgroup observer that would use the plugin otherwise)');
      return;
    }
    if (!isDirectory(config.root)) {
      throw new Error(`root ${JSON.stringify(config.root)} is not a directory: is cgroupfs mounted? Set plugins.cgroups.root to its mount point`);
    }
    const metric = (name: keyof typeof CGROUPS_METRICS) => ctx.metric(name, CGROUPS_METRICS[name]);
    const metrics: CgroupMetrics = {
      cpuTime: metric('cpu_time_delta'),
      cpuPercent: metric('cpu_percent'),
      memoryUsage: metric('memory_usage'),
      memoryMax: metric('memory_max'),
      swapMax: metric('cgroup_memory_swap_max'),
      swapCurrent: metric('cgroup_memory_swap_current'),
      anonymous: metric('cgroup_memory_anonymous'),
      file: metric('cgroup_memory_file'),
      kernelStack: metric('cgroup_memory_kernel_stack'),
      pagetables: metric('cgroup_memory_pagetables'),
      slabReclaimable: metric('cgroup_slab_reclaimable'),
      pswpin: metric('cgroup_pswpin'),
      pswpout: metric('cgroup_pswpout'),
      ioSome: metric('io_pressure_some_total'),
      ioFull: metric('io_pressure_full_total'),
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
