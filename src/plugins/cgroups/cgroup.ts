// The per-cgroup source of the cgroups plugin: CPU, memory and I/O pressure of one cgroup v2 directory.
// Created at run time by the cgroup watcher; runs on a shared pool thread next to many others, so a poll
// only reads small files.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { SourceEnded, defineSource, type Attributes, type BatchBuilder, type MetricHandle, type ResourceRef, type Timestamp } from '../../protocol/element-api.js';
import { cpuPercent, onlineCpus, readSmallFile } from '../shared/kernel-files.js';
import { CgroupParseError, counterDelta, parseFlatKeyed, parseLimit, parsePressure, parseSingleValue } from './parse.js';

export interface CgroupMetrics {
  cpuTime: MetricHandle;
  cpuPercent: MetricHandle;
  memoryUsage: MetricHandle;
  memoryMax: MetricHandle;
  swapMax: MetricHandle;
  swapCurrent: MetricHandle;
  anonymous: MetricHandle;
  file: MetricHandle;
  kernelStack: MetricHandle;
  pagetables: MetricHandle;
  slabReclaimable: MetricHandle;
  pswpin: MetricHandle;
  pswpout: MetricHandle;
  ioSome: MetricHandle;
  ioFull: MetricHandle;
}

export interface CgroupSourceConfig {
  /** The cgroup's directory. */
  dir: string;
  /** Canonical cgroup path, relative to the v2 mount: `/`, `/system.slice/cron.service`. */
  path: string;
  /** The kernel's list of online CPUs: cpu_percent is a share of all of them. */
  cpuOnlinePath: string;
  metrics: CgroupMetrics;
}

const attrs = (kind: string): Attributes => Object.freeze([Object.freeze(['kind', kind] as const)]);
const TOTAL = attrs('total');
const USER = attrs('user');
const SYSTEM = attrs('system');

/** memory.stat key → metric; values are bytes except the two swap counters (pages swapped in and out). */
const MEMORY_STAT: ReadonlyArray<readonly [string, keyof CgroupMetrics]> = [
  ['anon', 'anonymous'],
  ['file', 'file'],
  ['kernel_stack', 'kernelStack'],
  ['pagetables', 'pagetables'],
  ['slab_reclaimable', 'slabReclaimable'],
  ['pswpin', 'pswpin'],
  ['pswpout', 'pswpout'],
];

/** Files the kernel never creates in the root cgroup (its limits are the machine's): no warning there. */
const ABSENT_AT_ROOT = new Set(['memory.current', 'memory.max', 'memory.swap.current', 'memory.swap.max']);

// Per pool thread: a missing file (a controller not enabled for a subtree) is warned about once, not once
// per cgroup.
const warnedFiles = new Set<string>();

interface Counters {
  tsNs: bigint;
  usage?: bigint;
  user?: bigint;
  system?: bigint;
  ioSome?: bigint;
  ioFull?: bigint;
}

