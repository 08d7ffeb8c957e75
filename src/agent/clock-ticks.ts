// USER_HZ, the unit of the tick counts in /proc/stat and /proc/PID/stat. Main thread: procfs reads it once
// at start and gives it to its sources in their config; `exec` reads its children's CPU time in it.

import { execFileSync } from 'node:child_process';

/** The kernel's USER_HZ: 100 on every mainstream architecture, so that is the fallback. */
export const DEFAULT_USER_HZ = 100;

let cached: number | undefined;

/** Reads USER_HZ with `getconf CLK_TCK` the first time, falling back to 100 when getconf is unavailable. */
export function userHz(): number {
  if (cached !== undefined) return cached;
  cached = DEFAULT_USER_HZ;
  try {
    const out = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
    const hz = Number(out.trim());
    if (Number.isInteger(hz) && hz > 0) cached = hz;
  } catch {
    // no getconf (minimal container): the fallback is right on every mainstream architecture
  }
  return cached;
}
