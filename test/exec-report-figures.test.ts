// The exec report's figures from points, in this thread: peaks of a process tree from samples taken at
// different times, the tally of crafted batches and consumer events, and the report built and printed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F64, U64, type Attributes, type ResourceRef, type Timestamp, type ValueType } from '../src/protocol/batch.js';
import { BatchBuilder } from '../src/protocol/batch-builder.js';
import type { MetricInfo } from '../src/protocol/metrics.js';
import { parseUnit } from '../src/protocol/units.js';
import { peakOfLevels, peakOfRates } from '../src/agent/exec-report/peaks.js';
import { ReportTally, type ReportFigures } from '../src/agent/exec-report/tally.js';
import { buildReport, formatReport, type ChildRun } from '../src/agent/exec-report/report.js';

test('the peak of levels sums each series’ latest sample, and a series counts no more after its last', () => {
  // a: 10 from t=0, 30 at t=2; b: 5 at t=1 only; c: 100 at t=2.
  assert.equal(peakOfLevels([[[0, 10], [2, 30]], [[1, 5]], [[2, 100]]]), 130);
  // a's last sample is at 2: at 3, c is alone.
  assert.equal(peakOfLevels([[[0, 10], [2, 30]], [[3, 100]]]), 100);
  // b ends at 1, so at 2 the sum is 30, not 35.
  assert.equal(peakOfLevels([[[0, 10], [2, 30]], [[1, 5]]]), 30);
  assert.equal(peakOfLevels([[[0, 10], [2, 30]], [[2, 5]]]), 35);
  assert.equal(peakOfLevels([[], []]), undefined);
});

test('the peak of rates adds the rates of the intervals that overlap where one ends', () => {
  // a: 1 CPU·s over (0, 1], 0.5 over (1, 2]; b: 1.5 over (0.5, 2] (1 CPU): at 1, 1 + 1 = 2 CPUs.
  assert.equal(peakOfRates([[[0, 9], [1, 1], [2, 0.5]], [[0.5, 7], [2, 1.5]]]), 2);
  // An interval is (from, to]: b's starts where a's ends, so they never add up.
  assert.equal(peakOfRates([[[0, 0], [1, 1]], [[1, 0], [2, 2]]]), 2);
  // A first sample alone is no interval.
  assert.equal(peakOfRates([[[0, 5]]]), undefined);
});

/** `actual` equals `expected`, numbers within floating-point error. */
function assertNear(actual: unknown, expected: unknown, path = 'value'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${path}: ${actual}, expected ${expected}`);
  } else if (typeof expected === 'object' && expected !== null && typeof actual === 'object' && actual !== null) {
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${path}: keys`);
    for (const [k, v] of Object.entries(expected)) assertNear((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
  } else assert.deepEqual(actual, expected, path);
}

const metric = (id: number, name: string, unit: string, type: ValueType = F64): MetricInfo => ({ id, name, description: '', type, unit: parseUnit(unit) });
const METRICS = [
  metric(1, 'rapl_consumed_energy', 'J'),
  metric(2, 'estimated_consumed_energy', 'J'),
  metric(3, 'kernel_cpu_time', 'ms', U64),
  metric(4, 'carbon_emission', 'J'),
  metric(5, 'cpu_time_delta', 'ns', U64),
  metric(6, 'memory_usage', 'By', U64),
  metric(7, 'attributed_energy', 'J'),
  metric(8, 'mem_total', 'By', U64),
];
// carbon_emission's unit is custom (g_CO2); the tally only looks at its name.
METRICS[3] = { ...METRICS[3]!, unit: { base: 'g_CO2', prefix: '', display: 'gCO₂' } };
const byName = new Map(METRICS.map((m) => [m.name, m]));
const T0 = 1_700_000_000;
const ts = (s: number): Timestamp => ({ sec: T0 + Math.floor(s), nsec: Math.round((s % 1) * 1e9) });
const MACHINE: ResourceRef = { kind: 'local_machine', id: '' };
const proc = (pid: number): ResourceRef => ({ kind: 'process', id: String(pid) });

class Points {
  readonly b = new BatchBuilder(8);
  add(name: string, s: number, value: number, attributes: Attributes, consumer = MACHINE, resource = MACHINE): this {
    const m = byName.get(name)!;
    this.b.push({ id: m.id, name, type: m.type }, ts(s), value, { attributes, consumer, resource });
    return this;
  }
}

