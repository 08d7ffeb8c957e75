// The procfs plugin's `[plugins.procfs]` keys and defaults (Alumet's, plus `root`), and the config types they
// give. Imported by the definition (main thread) and, as types only, by the element modules (worker threads).

import { t, type Infer } from '../../agent/plugin-api.js';

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

const MEMORY_MODES = ['quick', 'slow_but_accurate'] as const;

/** How the pid-N sources of a set of processes are polled. */
const processSettings = (poll: string, flush: string) => ({
  /** Time between two polls of each process. */
  poll_interval: t.duration(poll, { min: '1ms' }),
  /** Time between two batches a process source sends downstream. */
  flush_interval: t.duration(flush, { min: '1ms' }),
  /** `quick` reads statm; `slow_but_accurate` reads smaps_rollup and adds the proportional set size. */
  memory_mode: t.oneOf(MEMORY_MODES, 'quick'),
});

const processGroup = t.table({
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
  ...processSettings('10s', '10s'),
});

/** `[plugins.procfs.processes]`: one source per process (`pid-<pid>`), found by the `process-watcher`. */
export const processesSchema = t.table({
  /** Measure processes. */
  enabled: t.bool(true),
  /** Time between two scans of /proc for new and finished processes (the watcher's poll interval). */
  refresh_interval: t.duration('2s', { min: '1ms' }),
  /** `watcher` follows every process that a group accepts; `event` only those the agent announces (`exec`, `watch`). */
  strategy: t.oneOf(['watcher', 'event'] as const, 'watcher'),
  /** Which processes to follow and how; a process goes to the first group that accepts it. */
  groups: t.list(processGroup, [processGroup.defaultValue()]),
  /** How the processes announced by the agent are polled (event strategy). */
  events: t.table(processSettings('1s', '4s')),
});

export const procfsSchema = t.table({
  /** Where procfs is mounted; tests point it at a fake tree. */
  root: t.string('/proc', { nonEmpty: true }),
  kernel: t.table(periodic()),
  memory: t.table({
    ...periodic(),
    /** /proc/meminfo entries to measure, spelled as in the file. */
    metrics: t.list(t.string('', { nonEmpty: true }), [...DEFAULT_MEMINFO_METRICS]),
  }),
  network: t.table(periodic()),
  processes: processesSchema,
});

/** `[plugins.procfs]` with its defaults filled in. */
export type ProcfsConfig = Infer<typeof procfsSchema>;
export type ProcessesConfig = Infer<typeof processesSchema>;
/** One `[[plugins.procfs.processes.groups]]` table. */
export type ProcessGroupConfig = Infer<typeof processGroup>;
/** `poll_interval`, `flush_interval` and `memory_mode` of a group, or of `processes.events`. */
export type ProcessSettingsConfig = ProcessesConfig['events'];
export type MemoryMode = ProcessSettingsConfig['memory_mode'];