export default defineSource<CgroupSourceConfig>((config, ctx) => {
  const m = config.metrics;
  const consumer: ResourceRef = Object.freeze({ kind: 'cgroup', id: config.path });
  const opts = { consumer };
  const isRoot = config.path === '/';
  let prev: Counters | undefined;

  /** Files found missing during the current poll, reported together at its end. */
  let missing: string[] = [];

  /** A file's text, or undefined when it is missing; a vanished cgroup ends the source. */
  const read = (file: string): string | undefined => {
    const path = join(config.dir, file);
    try {
      return readSmallFile(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENODEV' || code === 'ENOTDIR') {
        if (!dirExists(config.dir)) throw new SourceEnded(`cgroup ${config.path} was removed`);
        if (!(isRoot && ABSENT_AT_ROOT.has(file))) missing.push(file);
        return undefined;
      }
      throw new Error(`${path}: cannot read: ${(e as Error).message}`);
    }
  };
  let lastMissing = '';
  const reportMissing = () => {
    // Said when the set of missing files changes, not at every poll.
    const key = missing.join(',');
    if (key === lastMissing) return;
    lastMissing = key;
    if (missing.length === 0) return;
    const fresh = missing.filter((f) => !warnedFiles.has(f));
    const msg = `cgroup ${config.path}: no ${missing.join(', ')} in ${config.dir}; the metrics they feed are not measured`;
    if (fresh.length === 0) ctx.log.debug({ dir: config.dir }, msg);
    else {
      for (const f of fresh) warnedFiles.add(f);
      ctx.log.warn({ dir: config.dir }, `${msg} (is the controller enabled in the parent's cgroup.subtree_control? said once per file, then at debug level)`);
    }
  };
  const parse = <T>(file: string, parser: (text: string) => T): T | undefined => {
    const text = read(file);
    if (text === undefined) return undefined;
    try {
      return parser(text);
    } catch (e) {
      if (e instanceof CgroupParseError) throw new Error(`${join(config.dir, file)}: ${e.message}`);
      throw e;
    }
  };

  const pollCpu = (out: BatchBuilder, ts: Timestamp, now: Counters) => {
    const stat = parse('cpu.stat', parseFlatKeyed);
    if (stat === undefined) return;
    now.usage = stat.get('usage_usec');
    now.user = stat.get('user_usec');
    now.system = stat.get('system_usec');
    if (prev === undefined) return; // the first reading is the baseline
    const elapsedNs = now.tsNs - prev.tsNs;
    const cpus = elapsedNs > 0n ? onlineCpus(config.cpuOnlinePath, (msg) => ctx.log.warn({ path: config.cpuOnlinePath }, msg)) : 0;
    const emit = (before: bigint | undefined, after: bigint | undefined, attributes: Attributes) => {
      if (before === undefined || after === undefined) return;
      const ns = counterDelta(before, after) * 1000n; // the kernel counts µs
      out.push(m.cpuTime, ts, ns, { consumer, attributes });
      if (elapsedNs > 0n) out.push(m.cpuPercent, ts, cpuPercent(ns, elapsedNs, cpus), { consumer, attributes });
    };
    emit(prev.usage, now.usage, TOTAL);
    emit(prev.user, now.user, USER);
    emit(prev.system, now.system, SYSTEM);
  };

  const pollMemory = (out: BatchBuilder, ts: Timestamp) => {
    const current = parse('memory.current', parseSingleValue);
    if (current !== undefined) out.push(m.memoryUsage, ts, current, opts);
    const max = parse('memory.max', parseLimit);
    if (max !== undefined) out.push(m.memoryMax, ts, max, opts);
    const swapCurrent = parse('memory.swap.current', parseSingleValue);
    if (swapCurrent !== undefined) out.push(m.swapCurrent, ts, swapCurrent, opts);
    const swapMax = parse('memory.swap.max', parseLimit);
    if (swapMax !== undefined) out.push(m.swapMax, ts, swapMax, opts);
    const stat = parse('memory.stat', parseFlatKeyed);
    if (stat !== undefined) {
      for (const [key, metric] of MEMORY_STAT) {
        const v = stat.get(key);
        if (v !== undefined) out.push(m[metric], ts, v, opts);
      }
    }
  };

  const pollIo = (out: BatchBuilder, ts: Timestamp, now: Counters) => {
    const pressure = parse('io.pressure', parsePressure);
    if (pressure === undefined) return;
    now.ioSome = pressure.some;
    now.ioFull = pressure.full;
    if (prev?.ioSome !== undefined) out.push(m.ioSome, ts, counterDelta(prev.ioSome, pressure.some), opts);
    if (prev?.ioFull !== undefined && pressure.full !== undefined) out.push(m.ioFull, ts, counterDelta(prev.ioFull, pressure.full), opts);
  };

  return {
    poll(out, ts) {
      const now: Counters = { tsNs: BigInt(ts.sec) * 1_000_000_000n + BigInt(ts.nsec) };
      missing = [];
      pollCpu(out, ts, now);
      pollMemory(out, ts);
      pollIo(out, ts, now);
      prev = now;
      reportMissing();
    },
    // No reset on pause: the baseline is kept, so the first delta after resume covers the pause.
  };
});

function dirExists(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
