// The procfs plugin: system-wide CPU, memory and network measurements read from /proc. Main thread: config
// schema and checks, metric registration, and one source per enabled part (kernel.ts, memory.ts, network.ts).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { definePlugin } from '../../agent/plugin-api.js';
import { t, type Infer } from '../../agent/config/schema.js';
import { closest } from '../../protocol/suggest.js';
import { userHz } from './clock-ticks.js';
import type { KernelSourceConfig } from './kernel.js';
import type { MemorySourceConfig } from './memory.js';
import type { NetworkSourceConfig } from './network.js';
import { KNOWN_MEMINFO_KEYS, parseMeminfo, snakeCase } from './parse.js';
import { checkProcesses, processesSchema, startProcesses } from './processes-config.js';

/** Alumet's default `memory.metrics`. */
export const DEFAULT_MEMINFO_METRICS: readonly string[] = Object.freeze([
  'MemTotal',
  'MemFree',
  'MemAvailable',
  'Cached',
  'SwapCached',
  'Active',
  'Inactive',
  'Mapped',
]);

const periodic = () => ({
  /** Whether this source runs. */
  enabled: t.bool(true),
  /** Time between two reads of the file. */
  poll_interval: t.duration('5s', { min: '100us' }),
  /** Time between two batches sent downstream (default: one batch per poll). */
  flush_interval: t.optional(t.duration('5s', { min: '100us' })),
});

const schema = t.table({
  /** Where procfs is mounted; tests point it at a fake tree. */
  root: t.string('/proc', { nonEmpty: true }),
  kernel: t.table(periodic()),
  memory: t.table({
    ...periodic(),
    /** /proc/meminfo entries to measure, spelled as in the file. */
    metrics: t.list(t.string('', { nonEmpty: true }), [...DEFAULT_MEMINFO_METRICS]),
  }),
  network: t.table(periodic()),
  /** One source per process (`pid-<pid>`), found by the `process-watcher`: see processes-config.ts. */
  processes: processesSchema,
});

export type ProcfsConfig = Infer<typeof schema>;

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
  config: schema,

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
    if (config.kernel.enabled) {
      const element: KernelSourceConfig = {
        root: config.root,
        userHz: userHz(),
        metrics: {
          cpuTime: ctx.metric('kernel_cpu_time', { type: 'u64', unit: 'ms', description: 'busy CPU time' }),
          contextSwitches: ctx.metric('kernel_context_switches', { type: 'u64', unit: '1', description: 'number of context switches' }),
          newForks: ctx.metric('kernel_new_forks', { type: 'u64', unit: '1', description: 'number of fork operations' }),
          procsRunning: ctx.metric('kernel_n_procs_running', { type: 'u64', unit: '1', description: 'number of processes in a runnable state' }),
          procsBlocked: ctx.metric('kernel_n_procs_blocked', { type: 'u64', unit: '1', description: 'number of processes blocked on I/O' }),
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
          metric: ctx.metric(snakeCase(key), { type: 'u64', unit: 'By', description: `${key} in /proc/meminfo` }),
        })),
      };
      ctx.source('memory', new URL('./memory.js', import.meta.url), element, trigger(config.memory));
    }
    if (config.network.enabled) {
      const element: NetworkSourceConfig = {
        root: config.root,
        metrics: {
          bytes: ctx.metric('network_bytes', { type: 'u64', unit: 'By', description: 'number of bytes (rx/tx) per interface' }),
          packets: ctx.metric('network_packets', { type: 'u64', unit: '1', description: 'number of packets (rx/tx) per interface' }),
          drops: ctx.metric('network_packet_drops', { type: 'u64', unit: '1', description: 'number of dropped packets (rx/tx) per interface' }),
          errors: ctx.metric('network_errors', { type: 'u64', unit: '1', description: 'number of errors (rx/tx) per interface' }),
        },
      };
      ctx.source('network', new URL('./network.js', import.meta.url), element, trigger(config.network));
    }
    startProcesses(config.root, config.processes, ctx);
  },
});
