// Reading the kernel's own files from element modules (worker threads): whole small-file reads, the online
// CPU count, and a consumer's share of the machine's CPU. Shared by the procfs process sources and the
// cgroup sources, which measure the same things from two places; it crosses no thread, so it lives here
// rather than in src/protocol.

import { availableParallelism } from 'node:os';
import { closeSync, openSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** One buffer per thread: a pool thread reads for hundreds of sources, one file at a time. */
let buffer = Buffer.allocUnsafe(8 * 1024);

/**
 * Reads a whole small file, opened and closed at once: a descriptor kept open per process or cgroup runs
 * into the open-files limit with thousands of them (alumet#65), and would pin a removed cgroup.
 */
export function readSmallFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let total = 0;
    for (;;) {
      if (total === buffer.length) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, total);
        buffer = bigger;
      }
      const n = readSync(fd, buffer, total, buffer.length - total, null);
      if (n === 0) break;
      total += n;
    }
    return buffer.toString('latin1', 0, total);
  } finally {
    closeSync(fd);
  }
}

/** Number of CPUs in a kernel cpulist such as `0-3,8,10-11` (7). An empty list has none. */
export function countCpuList(text: string): number {
  const list = text.trim();
  if (list === '') return 0;
  let n = 0;
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) throw new Error(`cpulist ${JSON.stringify(list)}: expected ranges such as "0-3,8", got ${JSON.stringify(part)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`cpulist ${JSON.stringify(list)}: range ${part} ends before it starts`);
    n += hi - lo + 1;
  }
  return n;
}

const ONLINE_REFRESH_MS = 1000;
let online: { path: string; cpus: number; readAtMs: number } | undefined;
let onlineWarned = false;

/**
 * Online CPUs from the kernel's cpulist (CPUs can go offline, so it is read again at most once a second per
 * thread). When the file cannot be read, the CPUs this thread may run on are counted instead, once warned.
 */
export function onlineCpus(path: string, warn: (msg: string) => void): number {
  const now = performance.now();
  if (online !== undefined && online.path === path && now - online.readAtMs < ONLINE_REFRESH_MS) return online.cpus;
  let cpus: number;
  try {
    cpus = countCpuList(readSmallFile(path));
    if (cpus < 1) throw new Error('the list is empty');
  } catch (e) {
    cpus = availableParallelism();
    if (!onlineWarned) {
      onlineWarned = true;
      warn(`cannot count the online CPUs from ${path} (${(e as Error).message}); using ${cpus}, the CPUs this agent may run on`);
    }
  }
  online = { path, cpus, readAtMs: now };
  return cpus;
}

/** cpu_percent of a delta: a share of all online CPUs, clamped, because tick-granular times jitter (alumet#387, #403). */
export function cpuPercent(deltaNs: bigint, elapsedNs: bigint, cpus: number): number {
  const p = (Number(deltaNs) / Number(elapsedNs) / cpus) * 100;
  return p > 100 ? 100 : p > 0 ? p : 0;
}
