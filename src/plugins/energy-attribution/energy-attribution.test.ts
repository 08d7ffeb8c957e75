// Tests of the energy-attribution plugin: the agent runs it behind procfs' process sources (on a fake /proc)
// and the rapl source (on a fake powercap tree), in real worker threads (plugin harness); the Rust plugin's
// configs load; and every mistake in a formula's table is reported with its key (and, in expr, its
// position), also by the real binary.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Problems } from '../../agent/config/schema.js';
import type { Timestamp } from '../../protocol/batch.js';
import { rmrf, runAgentToEnd, tempDir } from '../../../test/helpers/agent-process.js';
import { fakePowercap } from '../../../test/helpers/fake-powercap.js';
import { fakeProcesses } from '../../../test/helpers/fake-processes.js';
import { startPlugin, type RecordedPoint } from '../../../test/helpers/plugin-harness.js';
import procfs from '../procfs/index.js';
import rapl from '../rapl/index.js';
import attribution from './index.js';

/** Files check() problems under plugins.energy-attribution, as the config loader does. */
class Prefixed extends Problems {
  readonly #target: Problems;
  constructor(target: Problems) {
    super();
    this.#target = target;
  }
  override add(path: string, message: string): void {
    this.#target.add(path ? `plugins.energy-attribution.${path}` : 'plugins.energy-attribution', message);
  }
}

function problemsOf(input: unknown): string[] {
  const problems = new Problems();
  const config = attribution.config.parse(input, 'plugins.energy-attribution', problems);
  // As the loader: the cross-key checks run on a table the schema accepted.
  if (problems.empty) attribution.check?.(config, new Prefixed(problems));
  return problems.list;
}

/** The formula of the Rust plugin's README. */
const README_FORMULA = {
  expr: 'cpu_energy * cpu_usage / 100.0',
  ref: 'cpu_energy',
  retention_time: '1s',
  per_resource: { cpu_energy: { metric: 'rapl_consumed_energy', resource_kind: 'local_machine', domain: 'package_total' } },
  per_consumer: { cpu_usage: { metric: 'cpu_percent', kind: 'total' } },
};
const withFormula = (changes: Record<string, unknown>) => ({ formulas: { attributed_energy: { ...README_FORMULA, ...changes } } });

test('the Rust plugin’s configs load: its README’s formula, and its tests’ CPU and GPU formulas together', () => {
  assert.deepEqual(problemsOf(withFormula({})), []);
  const parsed = attribution.config.parse(withFormula({}), 'plugins.energy-attribution', new Problems());
  assert.deepEqual(parsed.formulas['attributed_energy']!.per_resource!['cpu_energy'], {
    metric: 'rapl_consumed_energy',
    resource_kind: 'local_machine',
    keep_attributes: true,
    attributes: { domain: 'package_total' },
  });
  const gpu = {
    expr: 'gpu_energy * (u_major * 0.8 + u_mem * 0.2)',
    ref: 'gpu_energy',
    retention_time: '60s',
    per_resource: { gpu_energy: { metric: 'nvml_energy_consumption', resource_kind: 'gpu' } },
    per_consumer: { u_major: { metric: 'nvml_gpu_utilization' }, u_mem: { metric: 'nvml_memory_utilization', keep_attributes: false } },
  };
  assert.deepEqual(problemsOf({ formulas: { attributed_energy_cpu: { ...README_FORMULA, retention_time: '60s' }, attributed_energy_gpu: gpu } }), []);
});

