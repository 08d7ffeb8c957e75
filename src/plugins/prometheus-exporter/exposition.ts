// The exporter's state and its text expositions (worker thread, pure: no HTTP). Every point sets its series'
// gauge (last value wins); a point of a delta metric also adds to the series' `_total` counter. A series that
// gets no point for `ttlMs` is dropped. `render` writes OpenMetrics 1.0 or the Prometheus text format 0.0.4.

import type { Batch, MetricInfo } from '../../protocol/element-api.js';
import { escapeHelp, familyName, formatLabels, seriesLabels, unitLabel } from '../shared/prometheus-naming.js';

export type Format = 'openmetrics' | 'text';

export const CONTENT_TYPES: Readonly<Record<Format, string>> = Object.freeze({
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
  text: 'text/plain; version=0.0.4; charset=utf-8',
});

export interface StoreOptions {
  readonly prefix: string;
  readonly suffix: string;
  readonly addAttributesToLabels: boolean;
  /** A series without a point for this long is dropped. */
  readonly ttlMs: number;
}

interface Series {
  /** `name{labels} ` in UTF-8, ready to take the value: a scrape copies bytes instead of building strings. */
  readonly gaugePrefix: Buffer;
  /** `name_total{labels} ` for a delta metric, else empty. */
  readonly totalPrefix: Buffer;
  value: number;
  total: number;
  /** When the last point arrived (the store's clock, ms). */
  updated: number;
}

interface Family {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  readonly delta: boolean;
  /** Series by their label text (`{…}`), in order of first point. */
  readonly series: Map<string, Series>;
}

export class SeriesStore {
  readonly #metrics: ReadonlyMap<number, MetricInfo>;
  readonly #options: StoreOptions;
  readonly #now: () => number;
  /** By family name, in order of first point (Rust: order of first registration). */
  readonly #families = new Map<string, Family>();
  /** Metric id → its family; a metric missing from the table gets a family named after its id. */
  readonly #byMetric = new Map<number, Family>();
  #lastSweep: number;
  /** Size of the last exposition, to size the next one's buffer. */
  #lastBytes = 0;

  constructor(metrics: ReadonlyMap<number, MetricInfo>, options: StoreOptions, now: () => number = () => performance.now()) {
    this.#metrics = metrics;
    this.#options = options;
    this.#now = now;
    this.#lastSweep = now();
  }

