// The energy-attribution plugin's `[plugins.energy-attribution]` keys, as the Rust plugin reads them, and
// the config type they give. Imported by the definition (main thread) and, as a type only, by the transform.

import { t, describeValue, type Infer, type Schema } from '../../agent/plugin-api.js';

/** An attribute filter value: equal to the attribute of that key (a string, a number or a boolean). */
export type AttributeFilter = string | number | boolean;

/** One time series of a formula: the points of one metric that pass the filters. */
export interface SeriesConfig {
  /** The metric whose points make the series. */
  metric: string;
  /** Keep only points whose resource (consumer) kind or id is this; ids are compared as text. */
  resource_kind?: string;
  resource_id?: string;
  consumer_kind?: string;
  consumer_id?: string;
  /** Copy the attributes of this series' points to the attributed points. */
  keep_attributes: boolean;
  /** Every other key: keep only points whose attribute of that name equals the value. */
  attributes: Record<string, AttributeFilter>;
}

const SELECTORS = ['resource_kind', 'resource_id', 'consumer_kind', 'consumer_id'] as const;

/**
 * `{ metric = "…", resource_kind = "…", keep_attributes = false, domain = "package_total" }`: fixed keys,
 * and any other key filters on an attribute, as the Rust plugin's flattened table does.
 */
const seriesSchema: Schema<SeriesConfig> = {
  expected: 'a table',
  defaultValue: () => ({ metric: '', keep_attributes: true, attributes: {} }),
  parse(value, path, problems) {
    const out = this.defaultValue();
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date) {
      problems.add(path, `expected a table such as { metric = "cpu_percent", kind = "total" }, got ${describeValue(value)}`);
      return out;
    }
    const table = value as Record<string, unknown>;
    if (table['metric'] === undefined) problems.add(`${path}.metric`, 'missing: the name of the metric whose points make this series');
    else out.metric = t.string('', { nonEmpty: true }).parse(table['metric'], `${path}.metric`, problems);
    for (const key of SELECTORS) {
      if (table[key] !== undefined) out[key] = t.string('').parse(table[key], `${path}.${key}`, problems);
    }
    if (table['keep_attributes'] !== undefined) out.keep_attributes = t.bool(true).parse(table['keep_attributes'], `${path}.keep_attributes`, problems);
    for (const [key, v] of Object.entries(table)) {
      if (key === 'metric' || key === 'keep_attributes' || (SELECTORS as readonly string[]).includes(key)) continue;
      const filter = attributeFilter(v);
      if (filter === undefined) {
        problems.add(`${path}.${key}`, `an attribute filter is a string, a number or a boolean, got ${describeValue(v)}`);
      } else out.attributes[key] = filter;
    }
    return out;
  },
};

function attributeFilter(v: unknown): AttributeFilter | undefined {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  // TOML integers beyond 2^53 come as bigints; attribute values that large compare as numbers anyway
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** A formula: every key is required, as in the Rust plugin (the definition's check says which is missing). */
const formulaSchema = t.table({
  /** The expression (evalexpr syntax) over the series' names; its value is in joules. */
  expr: t.optional(t.string('')),
  /** The per_resource series whose timestamps the others are interpolated at. */
  ref: t.optional(t.string('')),
  /** How long points are kept to interpolate: at least two poll intervals of the slowest input. */
  retention_time: t.optional(t.duration('60s')),
  /** Series grouped by resource (the energy of a CPU package, say). */
  per_resource: t.optional(t.map(seriesSchema)),
  /** Series grouped by resource and consumer (each process's CPU use, say). */
  per_consumer: t.optional(t.map(seriesSchema)),
});

export type FormulaConfig = Infer<typeof formulaSchema>;

export const attributionSchema = t.table({
  /** The formulas by name; each name is the name of the metric it produces. */
  formulas: t.map(formulaSchema),
});

/** `[plugins.energy-attribution]` with its defaults filled in. */
export type AttributionConfig = Infer<typeof attributionSchema>;
