// How reading a per-process file failed, for the process watcher and the pid-N sources: the process is gone,
// or the agent may not read it. (The reads themselves are in ../shared/kernel-files.ts.) Worker threads.

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

