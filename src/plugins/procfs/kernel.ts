// The `kernel` source of procfs: CPU time per state, context switches, forks and run-queue gauges from
// /proc/stat. Runs in a worker thread.

import { join } from 'node:path';
import { LOCAL_MACHINE, defineSource, type Attributes, type MetricHandle, type ResourceRef } from '../../protocol/element-api.js';
import { CPU_STATES, ProcParseError, parseStat, type CpuTicks, type KernelStats } from './parse.js';
import { U64_MAX, counterDiff } from '../shared/counter-diff.js';
import { KernelFile } from '../shared/kernel-file.js';

export interface KernelSourceConfig {
  /** The procfs mount (`/proc`, or a fake tree in tests). */
  root: string;
  /** Ticks per second of the /proc/stat counters (USER_HZ). */
  userHz: number;
  metrics: {
    cpuTime: MetricHandle;
    contextSwitches: MetricHandle;
    newForks: MetricHandle;
    procsRunning: MetricHandle;
    procsBlocked: MetricHandle;
  };
}

const IOWAIT = CPU_STATES.indexOf('iowait');
// iowait is skipped on purpose, as in Alumet: the kernel documents it as unreliable.
const EMITTED_STATES = CPU_STATES.map((_, k) => k).filter((k) => k !== IOWAIT);
const STATE_ATTRS: readonly Attributes[] = CPU_STATES.map((s) => Object.freeze([Object.freeze(['cpu_state', s] as const)]));

export default defineSource<KernelSourceConfig>((config, ctx) => {
  const file = new KernelFile(join(config.root, 'stat'), (cause) =>
    ctx.log.warn({ path: join(config.root, 'stat'), err: cause.message }, 'positional read failed; reopening the file on every poll from now on'),
  );
  const hz = BigInt(config.userHz);
  const { cpuTime, contextSwitches, newForks, procsRunning, procsBlocked } = config.metrics;
  const cores = new Map<number, ResourceRef>();
  const core = (n: number): ResourceRef => {
    let r = cores.get(n);
    if (r === undefined) cores.set(n, (r = Object.freeze({ kind: 'cpu_core', id: String(n) })));
    return r;
  };
  const ms = (ticks: bigint): bigint => (ticks * 1000n) / hz;
  // Convert the readings, then subtract, so that rounding never accumulates when 1000 is not a multiple of USER_HZ.
  const deltaMs = (prev: bigint, now: bigint): bigint => (now >= prev ? ms(now) - ms(prev) : ms(counterDiff(prev, now, U64_MAX)));

  let prev: KernelStats | undefined;
  let prevCpus = new Map<number, CpuTicks>();

  return {
    poll(out, ts) {
      let now: KernelStats;
      try {
        now = parseStat(file.read());
      } catch (e) {
        if (e instanceof ProcParseError) throw new Error(`${file.path}: ${e.message}`);
        throw e;
      }
      const pushCpu = (before: CpuTicks, after: CpuTicks, resource: ResourceRef) => {
        for (const k of EMITTED_STATES) {
          const a = before[k];
          const b = after[k];
          if (a !== undefined && b !== undefined) out.push(cpuTime, ts, deltaMs(a, b), { resource, attributes: STATE_ATTRS[k] });
        }
      };
      const nowCpus = new Map<number, CpuTicks>();
      for (const c of now.cpus) nowCpus.set(c.cpu, c.ticks);
      if (prev !== undefined) {
        pushCpu(prev.total, now.total, LOCAL_MACHINE);
        // Paired by CPU number, not by line position, so a CPU going offline shifts nothing.
        for (const c of now.cpus) {
          const before = prevCpus.get(c.cpu);
          if (before !== undefined) pushCpu(before, c.ticks, core(c.cpu));
        }
        out.push(contextSwitches, ts, counterDiff(prev.ctxt, now.ctxt));
        out.push(newForks, ts, counterDiff(prev.processes, now.processes));
      }
      if (now.procsRunning !== undefined) out.push(procsRunning, ts, now.procsRunning);
      if (now.procsBlocked !== undefined) out.push(procsBlocked, ts, now.procsBlocked);
      prev = now;
      prevCpus = nowCpus;
    },
    close() {
      file.close();
    },
  };
});
