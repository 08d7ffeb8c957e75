// Pure parsers for the per-process files of procfs (/proc/<pid>/stat, statm, smaps_rollup) and for the
// cpulist of /sys/devices/system/cpu/online. No I/O. Runs in the process watcher and the pid-N sources.

import { ProcParseError } from './parse.js';
import { U64_MAX } from '../shared/counter-diff.js';

function u64(word: string | undefined, what: string): bigint {
  if (word === undefined) throw new ProcParseError(`${what}: missing`);
  if (!/^\d+$/.test(word)) throw new ProcParseError(`${what}: expected an unsigned integer, got ${JSON.stringify(word)}`);
  const v = BigInt(word);
  if (v > U64_MAX) throw new ProcParseError(`${what}: ${word} does not fit in 64 bits`);
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// /proc/<pid>/stat

/** The fields of /proc/<pid>/stat that the process sources use. Times are in clock ticks (USER_HZ). */
export interface ProcessStat {
  readonly pid: number;
  /** The executable's name as the kernel keeps it (at most 15 bytes; may hold spaces and parentheses). */
  readonly comm: string;
  /** One letter: R, S, D, Z (zombie), T, t, X (dead), I, … */
  readonly state: string;
  readonly ppid: number;
  /** PF_* flags of the task; PF_KTHREAD marks a kernel thread. */
  readonly flags: number;
  readonly utime: bigint;
  readonly stime: bigint;
  /** Time spent running a guest's virtual CPU (already counted in utime); absent before Linux 2.6.24. */
  readonly guestTime: bigint | undefined;
  /** Ticks after boot when the process started: with the pid, what identifies a process over time. */
  readonly starttime: bigint;
  /** Virtual memory size, in bytes. */
  readonly vsize: bigint;
}

// 1-based field numbers of proc_pid_stat(5); fields after comm are counted from state (field 3).
const F_STATE = 3;
const F_PPID = 4;
const F_FLAGS = 9;
const F_UTIME = 14;
const F_STIME = 15;
const F_STARTTIME = 22;
const F_VSIZE = 23;
const F_GUEST_TIME = 43;

/**
 * Parses /proc/<pid>/stat. `comm` may contain spaces and parentheses (`(sd-pam)`, `a) (b`), so it is taken
 * between the first `(` and the LAST `)`; every other field is a plain word after it.
 */
export function parseProcessStat(text: string): ProcessStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open === -1 || close < open) throw new ProcParseError(`expected "pid (comm) state …", got ${JSON.stringify(text.slice(0, 60))}`);
  const pidWord = text.slice(0, open).trim();
  const pid = Number(u64(pidWord, 'pid'));
  const comm = text.slice(open + 1, close);
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const field = (n: number): string | undefined => rest[n - F_STATE];
  if (rest.length < F_VSIZE - F_STATE + 1) {
    throw new ProcParseError(`expected at least ${F_VSIZE} fields (up to vsize), got ${rest.length + 2}`);
  }
  const state = field(F_STATE)!;
  if (!/^[A-Za-z]$/.test(state)) throw new ProcParseError(`field 3 (state): expected one letter, got ${JSON.stringify(state)}`);
  // ppid is 0 for init and kernel threads' parent; it is never negative.
  const ppid = Number(u64(field(F_PPID), 'field 4 (ppid)'));
  const guestWord = field(F_GUEST_TIME);
  return {
    pid,
    comm,
    state,
    ppid,
    flags: Number(u64(field(F_FLAGS), 'field 9 (flags)')),
    utime: u64(field(F_UTIME), 'field 14 (utime)'),
    stime: u64(field(F_STIME), 'field 15 (stime)'),
    guestTime: guestWord === undefined ? undefined : u64(guestWord, 'field 43 (guest_time)'),
    starttime: u64(field(F_STARTTIME), 'field 22 (starttime)'),
    vsize: u64(field(F_VSIZE), 'field 23 (vsize)'),
  };
}

const PF_KTHREAD = 0x00200000;

/** A kernel thread has no memory of its own: no statm values, and smaps_rollup answers ESRCH. */
export function isKernelThread(stat: ProcessStat): boolean {
  // flags is an unsigned 32-bit word: test the bit without JavaScript's signed bitwise operators.
  return Math.floor(stat.flags / PF_KTHREAD) % 2 === 1;
}

// ---------------------------------------------------------------------------------------------------------
// /proc/<pid>/statm

/** /proc/<pid>/statm, in pages. */
export interface ProcessStatm {
  readonly size: bigint;
  readonly resident: bigint;
  readonly shared: bigint;
}

export function parseStatm(text: string): ProcessStatm {
  const words = text.trim().split(/\s+/);
  if (words.length < 3 || words[0] === '') throw new ProcParseError(`expected "size resident shared text lib data dt" (pages), got ${JSON.stringify(text.trim())}`);
  return { size: u64(words[0], 'size'), resident: u64(words[1], 'resident'), shared: u64(words[2], 'shared') };
}

// ---------------------------------------------------------------------------------------------------------
// /proc/<pid>/smaps_rollup

/** The entries of /proc/<pid>/smaps_rollup used by the `slow_but_accurate` memory mode, in bytes. */
export interface SmapsRollup {
  readonly rss: bigint;
  readonly pss: bigint;
  /** Shared_Clean + Shared_Dirty. */
  readonly shared: bigint;
}

const ROLLUP_KEYS = ['Rss', 'Pss', 'Shared_Clean', 'Shared_Dirty'] as const;

/**
 * Parses /proc/<pid>/smaps_rollup: a header line (the address range and `[rollup]`), then `Key: value kB`
 * lines. The kernel's kB are KiB. A kernel thread has an empty file: every entry is then 0.
 */
export function parseSmapsRollup(text: string): SmapsRollup {
  const found = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const key = line.slice(0, colon);
    if (!(ROLLUP_KEYS as readonly string[]).includes(key)) continue;
    const words = line.slice(colon + 1).trim().split(/\s+/);
    const value = u64(words[0], key);
    if (words.length !== 2 || words[1] !== 'kB') throw new ProcParseError(`${key}: expected "<number> kB", got ${JSON.stringify(line.slice(colon + 1).trim())}`);
    found.set(key, value * 1024n);
  }
  if (text.trim() !== '') {
    const missing = ROLLUP_KEYS.filter((k) => !found.has(k));
    if (missing.length > 0) throw new ProcParseError(`missing ${missing.join(', ')}; is this a Linux smaps_rollup (kernel 4.14 or later)?`);
  }
  const get = (k: string) => found.get(k) ?? 0n;
  return { rss: get('Rss'), pss: get('Pss'), shared: get('Shared_Clean') + get('Shared_Dirty') };
}
