// Shared helpers of the benchmark suite (main thread of the bench process): the scenario and figure types,
// percentiles, CPU time and memory of a process, logging to stderr, and the results table.

import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

/** The repository root (dist/bench/util.js is three levels below it). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN_JS = join(REPO_ROOT, 'dist/src/main.js');

/** A target a figure should meet: `>=` for rates, `<=` for latencies and costs. */
export interface Target {
  readonly op: '>=' | '<=';
  readonly value: number;
}

/** One line of the table. */
export interface Row {
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: Target;
  /** The figure measured in the same run that this one is compared with, and its value. */
  readonly baseline?: { readonly name: string; readonly value: number };
}

export interface ScenarioResult {
  /** What `--json` prints and bench-results.json stores for this scenario. */
  readonly json: Record<string, unknown>;
  readonly rows: Row[];
}

export interface Scenario {
  readonly name: string;
  /** One line for `--help`. */
  readonly what: string;
  run(): Promise<ScenarioResult>;
}

/** Progress and diagnostics: always stderr, so that `--json` keeps stdout to one JSON object. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** The p-th percentile (0..100) of `values` by the nearest-rank method; NaN for an empty list. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 20 ms until it is truthy; throws after `timeoutMs`, saying what was awaited. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function rmrf(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

let clockTicks: number | undefined;

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat. */
function userHz(): number {
  if (clockTicks !== undefined) return clockTicks;
  clockTicks = 100;
  try {
    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(hz) && hz > 0) clockTicks = hz;
  } catch {
    // 100 on every mainstream Linux architecture
  }
  return clockTicks;
}

/** CPU time (user + system, every thread) that process `pid` has used so far, in milliseconds. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / userHz();
}

/** Resident memory of process `pid` (VmRSS), in MiB. */
export function processRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (m === null) throw new Error(`bench: no VmRSS line in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** Threads of process `pid`. */
export function processThreads(pid: number): number {
  const m = /^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]);
}

/** CPU time of this process (every thread), in milliseconds, at microsecond resolution. */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export interface MachineFacts {
  readonly cpus: number;
  readonly cpu_model: string;
  readonly node: string;
  readonly load_average: number[];
}

export function machineFacts(): MachineFacts {
  let model = 'unknown';
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? model;
  } catch {
    // not Linux
  }
  let cpus = NaN;
  try {
    cpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    // no coreutils
  }
  let load: number[] = [];
  try {
    load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    // not Linux
  }
  return { cpus, cpu_model: model, node: process.version, load_average: load };
}

/** A number for the table: thousands grouped, at most 3 significant decimals. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function targetMet(value: number, t: Target): boolean {
  return t.op === '>=' ? value >= t.value : value <= t.value;
}

/** The results table, as text: one line per figure, columns padded to their widest cell. */
export function renderTable(results: ReadonlyArray<{ scenario: string; rows: readonly Row[] }>): string {
  const header = ['scenario', 'figure', 'value', 'target', 'ratio to baseline'];
  const lines: string[][] = [];
  for (const { scenario, rows } of results) {
    for (const r of rows) {
      const target = r.target === undefined ? '' : `${r.target.op} ${formatNumber(r.target.value)} ${targetMet(r.value, r.target) ? 'ok' : 'MISSED'}`;
      const ratio = r.baseline === undefined ? '' : `${formatNumber(r.value / r.baseline.value)} × ${r.baseline.name}`;
      lines.push([scenario, r.figure, `${formatNumber(r.value)} ${r.unit}`.trim(), target, ratio]);
    }
  }
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const fmt = (cells: string[]): string => cells.map((cell, c) => (c === 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n') + '\n';
}

/** The same table in Markdown, for the README. */
export function renderMarkdown(results: ReadonlyArray<{ scenario: string; rows: readonly Row[] }>): string {
  const out = ['| scenario | figure | value | target | ratio to baseline |', '|---|---|---:|---|---|'];
  for (const { scenario, rows } of results) {
    for (const r of rows) {
      const target = r.target === undefined ? '' : `${r.target.op} ${formatNumber(r.target.value)} ${targetMet(r.value, r.target) ? '✓' : '✗'}`;
      const ratio = r.baseline === undefined ? '' : `${formatNumber(r.value / r.baseline.value)} × ${r.baseline.name}`;
      out.push(`| ${scenario} | ${r.figure} | ${formatNumber(r.value)} ${r.unit} | ${target} | ${ratio} |`);
    }
  }
  return out.join('\n') + '\n';
}
