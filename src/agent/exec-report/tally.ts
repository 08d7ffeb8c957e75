// What the exec report learns from the points: the machine's energy, busy CPU time and carbon over the
// child's run, the peaks of its process tree's CPU use and memory, and the energy that per-process metrics
// give its processes. Pure code; runs in the exec report's output worker, which feeds it every batch and
// the consumer events that name the child (`start`, `end`) and its descendants (`start`).

import { prefixFactor, type Batch, type ConsumerEvent, type MetricInfo, type Timestamp } from '../../protocol/element-api.js';
import { peakOfLevels, peakOfRates, type Sample } from './peaks.js';

/** What the report prints of the points, written by the output as JSON for the main thread. */
export interface ReportFigures {
  /** Processes of the tree the agent followed (the child and the descendants found while they ran). */
  readonly processes: number;
  /** Highest CPU use of the tree, in CPUs (1 = one CPU busy all the time); absent without process points. */
  readonly peakCpus?: number;
  /** Highest resident memory of the tree, in bytes. */
  readonly peakMemoryBytes?: number;
  /** The machine's energy over the child's run, when an energy source or estimate is enabled. */
  readonly machine?: MachineEnergy;
  /** Joules per metric measured per process (energy-attribution's formulas, say), summed over the tree. */
  readonly perProcessJ: Readonly<Record<string, number>>;
}

export interface MachineEnergy {
  /** `rapl` (measured; preferred) or `energy-estimation-tdp` (estimated). */
  readonly source: 'rapl' | 'energy-estimation-tdp';
  /** RAPL's package and DRAM totals, or the estimate of every busy CPU state. */
  readonly joules: number;
  /** Seconds from the child's start to the last poll counted (the one just after it ended). */
  readonly intervalS: number;
  /** CPU seconds the machine spent busy (every state but idle and guest), from procfs' kernel source. */
  readonly busyCpuS?: number;
  /** Grams of CO₂ of `joules`, when energy-to-carbon converts them. */
  readonly carbonG?: number;
}

/** RAPL's machine-wide totals that make the machine's energy (the cores and uncore are inside the package). */
const RAPL_DOMAINS = new Set(['package_total', 'dram_total']);
/** CPU states that are not busy time of the machine: idle, and guest time, which the kernel counts in user too. */
const NOT_BUSY = new Set(['idle', 'guest', 'guest_nice']);
/** Samples of processes not (yet) known to be in the tree are kept this long, for a descendant found late. */
const PENDING_S = 30;

type Role = 'rapl' | 'tdp' | 'kernel' | 'carbon' | 'cpu' | 'memory';
const ROLES: Readonly<Record<string, Role>> = {
  rapl_consumed_energy: 'rapl',
  estimated_consumed_energy: 'tdp',
  kernel_cpu_time: 'kernel',
  carbon_emission: 'carbon',
  cpu_time_delta: 'cpu',
  memory_usage: 'memory',
};

interface ProcessSamples {
  /** CPU seconds (user + system) since the previous sample. */
  readonly cpu: Array<[number, number]>;
  readonly memory: Array<[number, number]>;
  readonly joules: Map<string, number>;
  lastS: number;
}

/** A machine-wide sample: its time and its value in the metric's base unit. */
type MachineSample = readonly [timeS: number, value: number];

const seconds = (t: Timestamp): number => t.sec + t.nsec / 1e9;

export class ReportTally {
  /** The metrics the tally reads, by id: what it makes of them, and the factor to their base unit. */
  readonly #metrics = new Map<number, { role: Role | undefined; joules: boolean; name: string; factor: number }>();
  readonly #tree = new Set<string>();
  readonly #processes = new Map<string, ProcessSamples>();
  readonly #machine = { rapl: [] as MachineSample[], tdp: [] as MachineSample[], kernel: [] as MachineSample[], raplCarbon: [] as MachineSample[], tdpCarbon: [] as MachineSample[] };
  #startS: number | undefined;
  #endS: number | undefined;
  #root: string | undefined;
  #newestS = 0;
  #prunedAtS = 0;

  constructor(metrics: ReadonlyMap<number, MetricInfo>) {
    for (const m of metrics.values()) {
      const role = ROLES[m.name];
      const joules = m.unit.base === 'J';
      if (role !== undefined || joules) this.#metrics.set(m.id, { role, joules, name: m.name, factor: prefixFactor(m.unit.prefix) ?? 1 });
    }
  }

