// Output files the agent has claimed (main thread). Before any output opens a file, the plugin that will
// write it claims it here: the directory must exist and be writable, and a lock file beside it
// (`<file>.lock`, holding the agent's PID and the kernel's start time of that process) proves that no other
// live agent writes it. Node has no flock(2); a lock file also survives as evidence after a crash, and is
// recognised as stale when its PID is gone or now belongs to another process. Claims are released at exit.

import { accessSync, closeSync, constants, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { StartupError } from './startup-error.js';
import type { Logger } from '../protocol/logging.js';

interface Holder {
  readonly pid: number;
  /** Field 22 of /proc/PID/stat: tells a PID's reuse by another process apart from its first owner. */
  readonly startTime: string | undefined;
}

export class OutputFiles {
  readonly #log: Logger;
  /** Lock file paths this agent holds, by the output file's absolute path. */
  readonly #held = new Map<string, string>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /**
   * Makes sure `path` can be written by this agent alone, or throws a StartupError naming the file and what
   * is wrong. Changes nothing at `path` itself; `what` names the key in messages (`plugins.csv.output_path`).
   */
  claim(path: string, what: string): void {
    const file = resolve(path);
    if (this.#held.has(file)) throw new StartupError(`${what}: ${JSON.stringify(path)} is already written by another output of this agent`);
    checkWritable(file, path, what);
    const lock = `${file}.lock`;
    for (let attempt = 0; ; attempt++) {
      if (tryCreateLock(lock, what, path)) break;
      const holder = readHolder(lock);
      if (holder !== undefined && isAlive(holder)) {
        throw new StartupError(
          `${what}: ${JSON.stringify(path)} is being written by another alumet agent (PID ${holder.pid}); ` +
            `stop that agent or choose another file (lock file: ${lock})`,
        );
      }
      // A lock whose writer died (a crash, SIGKILL): ours to take. If another agent takes it between our
      // unlink and our create, the second attempt sees its live PID.
      if (attempt > 0) throw new StartupError(`${what}: cannot take the lock file ${lock} of ${JSON.stringify(path)}`);
      this.#log.warn(`${lock}: removing a stale lock left by PID ${holder?.pid ?? '?'}, which is no longer running`);
      try {
        unlinkSync(lock);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new StartupError(`${what}: cannot remove the stale lock file ${lock}: ${(e as Error).message}`);
      }
    }
    this.#held.set(file, lock);
  }

  /** Removes every lock this agent holds (only those that still name this process). */
  releaseAll(): void {
    for (const lock of this.#held.values()) {
      try {
        if (readHolder(lock)?.pid === process.pid) unlinkSync(lock);
      } catch {
        // Already gone: nothing to release.
      }
    }
    this.#held.clear();
  }
}

function checkWritable(file: string, given: string, what: string): void {
  const dir = dirname(file);
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch {
    throw new StartupError(`${what}: the directory of ${JSON.stringify(given)} does not exist: ${dir}`);
  }
  if (!dirStat.isDirectory()) throw new StartupError(`${what}: ${dir} (the directory of ${JSON.stringify(given)}) is not a directory`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new StartupError(`${what}: cannot create files in ${dir} (permission denied)`);
  }
  let st;
  try {
    st = statSync(file);
  } catch {
    return; // does not exist yet: the output will create it
  }
  if (st.isDirectory()) throw new StartupError(`${what}: ${JSON.stringify(given)} is a directory, not a file`);
  try {
    accessSync(file, constants.W_OK);
  } catch {
    throw new StartupError(`${what}: ${JSON.stringify(given)} is not writable (permission denied)`);
  }
}

/** Creates the lock file with this process as holder; false if one exists already. */
function tryCreateLock(lock: string, what: string, given: string): boolean {
  let fd: number;
  try {
    fd = openSync(lock, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new StartupError(`${what}: cannot create the lock file of ${JSON.stringify(given)}: ${(e as Error).message}`);
  }
  try {
    writeSync(fd, `${process.pid}\n${processStartTime(process.pid) ?? ''}\nalumet-agent\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readHolder(lock: string): Holder | undefined {
  let text: string;
  try {
    text = readFileSync(lock, 'utf8');
  } catch {
    return undefined;
  }
  const [pid, startTime] = text.split('\n');
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 ? { pid: n, startTime: startTime || undefined } : undefined;
}

function isAlive(holder: Holder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return holder.startTime === undefined || holder.startTime === processStartTime(holder.pid);
}

function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: fields are counted after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