  /** Number of series exposed (gauges; a delta series' counter is not counted twice). */
  get size(): number {
    let n = 0;
    for (const f of this.#families.values()) n += f.series.size;
    return n;
  }

  /** Applies every point of `batch`. */
  ingest(batch: Batch): void {
    const now = this.#now();
    // Label text of each distinct (resource, consumer, attribute set) of this batch, computed once per batch.
    const labelCache = new Map<string, string>();
    const { strings, resKind, resId, consKind, consId, attrs, metric } = batch;
    const withAttributes = this.#options.addAttributesToLabels;
    for (let i = 0; i < batch.length; i++) {
      const family = this.#familyOf(metric[i]!);
      const key = `${resKind[i]},${resId[i]},${consKind[i]},${consId[i]},${withAttributes ? attrs[i] : 0}`;
      let labels = labelCache.get(key);
      if (labels === undefined) {
        const point = {
          resource: { kind: strings[resKind[i]!]!, id: strings[resId[i]!]! },
          consumer: { kind: strings[consKind[i]!]!, id: strings[consId[i]!]! },
          attributes: batch.attributesAt(i),
        };
        labels = formatLabels(seriesLabels(point, this.#metrics.get(metric[i]!), { addAttributesToLabels: withAttributes }));
        labelCache.set(key, labels);
      }
      let series = family.series.get(labels);
      if (series === undefined) {
        series = {
          gaugePrefix: Buffer.from(`${family.name}${labels} `, 'utf8'),
          totalPrefix: family.delta ? Buffer.from(`${family.name}_total${labels} `, 'utf8') : EMPTY,
          value: 0,
          total: 0,
          updated: now,
        };
        family.series.set(labels, series);
      }
      const v = batch.numberAt(i);
      series.value = v;
      if (family.delta && Number.isFinite(v)) series.total += v;
      series.updated = now;
    }
    // Dead series (ended processes, removed cgroups) also go when nobody scrapes.
    if (now - this.#lastSweep >= this.#options.ttlMs) this.sweep(now);
  }

  /** Drops the series without a point for `ttlMs`, and the families left empty. */
  sweep(now = this.#now()): void {
    this.#lastSweep = now;
    const oldest = now - this.#options.ttlMs;
    for (const family of this.#families.values()) {
      for (const [labels, series] of family.series) if (series.updated < oldest) family.series.delete(labels);
    }
  }

  /** The exposition of every live series, as text (tests; the server sends `renderBytes`). */
  render(format: Format): string {
    return this.renderBytes(format).toString('utf8');
  }

  /**
   * The exposition of every live series, in UTF-8: each sample is its series' prefix bytes, copied, then
   * the value, written as ASCII; a fresh buffer per scrape, since a response may still be sending the last.
   */
  renderBytes(format: Format): Buffer {
    this.sweep();
    const om = format === 'openmetrics';
    const out = new ByteWriter(this.#lastBytes + 4096);
    for (const f of this.#families.values()) {
      if (f.series.size === 0) continue;
      const help = escapeHelp(f.description, om);
      let head = `# HELP ${f.name} ${help}.\n# TYPE ${f.name} gauge\n`;
      if (om && f.unit !== '') head += `# UNIT ${f.name} ${f.unit}\n`;
      out.text(head);
      for (const s of f.series.values()) out.sample(s.gaugePrefix, formatValue(s.value));
      if (!f.delta) continue;
      // OpenMetrics names a counter family without `_total` (its samples add it), which would be the gauge
      // family's name: a family name appears once, so there the sum is typed `unknown` under its full name.
      const total = `${f.name}_total`;
      out.text(`# HELP ${total} ${help}: sum of the deltas since the series appeared.\n# TYPE ${total} ${om ? 'unknown' : 'counter'}\n`);
      for (const s of f.series.values()) out.sample(s.totalPrefix, formatValue(s.total));
    }
    if (om) out.text('# EOF\n');
    this.#lastBytes = out.length;
    return out.bytes();
  }

  #familyOf(id: number): Family {
    let family = this.#byMetric.get(id);
    if (family !== undefined) return family;
    const info = this.#metrics.get(id);
    const unit = info?.unit ?? { base: '1', prefix: '' };
    const name = familyName(info?.name ?? `unknown_metric_${id}`, unit, this.#options);
    family = this.#families.get(name);
    if (family === undefined) {
      family = { name, unit: unitLabel(unit), description: info?.description ?? 'a metric missing from the registry', delta: info?.delta === true, series: new Map() };
      this.#families.set(name, family);
    }
    this.#byMetric.set(id, family);
    return family;
  }
}

const EMPTY = Buffer.alloc(0);

/** Appends bytes to a buffer that doubles when full. */
class ByteWriter {
  #buf: Buffer;
  length = 0;

  constructor(size: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(size, 4096));
  }

  #room(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.length + n));
    this.#buf.copy(bigger, 0, 0, this.length);
    this.#buf = bigger;
  }

  text(s: string): void {
    this.#room(Buffer.byteLength(s, 'utf8'));
    this.length += this.#buf.write(s, this.length, 'utf8');
  }

  /** `prefix` then `value` (ASCII) and a line feed. */
  sample(prefix: Buffer, value: string): void {
    this.#room(prefix.length + value.length + 1);
    this.length += prefix.copy(this.#buf, this.length);
    this.length += this.#buf.write(value, this.length, 'latin1');
    this.#buf[this.length++] = 10;
  }

  bytes(): Buffer {
    return this.#buf.subarray(0, this.length);
  }
}

/**
 * A sample value as both formats read it: `NaN`, `+Inf`, `-Inf`, and otherwise the shortest decimal that
 * reads back to the same double, with `.0` on whole numbers as the Rust exporter (dtoa) writes them.
 */
export function formatValue(x: number): string {
  if (Number.isInteger(x)) {
    const s = String(x);
    return s.includes('e') ? s : s + '.0';
  }
  if (x !== x) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  return String(x);
}

/**
 * The format a scraper asks for: OpenMetrics when its `Accept` names `application/openmetrics-text` with a
 * weight at least that of `text/plain`, or names neither (no header, any type: the Rust exporter's format);
 * the text format 0.0.4 when it prefers `text/plain`.
 */
export function negotiate(accept: string | undefined): Format {
  if (accept === undefined || accept === '') return 'openmetrics';
  let om = -1;
  let text = -1;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((s) => s.trim().toLowerCase());
    let q = 1;
    for (const p of params) if (p.startsWith('q=')) q = Number(p.slice(2)) || 0;
    if (type === 'application/openmetrics-text') om = Math.max(om, q);
    else if (type === 'text/plain') text = Math.max(text, q);
  }
  if (om < 0 && text < 0) return 'openmetrics';
  return om > 0 && om >= text ? 'openmetrics' : 'text';
}

/** Whether `Accept-Encoding` accepts gzip (`gzip` or `*`, with a weight above 0). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false;
  for (const coding of acceptEncoding.split(',')) {
    const [name = '', ...params] = coding.split(';').map((s) => s.trim().toLowerCase());
    if (name !== 'gzip' && name !== 'x-gzip' && name !== '*') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}
