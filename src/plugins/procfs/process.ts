// The `pid-<pid>` source of procfs: CPU time, CPU share and memory of one process. Created at run time by
// the process watcher; runs on a shared pool thread next to many others, so a poll only reads small files.

import { join } from 'node:path';
import { SourceEnded, defineSource, type Attributes, type Log, type MetricHandle, type ResourceRef } from '../../protocol/element-api.js';
import type { MemoryMode } from './config.js';
import { ProcParseError } from './parse.js';
import { isDenied, isGone } from './process-files.js';
import { cpuPercent, onlineCpus, readSmallFile } from '../shared/kernel-files.js';
import { isKernelThread, parseProcessStat, parseSmapsRollup, parseStatm, type ProcessStat, type SmapsRollup } from './process-parse.js';

/** What every pid-N source of one agent shares; the watcher adds the pid and the group's settings. */
export interface ProcessCommonConfig {
  /** The procfs mount (`/proc`, or a fake tree in tests). */
  root: string;
  /** Ticks per second of the stat times (USER_HZ). */
  userHz: number;
  /** Bytes per page, the unit of statm. */
  pageSize: number;
  /** The kernel's list of online CPUs: cpu_percent is a share of all of them. */
  cpuOnlinePath: string;
  metrics: { cpuTime: MetricHandle; cpuPercent: MetricHandle; memory: MetricHandle };
}

export interface ProcessSourceConfig extends ProcessCommonConfig {
  pid: number;
  memoryMode: MemoryMode;
  /**
   * starttime (decimal, in ticks) of the process the watcher chose. Another value at a poll means the pid now
   * belongs to a different process: the source ends instead of measuring it. Absent: taken at the first poll.
   */
  starttime?: string;
}

const attrs = (kind: string): Attributes => Object.freeze([Object.freeze(['kind', kind] as const)]);
const USER = attrs('user');
const SYSTEM = attrs('system');
const GUEST = attrs('guest');
const TOTAL = attrs('total');
const RESIDENT = attrs('resident');
const SHARED = attrs('shared');
const VIRTUAL = attrs('virtual');
const PROPORTIONAL = attrs('proportional');

const NO_MEMORY: SmapsRollup = Object.freeze({ rss: 0n, pss: 0n, shared: 0n });

// One warning per pool thread for unreadable processes: with hidepid, there can be hundreds of them.
let deniedWarned = false;

function denied(log: Log, pid: number, path: string): SourceEnded {
  const msg = `process ${pid}: permission denied reading ${path}; it is not measured`;
  if (!deniedWarned) {
    deniedWarned = true;
    log.warn(
      { pid, path },
      `${msg} (other users' processes need CAP_SYS_PTRACE for smaps_rollup and exe, and a /proc mounted without hidepid; further cases are logged at debug level)`,
    );
  } else {
    log.debug({ pid, path }, msg);
  }
  return new SourceEnded(msg);
}

export default defineSource<ProcessSourceConfig>((config, ctx) => {
  const pid = config.pid;
  const dir = join(config.root, String(pid));
  const consumer: ResourceRef = Object.freeze({ kind: 'process', id: String(pid) });
  const { cpuTime, cpuPercent: percent, memory } = config.metrics;
  const hz = BigInt(config.userHz);
  const page = BigInt(config.pageSize);
  const ns = (ticks: bigint): bigint => (ticks * 1_000_000_000n) / hz;
  let starttime = config.starttime === undefined ? undefined : BigInt(config.starttime);
  let prev: { user: bigint; system: bigint; guest: bigint; tsNs: bigint } | undefined;

  /** Reads one file of the process; a vanished process ends the source, and so does a refusal. */
  const read = (file: string): string => {
    const path = join(dir, file);
    try {
      return readSmallFile(path);
    } catch (e) {
      if (isGone(e)) throw new SourceEnded(`process ${pid} ended`);
      if (isDenied(e)) throw denied(ctx.log, pid, path);
      throw new Error(`${path}: cannot read: ${(e as Error).message}`);
    }
  };
  const parse = <T>(file: string, parser: (text: string) => T): T => {
    const text = read(file);
    try {
      return parser(text);
    } catch (e) {
      // A process that exits while the kernel prints its file can leave it empty.
      if (text === '') throw new SourceEnded(`process ${pid} ended`);
      if (e instanceof ProcParseError) throw new Error(`${join(dir, file)}: ${e.message}`);
      throw e;
    }
  };

  return {
    poll(out, ts) {
      const stat: ProcessStat = parse('stat', parseProcessStat);
      if (starttime === undefined) starttime = stat.starttime;
      else if (stat.starttime !== starttime) throw new SourceEnded(`process ${pid} ended; the pid now belongs to another process`);

      const nowNs = BigInt(ts.sec) * 1_000_000_000n + BigInt(ts.nsec);
      const now = { user: ns(stat.utime), system: ns(stat.stime), guest: ns(stat.guestTime ?? 0n), tsNs: nowNs };
      // A source restarted after a failure has already reported the time before: its first poll is a baseline.
      if (prev !== undefined || !ctx.isRestart) {
        // The first poll reports the CPU time since the process started, so that sums over time are exact.
        const before = prev ?? { user: 0n, system: 0n, guest: 0n, tsNs: nowNs };
        // These counters never decrease for one process; a lower reading would be a kernel accounting glitch.
        const d = (a: bigint, b: bigint) => (b > a ? b - a : 0n);
        const dUser = d(before.user, now.user);
        const dSystem = d(before.system, now.system);
        out.push(cpuTime, ts, dUser, { consumer, attributes: USER });
        out.push(cpuTime, ts, dSystem, { consumer, attributes: SYSTEM });
        if (stat.guestTime !== undefined) out.push(cpuTime, ts, d(before.guest, now.guest), { consumer, attributes: GUEST });
        const elapsedNs = nowNs - before.tsNs;
        if (prev !== undefined && elapsedNs > 0n) {
          const cpus = onlineCpus(config.cpuOnlinePath, (msg) => ctx.log.warn({ path: config.cpuOnlinePath }, msg));
          out.push(percent, ts, cpuPercent(dUser, elapsedNs, cpus), { consumer, attributes: USER });
          out.push(percent, ts, cpuPercent(dSystem, elapsedNs, cpus), { consumer, attributes: SYSTEM });
          out.push(percent, ts, cpuPercent(dUser + dSystem, elapsedNs, cpus), { consumer, attributes: TOTAL });
        }
      }
      prev = now;

      // A zombie has its final CPU times and no memory left: report the times, then end.
      if (stat.state === 'Z' || stat.state === 'X') throw new SourceEnded(`process ${pid} ended`);

      if (config.memoryMode === 'slow_but_accurate') {
        const r = isKernelThread(stat) ? NO_MEMORY : parse('smaps_rollup', parseSmapsRollup);
        out.push(memory, ts, r.rss, { consumer, attributes: RESIDENT });
        out.push(memory, ts, r.shared, { consumer, attributes: SHARED });
        out.push(memory, ts, stat.vsize, { consumer, attributes: VIRTUAL });
        out.push(memory, ts, r.pss, { consumer, attributes: PROPORTIONAL });
      } else {
        const m = parse('statm', parseStatm);
        out.push(memory, ts, m.resident * page, { consumer, attributes: RESIDENT });
        out.push(memory, ts, m.shared * page, { consumer, attributes: SHARED });
        out.push(memory, ts, m.size * page, { consumer, attributes: VIRTUAL });
      }
    },
    // No reset on pause: the CPU baseline is kept, so the first delta after resume covers the pause and sums stay exact.
  };
});