test('the tally counts the machine’s busy energy, CPU and carbon over the run, and the tree’s peaks and per-process joules', () => {
  const tally = new ReportTally(new Map(METRICS.map((m) => [m.id, m])));
  const p = new Points();
  // Before the child's start (at 1), during its run, and after its end (at 5): only the run counts.
  for (const [s, user, idle] of [[0.5, 50, 500], [2, 10, 100], [5, 20, 200], [6, 70, 700]] as const) {
    p.add('estimated_consumed_energy', s, user, [['cpu_state', 'user']])
      .add('estimated_consumed_energy', s, idle, [['cpu_state', 'idle']])
      .add('estimated_consumed_energy', s, 1, [['cpu_state', 'guest']])
      .add('estimated_consumed_energy', s, 3, [['cpu_state', 'user']], MACHINE, { kind: 'cpu_core', id: '0' })
      .add('kernel_cpu_time', s, user * 10, [['cpu_state', 'user']])
      .add('kernel_cpu_time', s, idle * 10, [['cpu_state', 'idle']])
      .add('carbon_emission', s, user / 1000, [['cpu_state', 'user']])
      .add('mem_total', s, 1 << 30, []);
  }
  // Process 100 (the child): CPU since its start at 1, then 0.5 s over (1, 2] and 1 s over (2, 3].
  p.add('cpu_time_delta', 1, 3e9, [['kind', 'user']], proc(100))
    .add('cpu_time_delta', 2, 4e8, [['kind', 'user']], proc(100))
    .add('cpu_time_delta', 2, 1e8, [['kind', 'system']], proc(100))
    .add('cpu_time_delta', 2, 9e9, [['kind', 'guest']], proc(100))
    .add('cpu_time_delta', 3, 1e9, [['kind', 'user']], proc(100))
    .add('memory_usage', 1, 1000, [['kind', 'resident']], proc(100))
    .add('memory_usage', 1, 9999, [['kind', 'virtual']], proc(100))
    .add('memory_usage', 3, 3000, [['kind', 'resident']], proc(100))
    .add('attributed_energy', 2, 4, [], proc(100));
  // Process 101 (a descendant, announced after its first points): 0.5 s over (2, 2.5]; 200 is not in the tree.
  p.add('cpu_time_delta', 2, 0, [['kind', 'user']], proc(101))
    .add('cpu_time_delta', 2.5, 5e8, [['kind', 'user']], proc(101))
    .add('memory_usage', 2.5, 500, [['kind', 'resident']], proc(101))
    .add('attributed_energy', 2.5, 1.5, [], proc(101))
    .add('cpu_time_delta', 2, 0, [['kind', 'user']], proc(200))
    .add('cpu_time_delta', 3, 5e9, [['kind', 'user']], proc(200))
    .add('memory_usage', 3, 1e9, [['kind', 'resident']], proc(200))
    .add('attributed_energy', 3, 100, [], proc(200));
  tally.consumerEvent({ type: 'start', consumers: [proc(100)] }, ts(1));
  tally.add(p.b.take());
  tally.consumerEvent({ type: 'start', consumers: [proc(101)] }, ts(2.6));
  tally.consumerEvent({ type: 'end', consumers: [proc(100)] }, ts(5));
  const figures: ReportFigures = tally.figures();
  assertNear(figures, {
    processes: 2,
    // (1, 2] 0.5 CPU and (2, 2.5] 1 CPU from 101 with (2, 3] 1 CPU from 100: 2 CPUs at 2.5.
    peakCpus: 2,
    // 1000 + 500 at 2.5 (101 counts until its only sample), 3000 at 3.
    peakMemoryBytes: 3000,
    machine: { source: 'energy-estimation-tdp', joules: 30, intervalS: 4, busyCpuS: 0.3, carbonG: 0.03 },
    perProcessJ: { attributed_energy: 5.5 },
  });
});

