// The `processes` part of the procfs plugin on the main thread: its config keys (Alumet's), their checks,
// and the start of the process watcher with the metrics the pid-N sources share with cgroups.

import { execFileSync } from 'node:child_process';
import { t, type Infer, type Problems } from '../../agent/config/schema.js';
import type { PluginStartContext } from '../../agent/plugin-api.js';
import { userHz } from './clock-ticks.js';
import type { ProcessCommonConfig } from './process.js';
import type { ProcessGroup, ProcessSettings, ProcessWatcherConfig } from './processes.js';

const MEMORY_MODES = ['quick', 'slow_but_accurate'] as const;

const settings = (poll: string, flush: string) => ({
  /** Time between two polls of each process. */
  poll_interval: t.duration(poll, { min: '1ms' }),
  /** Time between two batches a process source sends downstream. */
  flush_interval: t.duration(flush, { min: '1ms' }),
  /** `quick` reads statm; `slow_but_accurate` reads smaps_rollup and adds the proportional set size. */
  memory_mode: t.oneOf(MEMORY_MODES, 'quick'),
});

const group = t.table({
  /** Only the process with this pid. */
  pid: t.optional(t.int(1, { min: 1 })),
  /** Only the children of this process. */
  ppid: t.optional(t.int(1, { min: 0 })),
  /**
   * Only processes whose executable path (the /proc/<pid>/exe link) contains a match of this regular
   * expression. Empty means any process, as in the Rust agent's default config (even those whose exe
   * cannot be read, such as kernel threads).
   */
  exe_regex: t.optional(t.string('')),
  ...settings('2s', '4s'),
});

export const processesSchema = t.table({
  /** Measure processes. */
  enabled: t.bool(true),
  /** Time between two scans of /proc for new and finished processes (the watcher's poll interval). */
  refresh_interval: t.duration('2s', { min: '1ms' }),
  /** `watcher` follows every process that a group accepts; `event` only those the agent announces (`exec`, `watch`). */
  strategy: t.oneOf(['watcher', 'event'] as const, 'watcher'),
  /** Which processes to follow and how; a process goes to the first group that accepts it. */
  groups: t.list(group, [group.defaultValue()]),
  /** How the processes announced by the agent are polled (event strategy). */
  events: t.table(settings('1s', '4s')),
});

export type ProcessesConfig = Infer<typeof processesSchema>;

/** Checks that each `exe_regex` compiles (the schema checked each key alone). */
export function checkProcesses(config: ProcessesConfig, problems: Problems, path = 'processes'): void {
  config.groups.forEach((g, i) => {
    if (g.exe_regex === undefined) return;
    try {
      new RegExp(g.exe_regex);
    } catch (e) {
      problems.add(`${path}.groups[${i}].exe_regex`, `${JSON.stringify(g.exe_regex)} is not a valid regular expression: ${(e as Error).message}`);
    }
  });
}

const DEFAULT_PAGE_SIZE = 4096;
let pageSize: number | undefined;

/** Bytes per memory page, from `getconf PAGESIZE` (4096 when getconf is unavailable). */
export function memoryPageSize(): number {
  if (pageSize !== undefined) return pageSize;
  pageSize = DEFAULT_PAGE_SIZE;
  try {
    const n = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    if (Number.isInteger(n) && n > 0) pageSize = n;
  } catch {
    // no getconf: 4096 is the page size of x86 and of most arm64 kernels
  }
  return pageSize;
}

/** Registers the per-process metrics (same names, units and types as cgroups, so both share ids). */
export function processMetrics(ctx: Pick<PluginStartContext, 'metric'>): ProcessCommonConfig['metrics'] {
  return {
    cpuTime: ctx.metric('cpu_time_delta', { type: 'u64', unit: 'ns', description: 'CPU time spent by the consumer since the previous measurement' }),
    cpuPercent: ctx.metric('cpu_percent', { type: 'f64', unit: '%', description: 'share of all online CPUs used by the consumer since the previous measurement' }),
    memory: ctx.metric('memory_usage', { type: 'u64', unit: 'By', description: 'memory used by the consumer' }),
  };
}

/** Starts the process watcher (`source/procfs/process-watcher`) when `processes.enabled`. */
export function startProcesses(root: string, config: ProcessesConfig, ctx: PluginStartContext): void {
  if (!config.enabled) return;
  const toSettings = (s: { poll_interval: string; flush_interval: string; memory_mode: 'quick' | 'slow_but_accurate' }): ProcessSettings => ({
    poll_interval: s.poll_interval,
    flush_interval: s.flush_interval,
    memoryMode: s.memory_mode,
  });
  const groups = config.groups.map((g): ProcessGroup => {
    const out: ProcessGroup = toSettings(g);
    if (g.pid !== undefined) out.pid = g.pid;
    if (g.ppid !== undefined) out.ppid = g.ppid;
    if (g.exe_regex !== undefined) out.exeRegex = g.exe_regex;
    return out;
  });
  const watcher: ProcessWatcherConfig = {
    strategy: config.strategy,
    groups,
    events: toSettings(config.events),
    process: { root, userHz: userHz(), pageSize: memoryPageSize(), cpuOnlinePath: '/sys/devices/system/cpu/online', metrics: processMetrics(ctx) },
  };
  ctx.source('process-watcher', new URL('./processes.js', import.meta.url), watcher, { poll_interval: config.refresh_interval });
}
