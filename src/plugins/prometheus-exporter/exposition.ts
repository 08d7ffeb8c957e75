// The exporter's state and its text expositions (worker thread, pure: no HTTP). Every point sets its series'
// gauge (last value wins); a point of a delta metric also adds to the series' `_total` counter. A series that
// gets no point for `ttlMs` is dropped. `render` writes OpenMetrics 1.0 or the Prometheus text format 0.0.4.

import type { Attributes, Batch, MetricInfo } from '../../protocol/element-api.js';
import { escapeHelp, familyName, formatLabels, seriesLabels, unitLabel } from '../shared/prometheus-naming.js';
import { formatAttrValue } from '../shared/rust-format.js';

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
  readonly family: Family;
  /** The label text (`{…}`), its key in `family.series`. */
  readonly labels: string;
  /** `name{labels} ` in UTF-8, ready to take the value. */
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
  readonly delta: boolean;
  /** Its `# HELP`, `# TYPE` (and `# UNIT`) lines in each format, in UTF-8. */
  readonly head: Readonly<Record<Format, Buffer>>;
  /** The same for its `_total` family (delta metrics), else empty. */
  readonly totalHead: Readonly<Record<Format, Buffer>>;
  /** Series by their label text, in order of first point. */
  readonly series: Map<string, Series>;
}

/**
 * An exposition without its values: every byte of it but the values, and where each value goes. It holds
 * until a series comes or goes, so a scrape only copies the bytes between two values and writes the value.
 */
interface Layout {
  readonly text: Buffer;
  /** Offset in `text` of each value, ascending (the text after it starts with its line feed). */
  readonly valueAt: Uint32Array;
  /** Whose value goes there: the series' gauge, or its sum where `isTotal` is 1. */
  readonly series: readonly Series[];
  readonly isTotal: Uint8Array;
}

export class SeriesStore {
  readonly #metrics: ReadonlyMap<number, MetricInfo>;
  readonly #options: StoreOptions;
  readonly #now: () => number;
  /** By family name, in order of first point (Rust: order of first registration). */
  readonly #families = new Map<string, Family>();
  /** Metric id → its family; a metric missing from the table gets a family named after its id. */
  readonly #byMetric = new Map<number, Family>();
  /**
   * Series by what a point says of it (metric id, resource, consumer, attributes as text; see `keyPart`): a
   * point of a known series costs one lookup, not its labels' sorting and escaping. Several keys may lead to
   * one series (attributes that give the same labels).
   */
  readonly #byPoint = new Map<string, Series>();
  /** The layout of each format, built at the first scrape after a series came or went. */
  readonly #layouts = new Map<Format, Layout>();
  #lastSweep: number;
  /** The oldest `updated` of any series (or earlier): nothing expires before it is `ttlMs` old. */
  #oldestUpdate = Infinity;

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
    const { strings, resKind, resId, consKind, consId, attrs, metric } = batch;
    const withAttributes = this.#options.addAttributesToLabels;
    // The key parts of this batch's strings and attribute sets, each made once per batch (the tables are
    // the batch's own: their indexes mean nothing in the next one).
    const stringKeys: Array<string | undefined> = new Array(strings.length);
    const attrKeys: Array<string | undefined> = new Array(batch.attrSets.length + 1);
    const stringKey = (k: number): string => (stringKeys[k] ??= keyPart(strings[k]!));
    for (let i = 0; i < batch.length; i++) {
      const a = withAttributes ? attrs[i]! : 0;
      const key = `${metric[i]}:${stringKey(resKind[i]!)}${stringKey(resId[i]!)}${stringKey(consKind[i]!)}${stringKey(consId[i]!)}${(attrKeys[a] ??= attributesKey(batch.attributesAt(i)))}`;
      let series = this.#byPoint.get(key);
      if (series === undefined) {
        series = this.#seriesOf(batch, i, now);
        this.#byPoint.set(key, series);
      }
      const v = batch.numberAt(i);
      series.value = v;
      if (series.family.delta && Number.isFinite(v)) series.total += v;
      series.updated = now;
    }
    // Dead series (ended processes, removed cgroups) also go when nobody scrapes.
    if (now - this.#lastSweep >= this.#options.ttlMs) this.sweep(now);
  }

