// Pure parsers for /proc/stat, /proc/meminfo and /proc/net/dev. No I/O here, so every rule can be tested on
// strings. Runs in the source workers (and in the main thread for config checks).

import { U64_MAX } from '../shared/counter-diff.js';

/** Thrown when a /proc file does not have the shape the kernel documents; the caller adds the path. */
export class ProcParseError extends Error {
  override readonly name = 'ProcParseError';
}

function u64(word: string, where: () => string): bigint {
  if (!/^\d+$/.test(word)) throw new ProcParseError(`${where()}: expected an unsigned integer, got ${JSON.stringify(word)}`);
  const v = BigInt(word);
  if (v > U64_MAX) throw new ProcParseError(`${where()}: ${word} does not fit in 64 bits`);
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// /proc/stat

/** The states of a `cpu` line, in file order. */
export const CPU_STATES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'] as const;
export type CpuState = (typeof CPU_STATES)[number];

/** Ticks per state, indexed like CPU_STATES; old kernels print fewer columns, so trailing states may be absent. */
export type CpuTicks = ReadonlyArray<bigint | undefined>;

export interface KernelStats {
  /** The aggregate `cpu` line. */
  readonly total: CpuTicks;
  /** One entry per `cpuN` line, in file order; `cpu` is N. Offline CPUs have no line. */
  readonly cpus: ReadonlyArray<{ readonly cpu: number; readonly ticks: CpuTicks }>;
  /** Context switches since boot. */
  readonly ctxt: bigint;
  /** Forks since boot (the `processes` line). */
  readonly processes: bigint;
  readonly procsRunning: bigint | undefined;
  readonly procsBlocked: bigint | undefined;
}

/** The four states every kernel prints; the later six arrived in 2.5.41 … 2.6.33. */
const REQUIRED_CPU_STATES = 4;

function parseCpuLine(line: string, lineNo: number): CpuTicks {
  const words = line.split(/\s+/).filter((w) => w !== '');
  const where = () => `line ${lineNo} (${words[0]})`;
  const values = words.slice(1, 1 + CPU_STATES.length);
  if (values.length < REQUIRED_CPU_STATES) {
    throw new ProcParseError(`${where()}: expected at least ${REQUIRED_CPU_STATES} columns (user nice system idle), got ${values.length}`);
  }
  const ticks: Array<bigint | undefined> = new Array(CPU_STATES.length).fill(undefined);
  for (let k = 0; k < values.length; k++) ticks[k] = u64(values[k]!, () => `${where()} column ${CPU_STATES[k]}`);
  return ticks;
}

/** Parses /proc/stat. Lines the sources do not use (intr, softirq, btime, …) are skipped unread. */
export function parseStat(text: string): KernelStats {
  let total: CpuTicks | undefined;
  const cpus: Array<{ cpu: number; ticks: CpuTicks }> = [];
  let ctxt: bigint | undefined;
  let processes: bigint | undefined;
  let procsRunning: bigint | undefined;
  let procsBlocked: bigint | undefined;

  let start = 0;
  let lineNo = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    lineNo++;
    const c0 = text.charCodeAt(start);
    // Only lines starting with c or p matter: skip intr/softirq (long) without splitting them.
    if (c0 === 0x63 /* c */ || c0 === 0x70 /* p */) {
      const line = text.slice(start, end);
      const space = line.search(/\s/);
      const key = space === -1 ? line : line.slice(0, space);
      const single = () => {
        const words = line.split(/\s+/).filter((w) => w !== '');
        if (words.length !== 2) throw new ProcParseError(`line ${lineNo} (${key}): expected one value, got ${words.length - 1}`);
        return u64(words[1]!, () => `line ${lineNo} (${key})`);
      };
      if (key === 'cpu') total = parseCpuLine(line, lineNo);
      else if (key.startsWith('cpu') && /^cpu\d+$/.test(key)) cpus.push({ cpu: Number(key.slice(3)), ticks: parseCpuLine(line, lineNo) });
      else if (key === 'ctxt') ctxt = single();
      else if (key === 'processes') processes = single();
      else if (key === 'procs_running') procsRunning = single();
      else if (key === 'procs_blocked') procsBlocked = single();
    }
    start = end + 1;
  }
  const missing: string[] = [];
  if (total === undefined) missing.push('cpu');
  if (ctxt === undefined) missing.push('ctxt');
  if (processes === undefined) missing.push('processes');
  if (missing.length > 0) {
    throw new ProcParseError(`missing ${missing.map((m) => `"${m}"`).join(', ')} line${missing.length > 1 ? 's' : ''}; is this a Linux /proc/stat?`);
  }
  return { total: total!, cpus, ctxt: ctxt!, processes: processes!, procsRunning, procsBlocked };
}

// ---------------------------------------------------------------------------------------------------------
// /proc/meminfo

const MEMINFO_UNITS: Readonly<Record<string, bigint>> = {
  B: 1n,
  // The kernel writes "kB" but means KiB; Alumet reads the other spellings the same way.
  kB: 1024n,
  KB: 1024n,
  kiB: 1024n,
  KiB: 1024n,
  mB: 1024n ** 2n,
  MB: 1024n ** 2n,
  miB: 1024n ** 2n,
  MiB: 1024n ** 2n,
  gB: 1024n ** 3n,
  GB: 1024n ** 3n,
  giB: 1024n ** 3n,
  GiB: 1024n ** 3n,
};

/**
 * Parses /proc/meminfo into bytes per key, in file order. A value without a unit (HugePages_Total, …) is
 * taken as is, which is what Alumet does.
 */
