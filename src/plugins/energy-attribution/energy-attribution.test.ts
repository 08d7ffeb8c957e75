// Tests of the energy-attribution plugin's definition: the Rust plugin's configs load, and every mistake in
// a formula's table is reported with its key (and, in expr, its position), also by the real binary.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Problems } from '../../agent/config/schema.js';
import { rmrf, runAgentToEnd, tempDir } from '../../../test/helpers/agent-process.js';
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
