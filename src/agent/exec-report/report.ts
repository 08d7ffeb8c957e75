// The report `exec` prints at the end of its child's run, and writes as JSON with `--report FILE`: the
// kernel's accounting of the child's process tree (wall and CPU time, as /usr/bin/time gives them) joined
// with what the report's output made of the points (peaks, energy, carbon). Main thread.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyPlugin } from '../plugin-api.js';
import type { CpuTime } from '../children-cpu.js';
import { execReportPlugin } from './plugin.js';
import type { ReportOutputConfig } from './output.js';
import type { ReportFigures } from './tally.js';

/** What `exec` measured of its child itself. */
export interface ChildRun {
  readonly command: readonly string[];
  readonly pid: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** From just before the child was started to its exit. */
  readonly wallS: number;
  /** The CPU time of the child and of every descendant waited for. */
  readonly cpu: CpuTime;
}

/** The report, as `--report` writes it (JSON); every number carries its unit in its name. */
export interface ExecReport {
  readonly command: readonly string[];
  readonly pid: number;
  readonly exit_code: number | null;
  readonly signal: string | null;
  readonly wall_time_s: number;
  readonly cpu_time_s: { readonly user: number; readonly system: number; readonly total: number };
  /** CPU time over wall time: 100 is one CPU busy all along (more on several CPUs), as /usr/bin/time says it. */
  readonly cpu_average_percent: number;
  readonly cpu_peak_percent: number | null;
  /** The tree's resident memory at its highest sample, all its processes together. */
  readonly memory_peak_bytes: number | null;
  /** The processes the agent followed: the child and the descendants it found while they ran. */
  readonly processes_followed: number;
  readonly energy: EnergyReport | null;
  /** Joules that per-process metrics (energy-attribution's formulas, say) give the tree, by metric. */
  readonly per_process_energy_j: Readonly<Record<string, number>>;
}

export interface EnergyReport {
  readonly source: 'rapl' | 'energy-estimation-tdp';
  /** The machine's energy times the tree's share of its busy CPU time; null without procfs' kernel source. */
  readonly process_tree_j: number | null;
  readonly process_tree_wh: number | null;
  /** The tree's CPU time over the machine's busy CPU time during the run (at most 1). */
  readonly busy_cpu_share: number | null;
  readonly machine_j: number;
  readonly machine_wh: number;
  /** From the child's start to the last poll counted, just after its end. */
  readonly machine_interval_s: number;
  readonly process_tree_g_co2: number | null;
  readonly machine_g_co2: number | null;
}

const JOULES_PER_WH = 3600;

/** Joins what `exec` measured with the figures the output wrote (absent if it could not write them). */
export function buildReport(run: ChildRun, figures: ReportFigures | undefined): ExecReport {
  const total = run.cpu.userS + run.cpu.systemS;
  const average = run.wallS > 0 ? (total / run.wallS) * 100 : 0;
  // The polls may miss the busiest moments (a run shorter than two polls of a process has no interval at
  // all), but the use over the whole run is a floor for its peak.
  const peak = figures?.peakCpus === undefined ? null : Math.max(figures.peakCpus * 100, average);
  return {
    command: run.command,
    pid: run.pid,
    exit_code: run.exitCode,
    signal: run.signal,
    wall_time_s: run.wallS,
    cpu_time_s: { user: run.cpu.userS, system: run.cpu.systemS, total },
    cpu_average_percent: average,
    cpu_peak_percent: peak,
    memory_peak_bytes: figures?.peakMemoryBytes ?? null,
    processes_followed: figures?.processes ?? 0,
    energy: figures?.machine === undefined ? null : energyReport(total, figures.machine),
    per_process_energy_j: figures?.perProcessJ ?? {},
  };
}

