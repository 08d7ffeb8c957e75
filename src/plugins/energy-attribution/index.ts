// The energy-attribution plugin: one transform per formula, which splits the energy of a resource between
// its consumers (`[plugins.energy-attribution.formulas.<name>]`, as the Rust plugin). Main thread: checks
// (every formula compiled here, so a bad one stops the agent with its position) and the transforms' start;
// the work happens in transform.ts. Disabled in a generated config, which has no formula to offer.

import { closest, definePlugin, type Problems } from '../../agent/plugin-api.js';
import { attributionSchema, type AttributionConfig, type FormulaConfig } from './config.js';
import { compileFormula, FormulaError } from './formula.js';
import { ATTRIBUTION_METRICS } from './metrics.js';
import type { AttributionTransformConfig } from './transform.js';

/** Formula names become metric and element names. */
const FORMULA_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** Series names are the formula's variables. */
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const REQUIRED: ReadonlyArray<[keyof FormulaConfig, string]> = [
  ['expr', 'the formula, e.g. expr = "cpu_energy * cpu_usage / 100.0"'],
  ['ref', 'the per_resource series whose timestamps the others are interpolated at, e.g. ref = "cpu_energy"'],
  ['retention_time', 'how long points are kept, at least two poll intervals of the slowest input, e.g. retention_time = "30s"'],
  ['per_resource', 'the series measured per resource, e.g. cpu_energy = { metric = "rapl_consumed_energy", domain = "package_total" }'],
  ['per_consumer', 'the series measured per consumer, e.g. cpu_usage = { metric = "cpu_percent", kind = "total" }'],
];

function checkFormula(name: string, f: FormulaConfig, problems: Problems): void {
  const path = `formulas.${name}`;
  if (!FORMULA_NAME.test(name)) {
    problems.add(path, `${JSON.stringify(name)} names the formula's metric and transform: use letters, digits, _, - and .`);
  }
  for (const [key, what] of REQUIRED) if (f[key] === undefined) problems.add(`${path}.${key}`, `missing: ${what}`);
  const resource = Object.keys(f.per_resource ?? {});
  const consumer = Object.keys(f.per_consumer ?? {});
  if (f.per_resource !== undefined && resource.length === 0) problems.add(`${path}.per_resource`, 'empty: the reference is one of these series');
  if (f.per_consumer !== undefined && consumer.length === 0) problems.add(`${path}.per_consumer`, 'empty: energy is attributed to the consumers of these series');
  for (const [table, names] of [['per_resource', resource], ['per_consumer', consumer]] as const) {
    for (const v of names) {
      if (!VARIABLE.test(v)) problems.add(`${path}.${table}.${v}`, `a series name is a name in expr: letters, digits and _, not starting with a digit`);
      if (table === 'per_consumer' && resource.includes(v)) problems.add(`${path}.per_consumer.${v}`, 'also a per_resource series; give each series its own name');
    }
  }
  if (f.ref !== undefined && f.per_resource !== undefined && !resource.includes(f.ref)) {
    const where = consumer.includes(f.ref) ? `, not a per_consumer one` : '';
    const hint = closest(f.ref, resource);
    problems.add(`${path}.ref`, `${JSON.stringify(f.ref)}: the reference must be a per_resource series${where}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ''} (per_resource: ${resource.join(', ') || 'none'})`);
  }
  // Without both tables, most names in expr would look unknown: the missing table is the one problem.
  if (f.expr !== undefined && f.per_resource !== undefined && f.per_consumer !== undefined) {
    const variables = [...resource, ...consumer];
    try {
      compileFormula(f.expr, variables, (n) => closest(n, variables));
    } catch (e) {
      if (!(e instanceof FormulaError)) throw e;
      problems.add(`${path}.expr`, `${JSON.stringify(f.expr)}: ${e.message}`);
    }
  }
}

export default definePlugin<AttributionConfig>({
  name: 'energy-attribution',
  version: '0.1.0',
  config: attributionSchema,
  enabledByDefault: false,
  metrics: ATTRIBUTION_METRICS,

  disabledNote: () =>
    'energy-attribution is disabled: it has no formula to offer. Add [plugins.energy-attribution.formulas.NAME]\n' +
    'tables (expr, ref, retention_time, per_resource, per_consumer; see its README), after the plugins it reads.',

  check(config, problems) {
    for (const [name, formula] of Object.entries(config.formulas)) checkFormula(name, formula, problems);
  },

  start(config, ctx) {
    const formulas = Object.entries(config.formulas);
    if (formulas.length === 0) ctx.log.warn('plugins.energy-attribution has no formula: nothing is attributed (add [plugins.energy-attribution.formulas.NAME])');
    for (const [name, formula] of formulas) {
      const element: AttributionTransformConfig = {
        name,
        formula: formula as Required<FormulaConfig>,
        output: ctx.metric(name, ATTRIBUTION_METRICS['<formula>']),
      };
      ctx.transform(name, new URL('./transform.js', import.meta.url), element);
    }
  },
});
