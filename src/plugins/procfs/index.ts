// The procfs plugin: system-wide CPU, memory and network measurements read from /proc, and one source per
// process. Main thread: cross-key checks, metric registration, and one source per enabled part (kernel.ts,
// memory.ts, network.ts, and the process watcher: processes-start.ts). Keys in config.ts, metrics in
// metrics.ts.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { closest, definePlugin, userHz } from '../../agent/plugin-api.js';
import { DEFAULT_MEMINFO_METRICS, procfsSchema, type ProcfsConfig } from './config.js';
import type { KernelSourceConfig } from './kernel.js';
import type { MemorySourceConfig } from './memory.js';
import { PROCFS_METRICS } from './metrics.js';
import type { NetworkSourceConfig } from './network.js';
import { KNOWN_MEMINFO_KEYS, parseMeminfo, snakeCase } from './parse.js';
import { checkProcesses, startProcesses } from './processes-start.js';

/** meminfo keys that exist: the kernel's own file when readable, plus the keys of every known kernel. */
function meminfoKeys(root: string): Set<string> {
  const keys = new Set(KNOWN_MEMINFO_KEYS);
  try {
    for (const k of parseMeminfo(readFileSync(join(root, 'meminfo'), 'latin1')).keys()) keys.add(k);
  } catch {
    // not Linux, or a root that does not exist yet: the embedded list is enough to catch typos
  }
  return keys;
}

function trigger(part: { poll_interval: string; flush_interval?: string | undefined }) {
  return part.flush_interval === undefined
    ? { poll_interval: part.poll_interval }
    : { poll_interval: part.poll_interval, flush_interval: part.flush_interval };
}

export default definePlugin<ProcfsConfig>({
  name: 'procfs',
  version: '0.1.0',
  config: procfsSchema,
  enabledByDefault: true,
  metrics: PROCFS_METRICS,

  check(config, problems) {
    if (config.processes.enabled) checkProcesses(config.processes, problems);
    if (!config.memory.enabled) return;
    const keys = meminfoKeys(config.root);
    config.memory.metrics.forEach((entry, i) => {
      if (keys.has(entry)) return;
      const hint = closest(entry, keys);
      problems.add(
        `memory.metrics[${i}]`,
        `"${entry}" is not a /proc/meminfo entry${hint ? `; did you mean "${hint}"?` : ''} (entries are spelled as in the file, e.g. ${DEFAULT_MEMINFO_METRICS.slice(0, 3).join(', ')}, SReclaimable)`,
      );
    });
  },

  start(config, ctx) {
    const metric = (name: keyof typeof PROCFS_METRICS) => ctx.metric(name, PROCFS_METRICS[name]);
    if (config.kernel.enabled) {
      const element: KernelSourceConfig = {
        root: config.root,
        userHz: userHz(),
        metrics: {
          cpuTime: metric('kernel_cpu_time'),
          contextSwitches: metric('kernel_context_switches'),
          newForks: metric('kernel_new_forks'),
          procsRunning: metric('kernel_n_procs_running'),
          procsBlocked: metric('kernel_n_procs_blocked'),
        },
      };
      ctx.source('kernel', new URL('./kernel.js', import.meta.url), element, trigger(config.kernel));
    }
    if (config.memory.enabled) {
      const element: MemorySourceConfig = {
        root: config.root,
        // A key listed twice would give every point twice.
        entries: [...new Set(config.memory.metrics)].map((key) => ({
          key,
          metric: ctx.metric(snakeCase(key), { ...PROCFS_METRICS['<entry>'], description: `${key} in /proc/meminfo` }),
        })),
      };
      ctx.source('memory', new URL('./memory.js', import.meta.url), element, trigger(config.memory));
    }
    if (config.network.enabled) {
      const element: NetworkSourceConfig = {
        root: config.root,
        metrics: {
          bytes: metric('network_bytes'),
          packets: metric('network_packets'),
          drops: metric('network_packet_drops'),
          errors: metric('network_errors'),
        },
      };
      ctx.source('network', new URL('./network.js', import.meta.url), element, trigger(config.network));
    }
    startProcesses(config.root, config.processes, ctx);
  },
});
