// The `process-watcher` source of procfs: finds the processes to measure and gives each one a run-time
// source `pid-<pid>` (process.ts) on the shared pool. It emits no points. Runs in its own worker thread.

import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { defineSource, type ConsumerEvent, type ElementContext } from '../../protocol/element-api.js';
import type { ProcessGroupConfig, ProcessSettingsConfig, ProcessesConfig } from './config.js';
import { isDenied, isGone } from './process-files.js';
import { readSmallFile } from '../shared/kernel-files.js';
import { parseProcessStat, type ProcessStat } from './process-parse.js';
import type { ProcessCommonConfig, ProcessSourceConfig } from './process.js';

/** How the pid-N sources of a set of processes are polled: a group's or `processes.events`' keys. */
export type ProcessSettings = Pick<ProcessSettingsConfig, 'poll_interval' | 'flush_interval'> & {
  memoryMode: ProcessSettingsConfig['memory_mode'];
};

/** A `processes.groups` entry: unset criteria match every process. */
export type ProcessGroup = ProcessSettings &
  Pick<ProcessGroupConfig, 'pid' | 'ppid'> & {
    /** `exe_regex`: searched for (not anchored) in the target of /proc/<pid>/exe. */
    exeRegex?: ProcessGroupConfig['exe_regex'];
  };

export interface ProcessWatcherConfig {
  /** `watcher`: scan /proc on every poll; `event`: follow only the processes the agent announces. */
  strategy: ProcessesConfig['strategy'];
  groups: ProcessGroup[];
  events: ProcessSettings;
  process: ProcessCommonConfig;
}

const PROCESS_MODULE = new URL('./process.js', import.meta.url).href;
const PID_NAME = /^[1-9]\d*$/;
/**
 * Scans during which a reused pid's new source is asked for again. The supervisor ignores a name that is
 * still registered, and the old source's removal (final flush included) may outlast one scan.
 */
const READD_SCANS = 3;

type Tracked =
  | { readonly state: 'ignored'; readonly starttime: bigint }
  | { readonly state: 'followed'; readonly starttime: bigint }
  | { readonly state: 'readding'; readonly starttime: bigint; readonly group: ProcessGroup; scansLeft: number };

export const sourceName = (pid: number): string => `pid-${pid}`;