export function parseMeminfo(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    const where = () => `line ${n + 1} ${JSON.stringify(line)}`;
    if (colon <= 0) throw new ProcParseError(`${where()}: expected "Key: value [unit]"`);
    const key = line.slice(0, colon);
    const words = line.slice(colon + 1).split(/\s+/).filter((w) => w !== '');
    if (words.length < 1 || words.length > 2) throw new ProcParseError(`${where()}: expected "Key: value [unit]"`);
    const value = u64(words[0]!, where);
    let factor = 1n;
    if (words.length === 2) {
      const f = MEMINFO_UNITS[words[1]!];
      if (f === undefined) throw new ProcParseError(`${where()}: unknown unit ${JSON.stringify(words[1])}; expected B, kB, MB or GB`);
      factor = f;
    }
    out.set(key, value * factor);
  }
  return out;
}

/**
 * Alumet's metric name for a meminfo key: `_` goes before an upper-case letter that follows a letter
 * (MemTotal → mem_total, SReclaimable → s_reclaimable); keys that already hold `_` are only lower-cased.
 */
export function snakeCase(key: string): string {
  if (key.length <= 1) return key;
  if (key.includes('_')) return key.toLowerCase();
  const kind = (c: string) => (c >= 'a' && c <= 'z' ? 1 : c >= 'A' && c <= 'Z' ? 2 : 0);
  let out = key[0]!.toLowerCase();
  let prev = kind(key[0]!);
  for (let i = 1; i < key.length; i++) {
    const ch = key[i]!;
    const cur = kind(ch);
    if (cur === 2 && prev !== 0) out += '_';
    out += ch.toLowerCase();
    prev = cur;
  }
  return out;
}

/**
 * The keys of /proc/meminfo across kernel versions and configurations (fs/proc/meminfo.c and the arch
 * hooks), for checking `memory.metrics` when the running kernel's file is not at hand.
 */
export const KNOWN_MEMINFO_KEYS: readonly string[] = Object.freeze([
  'MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached', 'SwapCached', 'Active', 'Inactive',
  'Active(anon)', 'Inactive(anon)', 'Active(file)', 'Inactive(file)', 'Unevictable', 'Mlocked',
  'HighTotal', 'HighFree', 'LowTotal', 'LowFree', 'MmapCopy', 'SwapTotal', 'SwapFree', 'Zswap', 'Zswapped',
  'Dirty', 'Writeback', 'AnonPages', 'Mapped', 'Shmem', 'KReclaimable', 'Slab', 'SReclaimable', 'SUnreclaim',
  'KernelStack', 'ShadowCallStack', 'PageTables', 'SecPageTables', 'NFS_Unstable', 'Bounce', 'WritebackTmp',
  'CommitLimit', 'Committed_AS', 'VmallocTotal', 'VmallocUsed', 'VmallocChunk', 'Percpu', 'HardwareCorrupted',
  'AnonHugePages', 'ShmemHugePages', 'ShmemPmdMapped', 'FileHugePages', 'FilePmdMapped', 'CmaTotal', 'CmaFree',
  'Unaccepted', 'Balloon', 'HugePages_Total', 'HugePages_Free', 'HugePages_Rsvd', 'HugePages_Surp',
  'Hugepagesize', 'Hugetlb', 'DirectMap4k', 'DirectMap2M', 'DirectMap4M', 'DirectMap1G', 'Quicklists',
]);

// ---------------------------------------------------------------------------------------------------------
// /proc/net/dev

export interface InterfaceStats {
  readonly name: string;
  readonly rxBytes: bigint;
  readonly rxPackets: bigint;
  readonly rxErrors: bigint;
  readonly rxDrops: bigint;
  readonly txBytes: bigint;
  readonly txPackets: bigint;
  readonly txErrors: bigint;
  readonly txDrops: bigint;
}

const NET_DEV_COLUMNS = 16;

/**
 * Parses /proc/net/dev: two header lines, then `iface: 8 receive columns, 8 transmit columns`. Interface
 * names cannot contain `:`, so the first colon ends the name (old kernels glue the first number to it).
 */
export function parseNetDev(text: string): InterfaceStats[] {
  const lines = text.split('\n');
  if (lines.length < 2 || !lines[0]!.includes('|') || !lines[1]!.includes('|')) {
    throw new ProcParseError('expected two header lines ("Inter-|   Receive …" and " face |bytes …")');
  }
  const out: InterfaceStats[] = [];
  for (let n = 2; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') continue;
    const where = () => `line ${n + 1} ${JSON.stringify(line.trim())}`;
    const colon = line.indexOf(':');
    if (colon === -1) throw new ProcParseError(`${where()}: expected "interface: ${NET_DEV_COLUMNS} numbers"`);
    const name = line.slice(0, colon).trim();
    const words = line.slice(colon + 1).split(/\s+/).filter((w) => w !== '');
    if (name === '' || words.length < NET_DEV_COLUMNS) {
      throw new ProcParseError(`${where()}: expected "interface: ${NET_DEV_COLUMNS} numbers", got ${words.length} numbers`);
    }
    const v = (k: number) => u64(words[k]!, where);
    out.push({
      name,
      rxBytes: v(0),
      rxPackets: v(1),
      rxErrors: v(2),
      rxDrops: v(3),
      txBytes: v(8),
      txPackets: v(9),
      txErrors: v(10),
      txDrops: v(11),
    });
  }
  return out;
}
