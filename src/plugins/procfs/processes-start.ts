// The `processes` part of the procfs definition (main thread): the cross-key checks of
// `[plugins.procfs.processes]` (its keys are in config.ts) and the start of the process watcher with the
// metrics the pid-N sources share with cgroups.

import { execFileSync } from 'node:child_process';
import { userHz, type PluginStartContext, type Problems } from '../../agent/plugin-api.js';
import type { ProcessSettingsConfig, ProcessesConfig } from './config.js';
import { PROCFS_METRICS } from './metrics.js';
import type { ProcessCommonConfig } from './process.js';
import type { ProcessGroup, ProcessSettings, ProcessWatcherConfig } from './processes.js';

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
    cpuTime: ctx.metric('cpu_time_delta', PROCFS_METRICS.cpu_time_delta),
    cpuPercent: ctx.metric('cpu_percent', PROCFS_METRICS.cpu_percent),
    memory: ctx.metric('memory_usage', PROCFS_METRICS.memory_usage),
  };
}

/** Starts the process watcher (`source/procfs/process-watcher`) when `processes.enabled`. */
export function startProcesses(root: string, config: ProcessesConfig, ctx: PluginStartContext): void {
  if (!config.enabled) return;
  const toSettings = (s: ProcessSettingsConfig): ProcessSettings => ({
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