export default defineSource<ProcessWatcherConfig>((config, ctx) => {
  const root = config.process.root;
  // An empty exe_regex (the Rust agent's default config has one) means any process, even one with no
  // readable executable, like no exe_regex at all.
  const groups = config.groups.map((g) => ({ ...g, regex: g.exeRegex === undefined || g.exeRegex === '' ? undefined : new RegExp(g.exeRegex) }));
  const warnedOnce = new Set<string>();
  const once = (key: string, obj: object, msg: string) => {
    if (warnedOnce.has(key)) ctx.log.debug(obj, msg);
    else {
      warnedOnce.add(key);
      ctx.log.warn(obj, `${msg} (logged once; further cases at debug level)`);
    }
  };

  const add = (pid: number, starttime: bigint | undefined, settings: ProcessSettings) => {
    const element: ProcessSourceConfig = { ...config.process, pid, memoryMode: settings.memoryMode };
    if (starttime !== undefined) element.starttime = String(starttime);
    ctx.runtime.add({ element: sourceName(pid), module: PROCESS_MODULE, config: element, poll_interval: settings.poll_interval, flush_interval: settings.flush_interval });
  };

  /** Reads /proc/<pid>/stat; undefined when the process is gone or cannot be read (said once). */
  const readStat = (pid: number): ProcessStat | undefined => {
    const path = join(root, String(pid), 'stat');
    let text: string;
    try {
      text = readSmallFile(path);
    } catch (e) {
      if (isDenied(e)) once('stat', { pid, path }, `${path}: permission denied; process ${pid} is skipped (is /proc mounted with hidepid?)`);
      else if (!isGone(e)) once('stat-error', { pid, path }, `${path}: ${(e as Error).message}; process ${pid} is skipped`);
      return undefined;
    }
    if (text === '') return undefined; // exited while the kernel printed it
    try {
      return parseProcessStat(text);
    } catch (e) {
      once('stat-parse', { pid, path }, `${path}: ${(e as Error).message}; process ${pid} is skipped`);
      return undefined;
    }
  };

  const readExe = (pid: number): string | undefined => {
    const path = join(root, String(pid), 'exe');
    try {
      return readlinkSync(path);
    } catch (e) {
      // Kernel threads have no executable (ENOENT); other users' processes need CAP_SYS_PTRACE.
      if (isDenied(e)) once('exe', { pid, path }, `${path}: permission denied, so exe_regex cannot match process ${pid} (reading other users' executables needs CAP_SYS_PTRACE)`);
      return undefined;
    }
  };

  /** The first group that accepts the process. */
  const match = (pid: number, stat: ProcessStat): ProcessGroup | undefined => {
    let exe: string | undefined | null = null; // null: not read yet
    for (const g of groups) {
      if (g.pid !== undefined && g.pid !== pid) continue;
      if (g.ppid !== undefined && g.ppid !== stat.ppid) continue;
      if (g.regex !== undefined) {
        if (exe === null) exe = readExe(pid);
        if (exe === undefined || !g.regex.test(exe)) continue;
      }
      return g;
    }
    return undefined;
  };

  const tracked = new Map<number, Tracked>();

  const scan = () => {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch (e) {
      throw new Error(`${root}: cannot list the processes: ${(e as Error).message}; is procfs mounted there (key "root")?`);
    }
    const seen = new Set<number>();
    for (const name of names) {
      if (!PID_NAME.test(name)) continue;
      const pid = Number(name);
      const stat = readStat(pid);
      if (stat === undefined) continue;
      seen.add(pid);
      const known = tracked.get(pid);
      if (known !== undefined && known.starttime === stat.starttime) {
        if (known.state === 'followed') continue;
        if (known.state === 'readding') {
          add(pid, known.starttime, known.group);
          if (--known.scansLeft === 0) tracked.set(pid, { state: 'followed', starttime: known.starttime });
          continue;
        }
        // Ignored so far: matched again, as an exec changes the executable and reparenting the ppid.
      }
      // Same pid, another start time: the process we followed is gone and the pid was given to a new one.
      const reused = known !== undefined && known.state !== 'ignored' && known.starttime !== stat.starttime;
      if (reused) {
        ctx.log.debug({ pid }, `pid ${pid} was reused; replacing ${sourceName(pid)}`);
        ctx.runtime.remove(sourceName(pid));
      }
      const group = match(pid, stat);
      if (group === undefined) tracked.set(pid, { state: 'ignored', starttime: stat.starttime });
      else if (reused) tracked.set(pid, { state: 'readding', starttime: stat.starttime, group, scansLeft: READD_SCANS });
      else {
        add(pid, stat.starttime, group);
        tracked.set(pid, { state: 'followed', starttime: stat.starttime });
      }
    }
    for (const [pid, t] of tracked) {
      if (seen.has(pid)) continue;
      // Usually the source has already ended itself; removing again is harmless.
      if (t.state !== 'ignored') ctx.runtime.remove(sourceName(pid));
      tracked.delete(pid);
    }
  };

  let closed = false;
  // Processes the agent announces (exec's child, watch's pid) are followed at once in both strategies: a
  // short-lived child would otherwise end before the next scan finds it.
  ctx.runtime.onConsumerEvent((event) => {
    if (closed) return;
    onEvent(event, config, ctx, (pid, starttime, settings) => {
      add(pid, starttime, settings);
      if (config.strategy === 'watcher' && starttime !== undefined) tracked.set(pid, { state: 'followed', starttime });
    });
  });

  return {
    poll() {
      if (config.strategy === 'watcher') scan();
    },
    close() {
      // A restarted watcher registers a new listener; this one must go quiet.
      closed = true;
    },
  };
});

/** Event strategy: a `start` of a process consumer creates its source (first poll at once), an `end` removes it. */
function onEvent(
  event: ConsumerEvent,
  config: ProcessWatcherConfig,
  ctx: ElementContext,
  add: (pid: number, starttime: bigint | undefined, settings: ProcessSettings) => void,
): void {
  for (const c of event.consumers) {
    if (c.kind !== 'process') continue;
    if (!PID_NAME.test(c.id) || !Number.isSafeInteger(Number(c.id))) {
      ctx.log.warn({ consumer: c }, `consumer event names process "${c.id}", which is not a pid; ignored`);
      continue;
    }
    const pid = Number(c.id);
    if (event.type === 'end') {
      ctx.runtime.remove(sourceName(pid));
      continue;
    }
    let starttime: bigint | undefined;
    try {
      starttime = parseProcessStat(readSmallFile(join(config.process.root, c.id, 'stat'))).starttime;
    } catch {
      // Gone already or unreadable: the source finds out at its first poll and ends quietly.
    }
    add(pid, starttime, config.events);
  }
}