test('every mistake in a formula’s table names its key and what would be valid', () => {
  const P = 'plugins.energy-attribution.formulas.attributed_energy';
  const { per_consumer: _c, retention_time: _r, ...noConsumerNoRetention } = README_FORMULA;
  const cases: Array<[unknown, RegExp[]]> = [
    [{ formulas: { attributed_energy: noConsumerNoRetention } }, [/\.retention_time: missing: how long points are kept/, /\.per_consumer: missing: the series measured per consumer/]],
    [withFormula({ expr: 'cpu_energy * cpu_usge / 100.0' }), [/^P\.expr: "cpu_energy \* cpu_usge \/ 100\.0": unknown name cpu_usge at character 14; did you mean cpu_usage\?/]],
    [withFormula({ expr: 'cpu_energy * (cpu_usage / 100.0' }), [/^P\.expr: "cpu_energy \* \(cpu_usage \/ 100\.0": Unclosed \( at the end of the formula$/]],
    [withFormula({ ref: 'cpu_usage' }), [/^P\.ref: "cpu_usage": the reference must be a per_resource series, not a per_consumer one/]],
    [withFormula({ ref: 'cpu_enrgy' }), [/^P\.ref: "cpu_enrgy": the reference must be a per_resource series; did you mean "cpu_energy"\? \(per_resource: cpu_energy\)$/]],
    [withFormula({ retention_time: '1 minute' }), [/^P\.retention_time: /]],
    [withFormula({ per_consumer: {} }), [/^P\.per_consumer: empty: energy is attributed to the consumers of these series$/, /^P\.expr: .*unknown name cpu_usage at character 14 \(the series are cpu_energy\)$/]],
    [withFormula({ per_consumer: { cpu_usage: 'cpu_percent' } }), [/^P\.per_consumer\.cpu_usage: expected a table such as \{ metric = "cpu_percent", kind = "total" \}, got the string "cpu_percent"$/]],
    [withFormula({ per_consumer: { cpu_usage: { kind: 'total' } } }), [/^P\.per_consumer\.cpu_usage\.metric: missing: the name of the metric/]],
    [withFormula({ per_consumer: { cpu_usage: { metric: 'cpu_percent', kind: ['total'] } } }), [/^P\.per_consumer\.cpu_usage\.kind: an attribute filter is a string, a number or a boolean, got an array$/]],
    [withFormula({ per_consumer: { cpu_usage: { metric: 'cpu_percent', keep_attributes: 'yes' } } }), [/^P\.per_consumer\.cpu_usage\.keep_attributes: expected a boolean/]],
    [
      withFormula({ expr: 'cpu_energy * cpu_energy', per_consumer: { cpu_energy: { metric: 'cpu_percent' } } }),
      [/^P\.per_consumer\.cpu_energy: also a per_resource series; give each series its own name$/],
    ],
    [withFormula({ per_consumer: { 'cpu-usage': { metric: 'cpu_percent' } } }), [/^P\.per_consumer\.cpu-usage: a series name is a name in expr/, /^P\.expr: .*unknown name cpu_usage/]],
    [{ formulas: { 'attributed energy': README_FORMULA } }, [/^plugins\.energy-attribution\.formulas\.attributed energy: "attributed energy" names the formula's metric and transform/]],
    [{ formulas: { attributed_energy: 'x' } }, [/^plugins\.energy-attribution\.formulas\.attributed_energy: expected a table, got the string "x"$/]],
  ];
  for (const [input, messages] of cases) {
    const problems = problemsOf(input);
    const patterns = messages.map((m) => new RegExp(m.source.replace('^P', `^${P.replaceAll('.', '\\.')}`)));
    assert.equal(problems.length, patterns.length, `${JSON.stringify(input)} → ${problems.join(' | ')}`);
    patterns.forEach((p, i) => assert.match(problems[i]!, p));
  }
});

test('the generated config has no formula, and the plugin then adds no transform', () => {
  assert.deepEqual(attribution.config.defaultValue(), { formulas: {} });
  assert.equal(attribution.enabledByDefault, false);
});

test('the agent refuses a bad formula with its key and position, and exits 1 without a stack trace', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const config = join(dir, 'alumet-config.toml');
  writeFileSync(
    config,
    [
      '[plugins.procfs]',
      '[plugins.energy-attribution.formulas.attributed_energy]',
      'expr = "cpu_energy * cpu_usage / / 100.0"',
      'ref = "cpu_energy"',
      'retention_time = "30s"',
      '[plugins.energy-attribution.formulas.attributed_energy.per_resource]',
      'cpu_energy = { metric = "estimated_consumed_energy", cpu_state = "user" }',
      '[plugins.energy-attribution.formulas.attributed_energy.per_consumer]',
      'cpu_usage = { metric = "cpu_percent", kind = "total" }',
      '',
    ].join('\n'),
  );
  for (const command of [['config', 'validate'], ['exec', 'true']]) {
    const r = await runAgentToEnd(['--config', config, ...command], { cwd: dir });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /plugins\.energy-attribution\.formulas\.attributed_energy\.expr: "cpu_energy \* cpu_usage \/ \/ 100\.0": Expected expression after \/ at character 26/);
    assert.doesNotMatch(r.output, /internal error|\n\s+at /);
  }
});

// ---------------------------------------------------------------------------------------------------------
// through the agent

/** Seconds from `a` to `b`, exact enough for interpolation (a timestamp as one float is not). */
const between = (a: Timestamp, b: Timestamp): number => b.sec - a.sec + (b.nsec - a.nsec) / 1e9;

/** The series' value at `t` by linear interpolation between its points around `t` (or at `t`). */
function valueAt(series: RecordedPoint[], t: Timestamp): number {
  const k = series.findIndex((p) => between(t, p.timestamp) >= 0);
  assert.ok(k >= 0, `a point at or after ${JSON.stringify(t)}`);
  const after = series[k]!;
  if (between(t, after.timestamp) === 0) return after.value as number;
  assert.ok(k > 0, `a point before ${JSON.stringify(t)}`);
  const before = series[k - 1]!;
  const u = between(before.timestamp, t) / between(before.timestamp, after.timestamp);
  return (1 - u) * (before.value as number) + u * (after.value as number);
}

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

test('behind procfs and rapl, the energy attributed to the processes at each package point sums to its energy times their CPU shares', async (t) => {
  const powercap = fakePowercap(t);
  const proc = fakeProcesses(t);
  const PIDS = [101, 102, 103];
  // CPU ticks (10 ms) each process uses per round; the shares follow from the real time between polls.
  const TICKS = [3, 1, 0];
  for (const pid of PIDS) proc.set(pid, { comm: `worker${pid}` });
  const usage = { cpu_usage: { metric: 'cpu_percent', kind: 'total' } };
  const run = await startPlugin(t, attribution, {
    config: {
      formulas: {
        attributed_energy: { ...README_FORMULA, retention_time: '1h', per_consumer: usage },
        // Two per_resource series of one metric, the reference and another, both bound.
        attributed_memory_and_cpu: {
          expr: '(pkg + dram) * cpu_usage / 100.0',
          ref: 'pkg',
          retention_time: '1h',
          per_resource: { pkg: { metric: 'rapl_consumed_energy', domain: 'package_total' }, dram: { metric: 'rapl_consumed_energy', domain: 'dram_total', keep_attributes: false } },
          per_consumer: usage,
        },
      },
    },
    with: [
      {
        plugin: procfs,
        config: {
          root: proc.root,
          kernel: { enabled: false },
          memory: { enabled: false },
          network: { enabled: false },
          processes: { refresh_interval: '1h', groups: [{ poll_interval: '1h', flush_interval: '1h' }] },
        },
      },
      { plugin: rapl, config: { poll_interval: '1h', flush_interval: '1h', powercap_root: powercap.root } },
    ],
  });
  const sources = PIDS.map((pid) => `source/procfs/pid-${pid}`);
  for (const name of sources) await run.waitForElement(name, 'its first poll', (e) => e.counters['polls']! >= 1);

  // Each round: the processes use some CPU and are polled, then the packages use energy and are polled.
  const ROUNDS = 4;
  for (let round = 1; round <= ROUNDS; round++) {
    PIDS.forEach((pid, i) => proc.set(pid, { comm: `worker${pid}`, utime: round * TICKS[i]! }));
    await run.trigger(...sources);
    for (const zone of ['intel-rapl:0', 'intel-rapl:1']) powercap.advance(zone, BigInt(round) * 7_000_000n);
    powercap.advance('intel-rapl:0/intel-rapl:0:2', 2_000_000n);
    powercap.advance('intel-rapl:1/intel-rapl:1:2', 1_000_000n);
    await run.trigger('source/rapl/in');
  }
  // Package points 1 to ROUNDS - 1 have process points after them: each is attributed to all three processes.
  const attributedOf = (points: RecordedPoint[], metric: string) => points.filter((p) => p.metric === metric);
  await run.waitForPoints('the attributions of both formulas', (points) =>
    ['attributed_energy', 'attributed_memory_and_cpu'].every((m) => attributedOf(points, m).length === (ROUNDS - 1) * PIDS.length),
  );
  const points = await run.stop();

  const total = (domain: string) => points.filter((p) => p.metric === 'rapl_consumed_energy' && p.attributes['domain'] === domain);
  const packages = total('package_total');
  assert.deepEqual(packages.map((p) => p.value), [14, 28, 42, 56], 'both packages, 7 J × round each');
  const usageOf = (pid: number) => points.filter((p) => p.metric === 'cpu_percent' && p.consumer.id === String(pid) && p.attributes['kind'] === 'total');
  const energy = attributedOf(points, 'attributed_energy');
  const both = attributedOf(points, 'attributed_memory_and_cpu');
  for (const pkg of packages.slice(0, ROUNDS - 1)) {
    const at = pkg.timestamp;
    const dram = valueAt(total('dram_total'), at);
    const shares = PIDS.map((pid) => valueAt(usageOf(pid), at) / 100);
    // One point per process, in the order their usage first arrived: sorted by pid here.
    const here = (list: RecordedPoint[]) => list.filter((p) => between(p.timestamp, at) === 0).sort((a, b) => Number(a.consumer.id) - Number(b.consumer.id));
    assert.deepEqual(here(energy).map((p) => p.consumer), PIDS.map((pid) => ({ kind: 'process', id: String(pid) })));
    here(energy).forEach((p, i) => {
      assert.ok(close(p.value as number, (pkg.value as number) * shares[i]!), `${p.value} J for pid ${PIDS[i]} at ${JSON.stringify(at)}: ${pkg.value} J × ${shares[i]}`);
      assert.deepEqual(p.attributes, { domain: 'package_total', kind: 'total' });
      assert.deepEqual([p.resource, p.type], [{ kind: 'local_machine', id: '' }, 'f64']);
    });
    const sum = here(energy).reduce((s, p) => s + (p.value as number), 0);
    const share = shares.reduce((s, x) => s + x, 0);
    assert.ok(close(sum, (pkg.value as number) * share), `Σ ${sum} J = ${pkg.value} J × ${share}`);
    const sumBoth = here(both).reduce((s, p) => s + (p.value as number), 0);
    assert.ok(close(sumBoth, ((pkg.value as number) + dram) * share), `Σ ${sumBoth} J = (${pkg.value} + ${dram}) J × ${share}`);
  }
  assert.ok(energy.some((p) => (p.value as number) > 0), 'some energy is attributed');
  assert.deepEqual(
    run.elements().filter((e) => e.kind === 'transform').map((e) => e.name),
    ['transform/energy-attribution/attributed_energy', 'transform/energy-attribution/attributed_memory_and_cpu'],
  );
});