  /** The series of point `i` of `batch`, created if new; `now` is its first update. */
  #seriesOf(batch: Batch, i: number, now: number): Series {
    const { strings } = batch;
    const id = batch.metric[i]!;
    const family = this.#familyOf(id);
    const point = {
      resource: { kind: strings[batch.resKind[i]!]!, id: strings[batch.resId[i]!]! },
      consumer: { kind: strings[batch.consKind[i]!]!, id: strings[batch.consId[i]!]! },
      attributes: batch.attributesAt(i),
    };
    const labels = formatLabels(seriesLabels(point, this.#metrics.get(id), { addAttributesToLabels: this.#options.addAttributesToLabels }));
    let series = family.series.get(labels);
    if (series === undefined) {
      series = {
        family,
        labels,
        gaugePrefix: Buffer.from(`${family.name}${labels} `, 'utf8'),
        totalPrefix: family.delta ? Buffer.from(`${family.name}_total${labels} `, 'utf8') : EMPTY,
        value: 0,
        total: 0,
        updated: now,
      };
      family.series.set(labels, series);
      this.#oldestUpdate = Math.min(this.#oldestUpdate, now);
      this.#layouts.clear();
    }
    return series;
  }

  /** Drops the series without a point for `ttlMs`. */
  sweep(now = this.#now()): void {
    this.#lastSweep = now;
    const oldest = now - this.#options.ttlMs;
    if (!(this.#oldestUpdate < oldest)) return;
    let dropped = false;
    let oldestUpdate = Infinity;
    for (const family of this.#families.values()) {
      for (const series of family.series.values()) {
        if (series.updated < oldest) {
          family.series.delete(series.labels);
          dropped = true;
        } else if (series.updated < oldestUpdate) oldestUpdate = series.updated;
      }
    }
    this.#oldestUpdate = oldestUpdate;
    if (!dropped) return;
    this.#layouts.clear();
    for (const [key, series] of this.#byPoint) if (series.family.series.get(series.labels) !== series) this.#byPoint.delete(key);
  }

  /** The exposition of every live series, as text (tests; the server sends `renderBytes`). */
  render(format: Format): string {
    return this.renderBytes(format).toString('utf8');
  }

  /**
   * The exposition of every live series, in UTF-8: the layout's bytes with the values written in; a fresh
   * buffer per scrape, since a response may still be sending the last.
   */
  renderBytes(format: Format): Buffer {
    this.sweep();
    let layout = this.#layouts.get(format);
    if (layout === undefined) {
      layout = this.#layOut(format);
      this.#layouts.set(format, layout);
    }
    const { text, valueAt, series, isTotal } = layout;
    const out = new ByteWriter(text.length + MAX_VALUE_BYTES * series.length);
    let from = 0;
    for (let k = 0; k < series.length; k++) {
      const to = valueAt[k]!;
      out.copy(text, from, to);
      const s = series[k]!;
      out.value(isTotal[k] === 1 ? s.total : s.value);
      from = to;
    }
    out.copy(text, from, text.length);
    return out.bytes();
  }

  #layOut(format: Format): Layout {
    const text = new ByteWriter(4096);
    const valueAt: number[] = [];
    const series: Series[] = [];
    const isTotal: number[] = [];
    const samples = (f: Family, total: 0 | 1): void => {
      for (const s of f.series.values()) {
        text.copy(total === 1 ? s.totalPrefix : s.gaugePrefix);
        valueAt.push(text.length);
        series.push(s);
        isTotal.push(total);
        text.byte(LINE_FEED);
      }
    };
    for (const f of this.#families.values()) {
      if (f.series.size === 0) continue;
      text.copy(f.head[format]);
      samples(f, 0);
      if (!f.delta) continue;
      text.copy(f.totalHead[format]);
      samples(f, 1);
    }
    if (format === 'openmetrics') text.copy(EOF);
    return { text: text.bytes(), valueAt: Uint32Array.from(valueAt), series, isTotal: Uint8Array.from(isTotal) };
  }

  #familyOf(id: number): Family {
    let family = this.#byMetric.get(id);
    if (family !== undefined) return family;
    const info = this.#metrics.get(id);
    const unit = info?.unit ?? { base: '1', prefix: '' };
    const name = familyName(info?.name ?? `unknown_metric_${id}`, unit, this.#options);
    family = this.#families.get(name);
    if (family === undefined) {
      const description = info?.description ?? 'a metric missing from the registry';
      const delta = info?.delta === true;
      family = { name, delta, head: familyHead(name, description, unitLabel(unit)), totalHead: delta ? totalHead(name, description) : NO_HEAD, series: new Map() };
      this.#families.set(name, family);
    }
    this.#byMetric.set(id, family);
    return family;
  }
}

/** `s` as a part of a point key: its length first, so that no two sequences of parts give the same key. */
function keyPart(s: string): string {
  return `${s.length}:${s}`;
}

/** What of a point's attributes makes its labels: each key and value as text, in order. */
function attributesKey(attributes: Attributes): string {
  let key = '';
  for (const [name, value] of attributes) key += keyPart(name) + keyPart(formatAttrValue(value));
  return key;
}

function familyHead(name: string, description: string, unit: string): Record<Format, Buffer> {
  const head = (om: boolean): Buffer => {
    let text = `# HELP ${name} ${escapeHelp(description, om)}.\n# TYPE ${name} gauge\n`;
    if (om && unit !== '') text += `# UNIT ${name} ${unit}\n`;
    return Buffer.from(text, 'utf8');
  };
  return { openmetrics: head(true), text: head(false) };
}

/**
 * OpenMetrics names a counter family without `_total` (its samples add it), which would be the gauge family's
 * name: a family name appears once, so there the sum is typed `unknown` under its full name.
 */
function totalHead(name: string, description: string): Record<Format, Buffer> {
  const head = (om: boolean): Buffer =>
    Buffer.from(`# HELP ${name}_total ${escapeHelp(description, om)}: sum of the deltas since the series appeared.\n# TYPE ${name}_total ${om ? 'unknown' : 'counter'}\n`, 'utf8');
  return { openmetrics: head(true), text: head(false) };
}

const EMPTY = Buffer.alloc(0);
const NO_HEAD: Readonly<Record<Format, Buffer>> = Object.freeze({ openmetrics: EMPTY, text: EMPTY });
const EOF = Buffer.from('# EOF\n', 'latin1');
const LINE_FEED = 10;
const MINUS = 45;
const DOT = 46;
const DIGIT_0 = 48;
/** The longest value `formatValue` writes: `-1.7976931348623157e+308`. */
const MAX_VALUE_BYTES = 24;

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

  /** Bytes `from` … `to` of `source`. */
  copy(source: Buffer, from = 0, to = source.length): void {
    this.#room(to - from);
    this.length += source.copy(this.#buf, this.length, from, to);
  }

  byte(b: number): void {
    this.#room(1);
    this.#buf[this.length++] = b;
  }

  /** A sample value, as `formatValue` writes it; a whole number below 2^53 digit by digit, without a string. */
  value(x: number): void {
    this.#room(MAX_VALUE_BYTES);
    if (!Number.isSafeInteger(x)) {
      this.length += this.#buf.write(formatValue(x), this.length, 'latin1');
      return;
    }
    const buf = this.#buf;
    if (x < 0) {
      buf[this.length++] = MINUS;
      x = -x;
    }
    let digits = 1;
    for (let rest = x; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let at = this.length + digits;
    this.length = at;
    do {
      const rest = Math.floor(x / 10);
      buf[--at] = DIGIT_0 + (x - rest * 10);
      x = rest;
    } while (x > 0);
    buf[this.length++] = DOT;
    buf[this.length++] = DIGIT_0;
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