test('RAPL’s package and DRAM totals make the machine’s energy when RAPL is there, before the estimate', () => {
  const tally = new ReportTally(new Map(METRICS.map((m) => [m.id, m])));
  const p = new Points();
  for (const [domain, j] of [['package_total', 40], ['dram_total', 5], ['pp0_total', 30], ['package', 20]] as const) {
    p.add('rapl_consumed_energy', 2, j, [['domain', domain]]);
    p.add('carbon_emission', 2, j / 100, [['domain', domain]]);
  }
  p.add('rapl_consumed_energy', 2, 20, [['domain', 'package']], MACHINE, { kind: 'cpu_package', id: '0' });
  p.add('estimated_consumed_energy', 2, 99, [['cpu_state', 'user']]);
  tally.consumerEvent({ type: 'start', consumers: [proc(7)] }, ts(1));
  tally.add(p.b.take());
  tally.consumerEvent({ type: 'end', consumers: [proc(7)] }, ts(3));
  assertNear(tally.figures().machine, { source: 'rapl', joules: 45, intervalS: 1, carbonG: 0.45 });
});

const RUN: ChildRun = { command: ['sh', '-c', 'make -j2 all'], pid: 4242, exitCode: 0, signal: null, wallS: 4, cpu: { userS: 1.5, systemS: 0.5 } };

test('the report gives the tree the share of the machine’s energy that its CPU time is of the busy CPU time, and carbon at the same intensity', () => {
  const figures: ReportFigures = {
    processes: 3,
    peakCpus: 1.25,
    peakMemoryBytes: 3 * 1024 * 1024,
    machine: { source: 'rapl', joules: 360, intervalS: 4.1, busyCpuS: 8, carbonG: 0.0475 },
    perProcessJ: { attributed_energy: 80 },
  };
  const r = buildReport(RUN, figures);
  assertNear(r, {
    command: ['sh', '-c', 'make -j2 all'],
    pid: 4242,
    exit_code: 0,
    signal: null,
    wall_time_s: 4,
    cpu_time_s: { user: 1.5, system: 0.5, total: 2 },
    cpu_average_percent: 50,
    cpu_peak_percent: 125,
    memory_peak_bytes: 3 * 1024 * 1024,
    processes_followed: 3,
    energy: {
      source: 'rapl',
      process_tree_j: 90,
      process_tree_wh: 0.025,
      busy_cpu_share: 0.25,
      machine_j: 360,
      machine_wh: 0.1,
      machine_interval_s: 4.1,
      process_tree_g_co2: 0.011875,
      machine_g_co2: 0.0475,
    },
    per_process_energy_j: { attributed_energy: 80 },
  });
  assert.equal(
    formatReport(r),
    [
      "alumet-agent exec report: sh -c 'make -j2 all'",
      '  pid 4242, exit code 0, 3 processes followed',
      '  wall time          4.00 s',
      '  CPU time           2.00 s (user 1.50 s, system 0.500 s)',
      '  CPU use            50.0 % of one CPU on average, 125 % at the peak',
      "  peak memory        3.0 MiB resident, the tree's processes together",
      "  energy             90.0 J (0.0250 Wh), 25.0 % of the machine's busy CPU time",
      '  machine energy     360 J (0.100 Wh) over 4.10 s (rapl)',
      '  carbon             0.0119 gCO₂, machine 0.0475 gCO₂ (475 gCO₂/kWh)',
      "  attributed_energy  80.0 J (0.0222 Wh), the tree's points of this per-process metric",
      '',
    ].join('\n'),
  );
});

test('the peak CPU use is never shown below the average: polls that missed the busy moments give way to the whole run', () => {
  const figures: ReportFigures = { processes: 2, peakCpus: 0, peakMemoryBytes: 1024 * 1024, perProcessJ: {} };
  const r = buildReport(RUN, figures);
  assert.equal(r.cpu_average_percent, 50);
  assert.equal(r.cpu_peak_percent, 50);
});

test('without process points, energy source or figures, the report says what it lacks instead of inventing it', () => {
  const bare = buildReport({ ...RUN, exitCode: null, signal: 'SIGKILL' }, undefined);
  assert.deepEqual([bare.cpu_peak_percent, bare.memory_peak_bytes, bare.energy, bare.processes_followed], [null, null, null, 0]);
  const text = formatReport(bare);
  assert.match(text, /pid 4242, killed by SIGKILL, 0 processes followed/);
  assert.match(text, /peak memory +not measured \(enable procfs processes\)/);
  assert.doesNotMatch(text, /energy|carbon/);
  const noKernel = buildReport(RUN, { processes: 1, machine: { source: 'energy-estimation-tdp', joules: 10, intervalS: 4 }, perProcessJ: {} });
  assert.equal(noKernel.energy!.process_tree_j, null);
  assert.match(formatReport(noKernel), /energy +not attributed: the tree's share needs the machine's busy CPU time \(enable procfs' kernel source\)/);
});
