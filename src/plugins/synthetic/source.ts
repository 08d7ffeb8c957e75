// The synthetic source: a fixed shape of points on every poll, built once as a template batch and copied in
// bulk, with a running counter as the values. Runs in a worker thread; made for tests and benchmarks.

import { Batch, F64, LOCAL_MACHINE, defineSource, type Attributes, type MetricHandle } from '../../protocol/element-api.js';
import type { SyntheticConfig } from './config.js';

export interface SyntheticSourceConfig {
  /** Point j of a poll belongs to metrics[j % metrics.length]; all share one value type. */
  metrics: MetricHandle[];
  pointsPerPoll: SyntheticConfig['points_per_poll'];
  /** Attributes per point. */
  attributes: SyntheticConfig['attributes'];
  /** Point j is series (j div metrics.length) mod this of its metric, told apart by attribute values; 1 if absent. */
  seriesPerMetric?: SyntheticConfig['series_per_metric'];
  /** 0 = never; else the poll with this number (counting from 1) throws. */
  failAfterPolls: SyntheticConfig['fail_after_polls'];
}

const TWO_32 = 4294967296;

/** The points of one poll, with zero values. One attribute set per series, shared by its points. */
export function buildTemplate(config: SyntheticSourceConfig): Batch {
  const n = config.pointsPerPoll;
  const tpl = new Batch(n);
  const kind = tpl.intern(LOCAL_MACHINE.kind);
  const id = tpl.intern(LOCAL_MACHINE.id);
  const seriesPerMetric = config.seriesPerMetric ?? 1;
  const sets = config.metrics.map((_, m) =>
    Array.from({ length: seriesPerMetric }, (_, series) => {
      if (config.attributes === 0) return 0;
      const tail = seriesPerMetric === 1 ? '' : `_s${series}`;
      const attrs: Attributes = Array.from({ length: config.attributes }, (_, k) => [`attr_${k}`, `m${m}_${k}${tail}`] as const);
      return tpl.addAttrSet(attrs);
    }),
  );
  const f64 = config.metrics[0]!.type === F64;
  for (let j = 0; j < n; j++) {
    const m = j % config.metrics.length;
    const series = Math.floor(j / config.metrics.length) % seriesPerMetric;
    if (f64) tpl.setF64(j, 0);
    else tpl.setU64(j, 0);
    tpl.metric[j] = config.metrics[m]!.id;
    tpl.resKind[j] = kind;
    tpl.resId[j] = id;
    tpl.consKind[j] = kind;
    tpl.consId[j] = id;
    tpl.attrs[j] = sets[m]![series]!;
  }
  tpl.length = n;
  return tpl;
}

export default defineSource<SyntheticSourceConfig>((config) => {
  const template = buildTemplate(config);
  const n = template.length;
  const f64 = config.metrics[0]!.type === F64;
  let polls = 0;
  // Values count up from 0 across polls: f64 exactly up to 2^53, u64 as two 32-bit words.
  let next = 0;
  let lo = 0;
  let hi = 0;

  return {
    poll(out, ts) {
      polls++;
      if (polls === config.failAfterPolls) throw new Error(`synthetic failure after ${polls} polls`);
      out.appendAll(template, ts);
      const b = out.current;
      const end = b.length;
      if (f64) {
        const v = b.value;
        let c = next;
        for (let i = end - n; i < end; i++) v[i] = c++;
        next = c;
      } else {
        const w = b.valueWords;
        for (let i = end - n; i < end; i++) {
          w[2 * i] = lo;
          w[2 * i + 1] = hi;
          if (++lo === TWO_32) {
            lo = 0;
            hi++;
          }
        }
      }
    },
  };
});