function energyReport(treeCpuS: number, m: NonNullable<ReportFigures['machine']>): EnergyReport {
  const share = m.busyCpuS === undefined ? null : m.busyCpuS > 0 ? Math.min(1, treeCpuS / m.busyCpuS) : 0;
  const treeJ = share === null ? null : m.joules * share;
  const gramsPerJ = m.carbonG === undefined || m.joules === 0 ? null : m.carbonG / m.joules;
  return {
    source: m.source,
    process_tree_j: treeJ,
    process_tree_wh: treeJ === null ? null : treeJ / JOULES_PER_WH,
    busy_cpu_share: share,
    machine_j: m.joules,
    machine_wh: m.joules / JOULES_PER_WH,
    machine_interval_s: m.intervalS,
    process_tree_g_co2: treeJ === null || gramsPerJ === null ? null : treeJ * gramsPerJ,
    machine_g_co2: m.carbonG ?? null,
  };
}

/** Three significant digits, without exponents for the sizes a report meets. */
function num(x: number): string {
  if (x === 0) return '0';
  const abs = Math.abs(x);
  return abs >= 100 ? x.toFixed(0) : abs >= 10 ? x.toFixed(1) : abs >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** A word as a shell would need it written. */
function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`;
}

/** The report as text, for stderr. */
export function formatReport(r: ExecReport): string {
  const rows: Array<[string, string]> = [
    ['wall time', `${num(r.wall_time_s)} s`],
    ['CPU time', `${num(r.cpu_time_s.total)} s (user ${num(r.cpu_time_s.user)} s, system ${num(r.cpu_time_s.system)} s)`],
    ['CPU use', `${num(r.cpu_average_percent)} % of one CPU on average${r.cpu_peak_percent === null ? '' : `, ${num(r.cpu_peak_percent)} % at the peak`}`],
    ['peak memory', r.memory_peak_bytes === null ? 'not measured (enable procfs processes)' : `${bytes(r.memory_peak_bytes)} resident, the tree's processes together`],
  ];
  const e = r.energy;
  if (e !== null) {
    const wh = (j: number): string => `${num(j)} J (${num(j / JOULES_PER_WH)} Wh)`;
    rows.push([
      'energy',
      e.process_tree_j === null || e.busy_cpu_share === null
        ? "not attributed: the tree's share needs the machine's busy CPU time (enable procfs' kernel source)"
        : `${wh(e.process_tree_j)}, ${num(e.busy_cpu_share * 100)} % of the machine's busy CPU time`,
    ]);
    rows.push(['machine energy', `${wh(e.machine_j)} over ${num(e.machine_interval_s)} s (${e.source})`]);
    if (e.machine_g_co2 !== null) {
      const tree = e.process_tree_g_co2 === null ? '' : `${num(e.process_tree_g_co2)} gCO₂, `;
      rows.push(['carbon', `${tree}machine ${num(e.machine_g_co2)} gCO₂ (${num((e.machine_g_co2 / e.machine_j) * JOULES_PER_WH * 1000)} gCO₂/kWh)`]);
    }
  }
  for (const [metric, j] of Object.entries(r.per_process_energy_j)) rows.push([metric, `${num(j)} J (${num(j / JOULES_PER_WH)} Wh), the tree's points of this per-process metric`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const exit = r.signal === null ? `exit code ${r.exit_code}` : `killed by ${r.signal}`;
  return [
    `alumet-agent exec report: ${r.command.map(shellWord).join(' ')}`,
    `  pid ${r.pid}, ${exit}, ${r.processes_followed} process${r.processes_followed === 1 ? '' : 'es'} followed`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    '',
  ].join('\n');
}

/** The report's plugin for one `exec`, with a private file for its figures; `dispose` removes it. */
export class ExecReporter {
  readonly #dir = mkdtempSync(join(tmpdir(), 'alumet-exec-report-'));
  readonly #config: ReportOutputConfig = { figuresPath: join(this.#dir, 'figures.json') };
  readonly plugin: { readonly plugin: AnyPlugin; readonly config: ReportOutputConfig } = { plugin: execReportPlugin, config: this.#config };

  /** The report of `run`, once the agent has stopped and its output has written the figures. */
  report(run: ChildRun): ExecReport {
    let figures: ReportFigures | undefined;
    try {
      figures = JSON.parse(readFileSync(this.#config.figuresPath, 'utf8')) as ReportFigures;
    } catch {
      // the output failed before it could write them: the report keeps what exec measured itself
    }
    return buildReport(run, figures);
  }

  dispose(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
