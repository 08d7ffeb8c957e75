// Every series of the file that the filters let through: one per metric, resource, consumer and attribute
// set, each with its bucketed points and running statistics (count, mean, variance by Welford's method) that
// choose the default plot. With `rate`, delta metrics become per-second rates as the points arrive.

import type { CsvPoint } from './alumet-rows.js';
import { splitMetricUnit } from './metric-unit.js';
import { SeriesBuckets } from './series-buckets.js';

export interface SeriesData {
  readonly metric: string;
  /** The unit shown on the axis: the metric's, or `<unit>/s` for a rate. */
  readonly unit: string;
  readonly resource: string;
  readonly consumer: string;
  readonly attributes: ReadonlyArray<readonly [string, string]>;
  readonly buckets: SeriesBuckets;
  /** Drawn as a per-second rate (`--rate`, and a delta metric). */
  readonly asRate: boolean;
  count: number;
  mean: number;
  /** Sum of squared differences from the mean (Welford). */
  m2: number;
  /** The previous point's time, for rates. */
  previousTime?: number;
}

/**
 * The delta metrics of Alumet's and our plugins whose name does not say so (the CSV does not tell deltas from
 * gauges): see the Metrics tables of the procfs, cgroups and rapl READMEs.
 */
const DELTA_METRICS = new Set([
  'kernel_cpu_time',
  'kernel_context_switches',
  'kernel_new_forks',
  'network_bytes',
  'network_packets',
  'network_packet_drops',
  'network_errors',
  'io_pressure_some_total',
  'io_pressure_full_total',
]);

/**
 * Metrics that count what happened since the previous point, so their rate is meaningful: the known ones,
 * any `*_delta*`, and energies (RAPL's, the estimates' and the attributions' joules are per interval).
 */
function isDeltaMetric(metric: string): boolean {
  const { name, unit } = splitMetricUnit(metric);
  return DELTA_METRICS.has(name) || name.includes('delta') || /^(?:[nμµmkMG]|nano|micro|milli|kilo|mega|giga)?(?:J|Wh|W\.h)$/.test(unit);
}

export class SeriesTable {
  readonly #series = new Map<string, SeriesData>();
  readonly #rate: boolean;

  constructor(opts: { rate: boolean }) {
    this.#rate = opts.rate;
  }

  get size(): number {
    return this.#series.size;
  }

  all(): SeriesData[] {
    return [...this.#series.values()];
  }

  add(p: CsvPoint): void {
    const key = `${p.metric}\u0000${p.resource}\u0000${p.consumer}\u0000${p.attributes.map(([k, v]) => `${k}=${v}`).join('\u0000')}`;
    let s = this.#series.get(key);
    if (s === undefined) {
      const unit = splitMetricUnit(p.metric).unit;
      const asRate = this.#rate && isDeltaMetric(p.metric);
      s = {
        metric: p.metric,
        unit: asRate ? `${unit || '1'}/s` : unit,
        resource: p.resource,
        consumer: p.consumer,
        attributes: p.attributes,
        buckets: new SeriesBuckets(),
        asRate,
        count: 0,
        mean: 0,
        m2: 0,
      };
      this.#series.set(key, s);
    }
    let value = p.value;
    if (s.asRate) {
      const previous = s.previousTime;
      s.previousTime = p.time;
      // The first point has no interval to divide by; a repeated timestamp neither.
      if (previous === undefined || p.time <= previous) return;
      value = p.value / ((p.time - previous) / 1000);
    }
    s.buckets.add(p.time, value);
    if (!Number.isFinite(value)) return;
    s.count++;
    const d = value - s.mean;
    s.mean += d / s.count;
    s.m2 += d * (value - s.mean);
  }
}
