// The aggregation transform (`transform/aggregation/plugin-aggregation`): the points of the chosen metrics go
// into windows of `interval`, one series per metric, resource, consumer and attributes; a window closes when
// a point of its series at or past its end arrives, and becomes one `<name>_sum` or `<name>_mean` point
// stamped with the window's start. Runs in a worker thread.

import { Batch, U64, defineTransform, type Attributes, type MetricHandle } from '../../protocol/element-api.js';

export interface AggregationTransformConfig {
  intervalNs: bigint;
  /** The mean of each window, else its sum. */
  mean: boolean;
  /** Forward the aggregated metrics' own points too. */
  keepInputs: boolean;
  series: ReadonlyArray<{ input: number; output: MetricHandle }>;
}

const NS_PER_S = 1_000_000_000n;

/** One series' open window. */
interface Window {
  output: MetricHandle;
  /** The series' point in `templates`: its resource, consumer and attributes. */
  template: number;
  startNs: bigint;
  /** The window's end, in whole seconds and nanoseconds, to compare timestamps without a bigint. */
  endSec: number;
  endNsec: number;
  sumF64: number;
  sumU64: bigint;
  count: number;
}

/** A window's result, waiting to be written into the batch forwarded. */
interface Closed {
  output: MetricHandle;
  template: number;
  startNs: bigint;
  value: number | bigint;
}

/** A key for an attribute set that tells value types apart: 1 (f64), 1n (u64) and "1" are three series. */
function attributesKey(attributes: Attributes): string {
  return JSON.stringify(attributes, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}u` : typeof v === 'string' ? `s${v}` : v));
}

export default defineTransform<AggregationTransformConfig>((config) => {
  const outputOf = new Map(config.series.map((s) => [s.input, s.output]));
  const windows = new Map<string, Window>();
  // One point per series, copied from its first point: what its results carry besides metric, time and value.
  let templates = new Batch(16);

  const open = (w: Window, tSec: number, tNsec: number): void => {
    const t = BigInt(tSec) * NS_PER_S + BigInt(tNsec);
    w.startNs = t - (t % config.intervalNs);
    const end = w.startNs + config.intervalNs;
    w.endSec = Number(end / NS_PER_S);
    w.endNsec = Number(end % NS_PER_S);
    w.sumF64 = 0;
    w.sumU64 = 0n;
    w.count = 0;
  };

  const close = (w: Window): Closed => {
    const u64 = w.output.type === U64;
    const value = config.mean ? (u64 ? w.sumU64 / BigInt(w.count) : w.sumF64 / w.count) : u64 ? w.sumU64 : w.sumF64;
    return { output: w.output, template: w.template, startNs: w.startNs, value };
  };

  const write = (out: Batch, results: readonly Closed[]): void => {
    for (const r of results) {
      const j = out.copyPointFrom(templates, r.template);
      out.metric[j] = r.output.id;
      out.tsSec[j] = Number(r.startNs / NS_PER_S);
      out.tsNsec[j] = Number(r.startNs % NS_PER_S);
      if (typeof r.value === 'bigint') out.setU64(j, r.value);
      else out.setF64(j, r.value);
    }
  };

  return {
    apply(batch: Batch): Batch {
      const n = batch.length;
      const closed: Closed[] = [];
      const keys: string[] = [];
      let aggregated = 0;
      for (let i = 0; i < n; i++) {
        const output = outputOf.get(batch.metric[i]!);
        if (output === undefined) continue;
        aggregated++;
        const a = batch.attrs[i]!;
        const attributes = (keys[a] ??= attributesKey(batch.attributesAt(i)));
        const s = batch.strings;
        const key = `${batch.metric[i]}\0${s[batch.resKind[i]!]}\0${s[batch.resId[i]!]}\0${s[batch.consKind[i]!]}\0${s[batch.consId[i]!]}\0${attributes}`;
        const tSec = batch.tsSec[i]!;
        const tNsec = batch.tsNsec[i]!;
        let w = windows.get(key);
        if (w === undefined) {
          templates = templates.withRoom(1);
          w = { output, template: templates.copyPointFrom(batch, i), startNs: 0n, endSec: 0, endNsec: 0, sumF64: 0, sumU64: 0n, count: 0 };
          open(w, tSec, tNsec);
          windows.set(key, w);
        } else if (tSec > w.endSec || (tSec === w.endSec && tNsec >= w.endNsec)) {
          closed.push(close(w));
          open(w, tSec, tNsec);
        }
        if (output.type === U64) w.sumU64 += batch.u64At(i);
        else w.sumF64 += batch.value[i]!;
        w.count++;
      }
      if (aggregated === 0) return batch;
      const kept = config.keepInputs ? batch : batch.filter((i) => !outputOf.has(batch.metric[i]!));
      if (closed.length === 0) return kept;
      const out = kept.withRoom(closed.length);
      write(out, closed);
      return out;
    },

    flush(): Batch | undefined {
      const open = [...windows.values()].filter((w) => w.count > 0);
      if (open.length === 0) return undefined;
      const out = new Batch(open.length);
      write(out, open.map(close));
      windows.clear();
      return out;
    },
  };
});