  /** The child's `start` opens the run and names the tree's root; its `end` closes the run. */
  consumerEvent(event: ConsumerEvent, now: Timestamp): void {
    for (const c of event.consumers) {
      if (c.kind !== 'process') continue;
      if (event.type === 'start') {
        this.#root ??= c.id;
        this.#startS ??= seconds(now);
        this.#tree.add(c.id);
      } else if (c.id === this.#root) this.#endS = seconds(now);
    }
  }

  add(batch: Batch): void {
    for (let i = 0; i < batch.length; i++) {
      const metric = this.#metrics.get(batch.metric[i]!);
      if (metric === undefined) continue;
      const t = batch.tsSec[i]! + batch.tsNsec[i]! / 1e9;
      const value = batch.numberAt(i) * metric.factor;
      if (batch.strings[batch.consKind[i]!] === 'process') this.#addProcess(metric, batch.strings[batch.consId[i]!]!, t, value, batch, i);
      else if (metric.role !== undefined && batch.strings[batch.resKind[i]!] === 'local_machine') this.#addMachine(metric.role, t, value, batch, i);
    }
    this.#prune();
  }

  #addProcess(metric: { role: Role | undefined; joules: boolean; name: string }, pid: string, t: number, value: number, batch: Batch, i: number): void {
    const { role } = metric;
    if (role !== 'cpu' && role !== 'memory' && !metric.joules) return;
    let p = this.#processes.get(pid);
    if (p === undefined) {
      p = { cpu: [], memory: [], joules: new Map(), lastS: t };
      this.#processes.set(pid, p);
    }
    p.lastS = Math.max(p.lastS, t);
    this.#newestS = Math.max(this.#newestS, t);
    const kind = attribute(batch, i, 'kind');
    if (role === 'cpu') {
      if (kind !== 'user' && kind !== 'system') return; // guest time is in user time already
      const last = p.cpu[p.cpu.length - 1];
      if (last !== undefined && last[0] === t) last[1] += value;
      else p.cpu.push([t, value]);
    } else if (role === 'memory') {
      if (kind === 'resident') p.memory.push([t, value]);
    } else p.joules.set(metric.name, (p.joules.get(metric.name) ?? 0) + value);
  }

  #addMachine(role: Role, t: number, value: number, batch: Batch, i: number): void {
    const domain = attribute(batch, i, 'domain');
    const state = attribute(batch, i, 'cpu_state');
    const m = this.#machine;
    if (role === 'rapl' && RAPL_DOMAINS.has(String(domain))) m.rapl.push([t, value]);
    else if (role === 'tdp' && state !== undefined && !NOT_BUSY.has(String(state))) m.tdp.push([t, value]);
    else if (role === 'kernel' && state !== undefined && !NOT_BUSY.has(String(state))) m.kernel.push([t, value]);
    else if (role === 'carbon' && RAPL_DOMAINS.has(String(domain))) m.raplCarbon.push([t, value]);
    else if (role === 'carbon' && state !== undefined && !NOT_BUSY.has(String(state))) m.tdpCarbon.push([t, value]);
  }

  /** Forgets the processes outside the tree that sent nothing for a while (the whole machine's, usually). */
  #prune(): void {
    if (this.#newestS - this.#prunedAtS < PENDING_S) return;
    this.#prunedAtS = this.#newestS;
    for (const [pid, p] of this.#processes) if (!this.#tree.has(pid) && p.lastS < this.#newestS - PENDING_S) this.#processes.delete(pid);
  }

  figures(): ReportFigures {
    const tree = [...this.#processes].filter(([pid]) => this.#tree.has(pid)).map(([, p]) => p);
    const perProcessJ: Record<string, number> = {};
    for (const p of tree) for (const [name, j] of p.joules) perProcessJ[name] = (perProcessJ[name] ?? 0) + j;
    const peakCpus = peakOfRates(tree.map((p) => p.cpu as Sample[]));
    const peakMemoryBytes = peakOfLevels(tree.map((p) => p.memory as Sample[]));
    const machine = this.#machineEnergy();
    return {
      processes: this.#tree.size,
      ...(peakCpus === undefined ? {} : { peakCpus }),
      ...(peakMemoryBytes === undefined ? {} : { peakMemoryBytes }),
      ...(machine === undefined ? {} : { machine }),
      perProcessJ,
    };
  }

  #machineEnergy(): MachineEnergy | undefined {
    const start = this.#startS;
    if (start === undefined) return undefined;
    const end = this.#endS ?? Infinity;
    // The points after the poll just before the child started, up to the poll just after it ended.
    const during = (samples: readonly MachineSample[]) => samples.filter(([t]) => t > start && t <= end);
    const sum = (samples: readonly MachineSample[]) => samples.reduce((s, [, v]) => s + v, 0);
    const m = this.#machine;
    const rapl = during(m.rapl);
    const useRapl = rapl.length > 0 || (m.tdp.length === 0 && this.#registered('rapl'));
    if (!useRapl && !this.#registered('tdp')) return undefined;
    const energy = useRapl ? rapl : during(m.tdp);
    const carbon = during(useRapl ? m.raplCarbon : m.tdpCarbon);
    const kernel = during(m.kernel);
    const times = [...energy, ...kernel].map(([t]) => t);
    return {
      source: useRapl ? 'rapl' : 'energy-estimation-tdp',
      joules: sum(energy),
      intervalS: times.length === 0 ? 0 : Math.max(...times) - start,
      ...(kernel.length === 0 ? {} : { busyCpuS: sum(kernel) }),
      ...(carbon.length === 0 ? {} : { carbonG: sum(carbon) }),
    };
  }

  #registered(role: Role): boolean {
    for (const m of this.#metrics.values()) if (m.role === role) return true;
    return false;
  }
}

function attribute(batch: Batch, i: number, key: string): unknown {
  return batch.attributesAt(i).find(([k]) => k === key)?.[1];
}
