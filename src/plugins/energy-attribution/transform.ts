// The energy-attribution transform of one formula: takes the points of its series from every batch (they
// go on unchanged), and appends the attributed energy of each consumer as soon as every series covers a
// reference timestamp. Runs in a worker thread.

import { BatchBuilder, closest, defineTransform, parseDuration, U64, type Attributes, type AttrValue, type Batch, type MetricHandle } from '../../protocol/element-api.js';
import type { AttributeFilter, FormulaConfig, SeriesConfig } from './config.js';
import { Attributor, type SeriesInfo } from './attributor.js';
import { compileFormula } from './formula.js';

export interface AttributionTransformConfig {
  /** The formula's name, which is its metric's. */
  readonly name: string;
  /** The formula's table, checked by the definition: every key is there. */
  readonly formula: Required<FormulaConfig>;
  readonly output: MetricHandle;
}

/** A series as this transform matches points against it. */
interface SeriesMatcher {
  readonly index: number;
  readonly config: SeriesConfig;
  readonly attributes: ReadonlyArray<readonly [string, AttributeFilter]>;
}

export default defineTransform<AttributionTransformConfig>((config, ctx) => {
  const { formula } = config;
  // The per_resource series first: the Attributor's variables are in this order.
  const configs = [
    ...Object.entries(formula.per_resource).map(([name, s]) => ({ name, s, perConsumer: false })),
    ...Object.entries(formula.per_consumer).map(([name, s]) => ({ name, s, perConsumer: true })),
  ];
  const idByName = new Map([...ctx.metrics.values()].map((m) => [m.name, m.id]));
  const byMetric = new Map<number, SeriesMatcher[]>();
  const series: SeriesInfo[] = configs.map(({ name, s, perConsumer }, index) => {
    const id = idByName.get(s.metric);
    if (id === undefined) throw unknownMetric(config.name, name, perConsumer, s.metric, idByName.keys());
    const matchers = byMetric.get(id) ?? [];
    matchers.push({ index, config: s, attributes: Object.entries(s.attributes) });
    byMetric.set(id, matchers);
    return { name, perConsumer, keepAttributes: s.keep_attributes, integers: ctx.metrics.get(id)!.type === U64 };
  });
  const names = series.map((s) => s.name);
  const attributor = new Attributor({
    series,
    ref: names.indexOf(formula.ref),
    retentionNs: parseDuration(formula.retention_time),
    formula: compileFormula(formula.expr, names),
  });
  let skippedWarned = false;

  return {
    apply(batch: Batch): Batch {
      let taken = 0;
      for (let i = 0; i < batch.length; i++) {
        const matchers = byMetric.get(batch.metric[i]!);
        if (matchers === undefined) continue;
        for (const m of matchers) {
          if (!accepts(m, batch, i)) continue;
          const p = batch.pointAt(i);
          attributor.add(m.index, p.resource, p.consumer, { ...p.timestamp, value: batch.numberAt(i), attributes: p.attributes });
          taken++;
        }
      }
      if (taken === 0) return batch;
      const produced = new BatchBuilder();
      attributor.attribute((a) => produced.push(config.output, a.timestamp, a.value, { resource: a.resource, consumer: a.consumer, attributes: a.attributes }));
      if (attributor.skipped > 0 && !skippedWarned) {
        skippedWarned = true;
        ctx.log.warn(`formula ${config.name} gave a value that is not a number (a division by zero?): such values are skipped (warned once)`);
      }
      const points = produced.take();
      if (points.length === 0) return batch;
      const out = batch.withRoom(points.length);
      for (let j = 0; j < points.length; j++) out.copyPointFrom(points, j);
      return out;
    },
  };
});

function accepts(m: SeriesMatcher, batch: Batch, i: number): boolean {
  const c = m.config;
  const s = batch.strings;
  if (c.resource_kind !== undefined && s[batch.resKind[i]!] !== c.resource_kind) return false;
  if (c.resource_id !== undefined && s[batch.resId[i]!] !== c.resource_id) return false;
  if (c.consumer_kind !== undefined && s[batch.consKind[i]!] !== c.consumer_kind) return false;
  if (c.consumer_id !== undefined && s[batch.consId[i]!] !== c.consumer_id) return false;
  if (m.attributes.length === 0) return true;
  const attrs = batch.attributesAt(i);
  return m.attributes.every(([key, want]) => matches(attrs, key, want));
}

/** Whether the point's attribute `key` equals `want`; numbers compare by value, u64 or f64 alike. */
function matches(attrs: Attributes, key: string, want: AttributeFilter): boolean {
  const found = attrs.find(([k]) => k === key);
  if (found === undefined) return false;
  const v: AttrValue = found[1];
  if (typeof want === 'number') return (typeof v === 'number' || typeof v === 'bigint') && Number(v) === want;
  return v === want;
}

function unknownMetric(formula: string, series: string, perConsumer: boolean, metric: string, known: Iterable<string>): Error {
  const hint = closest(metric, [...known]);
  return new Error(
    `formula ${formula}: ${perConsumer ? 'per_consumer' : 'per_resource'}.${series} reads metric ${JSON.stringify(metric)}, which no enabled plugin registers` +
      `${hint ? `; did you mean ${JSON.stringify(hint)}?` : ''} (enable the plugin that measures it)`,
  );
}
