// File access shared by the process watcher and the pid-N sources: short reads of per-process files into
// one buffer per thread, error classification, and the online-CPU count. Worker threads (a pool thread
// hosts many pid-N sources, so nothing here blocks beyond a small synchronous read).

import { availableParallelism } from 'node:os';
import { closeSync, openSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { countCpuList } from './process-parse.js';

let buffer = Buffer.allocUnsafe(8 * 1024);

/**
 * Reads a whole small file (opened and closed at once: keeping one descriptor per process open runs into
 * the open-files limit with thousands of processes, alumet#65).
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

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** The process (or its /proc directory) is gone: it exited, or was reaped, between two reads. */
export function isGone(e: unknown): boolean {
  const c = code(e);
  return c === 'ENOENT' || c === 'ESRCH' || c === 'ENOTDIR';
}

/** Reading needs rights the agent lacks (another user's process under hidepid, or ptrace-protected files). */
export function isDenied(e: unknown): boolean {
  const c = code(e);
  return c === 'EACCES' || c === 'EPERM';
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
