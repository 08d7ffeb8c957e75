// What a plot shows, independent of SVG or HTML: which series, grouped in one panel per unit, their labels
// and colours, the time range, and each series reduced to at most four vertices per pixel column (first,
// lowest, highest, last), so a line of a million points draws every peak with a few thousand vertices.

import type { Bucket } from './series-buckets.js';
import type { SeriesData } from './series-table.js';

export interface SeriesView {
  readonly label: string;
  readonly color: string;
  /** Time (ms) and value of each vertex, in time order. */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface Panel {
  /** The unit of every series of the panel ('' for none). */
  readonly unit: string;
  /** The metrics drawn in the panel, for its title. */
  readonly metrics: string[];
  readonly series: SeriesView[];
  /** Series of this unit left out to keep the panel readable. */
  readonly hidden: number;
  readonly min: number;
  readonly max: number;
}

export interface ChartModel {
  readonly panels: Panel[];
  readonly start: number;
  readonly end: number;
}

/** Without --metric, the plot shows the metrics whose series vary most (relative to their size). */
const DEFAULT_METRICS = 6;
/** Lines per panel beyond which the legend and the colours stop telling them apart. */
const MAX_SERIES_PER_PANEL = 10;

// Okabe–Ito colours (distinguishable with colour-blindness), then darker tones.
const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#8c564b', '#7f7f7f', '#bcbd22'];

const variance = (s: SeriesData): number => (s.count < 2 ? 0 : s.m2 / (s.count - 1));

/** Standard deviation over the mean's size: a CPU at 40±20 % varies more than a memory of 8 GB ± 1 MB. */
function relativeSpread(s: SeriesData): number {
  const sd = Math.sqrt(variance(s));
  return sd / Math.max(Math.abs(s.mean), sd, Number.MIN_VALUE);
}

/** The series to draw: all of them with --metric, else those of the DEFAULT_METRICS most varying metrics. */
export function chooseSeries(all: SeriesData[], metricsGiven: boolean): SeriesData[] {
  if (metricsGiven) return all;
  const spread = new Map<string, number>();
  for (const s of all) spread.set(s.metric, Math.max(spread.get(s.metric) ?? 0, relativeSpread(s)));
  const metrics = [...spread.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, DEFAULT_METRICS).map(([m]) => m);
  return all.filter((s) => metrics.includes(s.metric));
}

/** What tells the series apart: the metric, then whichever of resource, consumer and attributes is set. */
function labelOf(s: SeriesData): string {
  const parts = [s.metric];
  if (s.resource !== 'local_machine') parts.push(s.resource);
  if (s.consumer !== 'local_machine') parts.push(s.consumer);
  if (s.attributes.length > 0) parts.push(s.attributes.map(([k, v]) => `${k}=${v}`).join(' '));
  return parts.join(' ');
}

/** At most four vertices per column of `columns` over [start, end]: first, lowest, highest, last, in time order. */
function downsample(buckets: readonly Bucket[], start: number, end: number, columns: number): Array<[number, number]> {
  const span = end - start || 1;
  const out: Array<[number, number]> = [];
  let column = -1;
  let acc: Bucket | undefined;
  const flush = (): void => {
    if (acc === undefined) return;
    const vertices: Array<[number, number]> = [
      [acc.firstT, acc.firstV],
      [acc.minT, acc.minV],
      [acc.maxT, acc.maxV],
      [acc.lastT, acc.lastV],
    ];
    vertices.sort((a, b) => a[0] - b[0]);
    for (const v of vertices) {
      const prev = out.at(-1);
      if (prev === undefined || prev[0] !== v[0] || prev[1] !== v[1]) out.push(v);
    }
  };
  for (const b of buckets) {
    const c = Math.min(columns - 1, Math.max(0, Math.floor(((b.firstT - start) / span) * columns)));
    if (c !== column || acc === undefined) {
      flush();
      column = c;
      acc = { ...b };
      continue;
    }
    if (b.firstT < acc.firstT) [acc.firstT, acc.firstV] = [b.firstT, b.firstV];
    if (b.lastT >= acc.lastT) [acc.lastT, acc.lastV] = [b.lastT, b.lastV];
    if (b.minV < acc.minV) [acc.minT, acc.minV] = [b.minT, b.minV];
    if (b.maxV > acc.maxV) [acc.maxT, acc.maxV] = [b.maxT, b.maxV];
  }
  flush();
  return out;
}

/** Groups `series` into panels by unit (in order of first appearance) and reduces each to `columns` columns. */
export function buildChart(series: SeriesData[], columns: number): ChartModel {
  const bucketsOf = new Map(series.map((s) => [s, s.buckets.buckets()]));
  let start = Infinity;
  let end = -Infinity;
  for (const buckets of bucketsOf.values()) {
    if (buckets.length === 0) continue;
    start = Math.min(start, buckets[0]!.firstT);
    for (const b of buckets) end = Math.max(end, b.lastT);
  }
  const byUnit = new Map<string, SeriesData[]>();
  for (const s of series) {
    if (bucketsOf.get(s)!.length === 0) continue;
    const list = byUnit.get(s.unit) ?? [];
    list.push(s);
    byUnit.set(s.unit, list);
  }
  const panels: Panel[] = [];
  for (const [unit, list] of byUnit) {
    // The most varying lines first: those are the ones worth a colour when some must be left out.
    const shown = list.length <= MAX_SERIES_PER_PANEL ? list : [...list].sort((a, b) => variance(b) - variance(a)).slice(0, MAX_SERIES_PER_PANEL);
    let min = Infinity;
    let max = -Infinity;
    const views = shown.map((s, i) => {
      const points = downsample(bucketsOf.get(s)!, start, end, columns);
      for (const [, v] of points) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      return { label: labelOf(s), color: PALETTE[i % PALETTE.length]!, points };
    });
    panels.push({ unit, metrics: [...new Set(shown.map((s) => s.metric))], series: views, hidden: list.length - shown.length, min, max });
  }
  return { panels, start, end };
}
