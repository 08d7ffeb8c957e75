// File access shared by the process watcher and the pid-N sources: short reads of per-process files into
// one buffer per thread, error classification, and the online-CPU count. Worker threads (a pool thread
// hosts many pid-N sources, so nothing here blocks beyond a small synchronous read).

export { cpuPercent, onlineCpus, readSmallFile } from '../shared/kernel-files.js';

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

