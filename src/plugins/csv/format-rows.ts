// Turns batches into Alumet's CSV text: header, rows, quoting and late attributes. Pure (no I/O), so the csv
// output (worker thread), the tests and the benchmark all drive the same code.

import { U64, unitDisplayName, unitUniqueName, type Attributes, type Batch, type Log, type MetricInfo } from '../../protocol/element-api.js';
import { ByteSink } from '../shared/byte-sink.js';
import { formatAttrValue, formatF64, formatTimestamp, formatU64Words } from '../shared/rust-format.js';
import { FIXED_COLUMNS, LATE_COLUMN } from '../shared/alumet-csv.js';

export interface CsvFormatOptions {
  /** Cell separator: one character. */
  delimiter: string;
  /** Separator between `k=v` pairs in `__late_attributes`: one character. */
  lateDelimiter: string;
  appendUnitToMetricName: boolean;
  useUnitDisplayName: boolean;
}

const EMPTY = new Uint8Array(0);

// An attribute with one of these names cannot have its own column (Alumet would let it overwrite the fixed
// cell, or write the column twice): it always goes to the late attributes.
const RESERVED = new Set<string>([...FIXED_COLUMNS, LATE_COLUMN]);

/** UTF-8 byte order, as Rust sorts `&str` (JS's default sort compares UTF-16 units). */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

export class CsvFormatter {
  readonly #delimiter: string;
  readonly #lateDelimiter: string;
  readonly #lateEscaped: string;
  readonly #appendUnit: boolean;
  readonly #displayUnit: boolean;
  readonly #metrics: ReadonlyMap<number, MetricInfo>;
  readonly #log: Log | undefined;
  /** Timestamps and numbers can contain `-`, `:`, `.`, digits and letters: quote them only if the delimiter is one. */
  readonly #quoteNumbers: boolean;

  /** Metric cell (escaped, with its delimiter) by metric id. */
  readonly #metricCells: (Uint8Array | undefined)[] = [];
  readonly #warnedMetrics = new Set<number>();

  #headerKeys: string[] | undefined;
  #columnOf = new Map<string, number>();
  /** The attribute part of a row for a point without attributes: one empty cell per attribute column. */
  #emptyTail: Uint8Array = EMPTY;

  constructor(options: CsvFormatOptions, metrics: ReadonlyMap<number, MetricInfo>, log?: Log) {
    this.#delimiter = options.delimiter;
    this.#lateDelimiter = options.lateDelimiter;
    this.#lateEscaped = '\\' + options.lateDelimiter;
    this.#appendUnit = options.appendUnitToMetricName;
    this.#displayUnit = options.useUnitDisplayName;
    this.#metrics = metrics;
    this.#log = log;
    this.#quoteNumbers = /[0-9A-Za-z.:+-]/.test(options.delimiter);
  }

  /** True once the header is fixed (by the first batch that has points, or by `header()`). */
  get hasHeader(): boolean {
    return this.#headerKeys !== undefined;
  }

  /** The attribute columns of the header, once fixed. */
  get attributeColumns(): readonly string[] | undefined {
    return this.#headerKeys;
  }

  /**
   * Fixes the header, if not yet done, with the sorted attribute keys of `batch` (none if absent) and returns
   * its line; returns '' if the header was already fixed.
   */
  header(batch?: Batch): string {
    if (this.#headerKeys !== undefined) return '';
    const keys = new Set<string>();
    if (batch !== undefined) {
      for (let i = 0; i < batch.length; i++) {
        const a = batch.attrs[i]!;
        if (a === 0) continue;
        for (const [k] of batch.attrSets[a - 1]!) if (!RESERVED.has(k)) keys.add(k);
      }
    }
    this.adoptHeader([...keys].sort(compareCodePoints));
    return this.headerLine();
  }

  /** The line of the fixed header, again (each file of a rotated output starts with it). */
  headerLine(): string {
    const keys = this.#headerKeys;
    if (keys === undefined) throw new Error('csv: the header is not fixed yet');
    // Alumet writes header names raw; we quote them like any cell so that the columns always line up.
    const d = this.#delimiter;
    let line = '';
    for (const c of FIXED_COLUMNS) line += c + d;
    for (const k of keys) line += this.escape(k) + d;
    return line + LATE_COLUMN + '\n';
  }

  /** Fixes the attribute columns without writing a header (appending to a file that already has one). */
  adoptHeader(keys: readonly string[]): void {
    this.#headerKeys = [...keys];
    this.#columnOf = new Map(keys.map((k, i) => [k, i]));
    this.#emptyTail = Buffer.from(this.#delimiter.repeat(keys.length));
  }

  /**
   * The text for one batch: the header first if this is the first batch with points, then one line per point.
   * An empty batch gives '' (and does not fix the header). For tests; outputs use `formatInto`.
   */
  format(batch: Batch): string {
    const sink = new ByteSink(256);
    this.formatInto(batch, sink);
    return sink.toString();
  }

  /**
   * Appends the lines of `batch` (and the header, as `format` says) to `sink`; with `rowEnds`, pushes the
   * sink offset after each row (not after the header), where a rotating file may end.
   */
  formatInto(batch: Batch, sink: ByteSink, rowEnds?: number[]): void {
    const n = batch.length;
    if (n === 0) return;
    if (this.#headerKeys === undefined) sink.text(this.header(batch));
    const d = this.#delimiter;
    const dByte = d.length === 1 && d.charCodeAt(0) < 0x80 ? d.charCodeAt(0) : -1;

    // Per-batch tables: the string table is small and shared by all points, so escape each entry once.
    const strings = batch.strings;
    const cells = new Array<Uint8Array>(strings.length);
    for (let k = 0; k < strings.length; k++) cells[k] = Buffer.from(this.escape(strings[k]!) + d);
    const tails: (string | undefined)[] = [];

    const { metric, tsSec, tsNsec, type, value, valueWords, resKind, resId, consKind, consId, attrs } = batch;
    const metricCells = this.#metricCells;
    const emptyTail = this.#emptyTail;
    let lastSec = NaN;
    let datePart: Uint8Array = EMPTY;
    for (let i = 0; i < n; i++) {
      const m = metric[i]!;
      sink.bytes(metricCells[m] ?? this.#metricCell(m));
      if (this.#quoteNumbers) {
        // Rare: the delimiter can occur inside a timestamp or a number, so take the general path.
        sink.text(this.escape(formatTimestamp(tsSec[i]!, tsNsec[i]!)) + d);
        const v = type[i] === U64 ? formatU64Words(valueWords[2 * i]!, valueWords[2 * i + 1]!) : formatF64(value[i]!);
        sink.text(this.escape(v) + d);
      } else {
        const sec = tsSec[i]!;
        if (sec !== lastSec) {
          lastSec = sec;
          datePart = Buffer.from(formatTimestamp(sec, 0).slice(0, -1)); // without the Z
        }
        sink.bytes(datePart);
        const nsec = tsNsec[i]!;
        if (nsec !== 0) {
          sink.byte(46); // '.'
          sink.fraction(nsec, 9);
        }
        sink.byte(90); // 'Z'
        if (dByte >= 0) sink.byte(dByte);
        else sink.text(d);
        if (type[i] === U64) {
          const hi = valueWords[2 * i + 1]!;
          if (hi < 0x200000) sink.uint(hi * 4294967296 + valueWords[2 * i]!);
          else sink.text(formatU64Words(valueWords[2 * i]!, hi));
        } else {
          const x = value[i]!;
          if (x > 0 && x < 9007199254740992 && Number.isInteger(x)) sink.uint(x);
          else sink.text(formatF64(x));
        }
        if (dByte >= 0) sink.byte(dByte);
        else sink.text(d);
      }
      sink.bytes(cells[resKind[i]!]!);
      sink.bytes(cells[resId[i]!]!);
      sink.bytes(cells[consKind[i]!]!);
      sink.bytes(cells[consId[i]!]!);
      const a = attrs[i]!;
      // Attribute sets are usually one per point, so their text is not worth encoding ahead.
      if (a === 0) sink.bytes(emptyTail);
      else sink.text((tails[a] ??= this.#attributeTail(batch.attrSets[a - 1]!)));
      sink.byte(10); // '\n'
      rowEnds?.push(sink.length);
    }
  }

  /** RFC 4180: a cell holding the delimiter, `"`, CR or LF is quoted, with `"` doubled. */
  escape(s: string): string {
    if (!s.includes(this.#delimiter) && !s.includes('"') && !s.includes('\n') && !s.includes('\r')) return s;
    return '"' + s.replaceAll('"', '""') + '"';
  }

  #metricCell(id: number): Uint8Array {
    const info = this.#metrics.get(id);
    if (info === undefined) {
      // Not cached: the registry update may simply not have reached this thread yet.
      if (!this.#warnedMetrics.has(id)) {
        this.#warnedMetrics.add(id);
        this.#log?.warn({ metric: id }, `csv: metric id ${id} is not in the metric table; writing it as unknown_metric_${id}`);
      }
      return Buffer.from(this.escape(`unknown_metric_${id}`) + this.#delimiter);
    }
    let name = info.name;
    if (this.#appendUnit) {
      const unit = this.#displayUnit ? unitDisplayName(info.unit) : unitUniqueName(info.unit);
      if (unit !== '') name += '_' + unit;
    }
    const cell = Buffer.from(this.escape(name) + this.#delimiter);
    this.#metricCells[id] = cell;
    return cell;
  }

  /** The attribute cells of a row (one per header column, each followed by the delimiter) and the late cell. */
  #attributeTail(set: Attributes): string {
    const columnOf = this.#columnOf;
    const columns = new Array<string>(this.#headerKeys!.length).fill('');
    let late: [string, string][] | undefined;
    for (const [k, v] of set) {
      const text = formatAttrValue(v);
      const c = columnOf.get(k);
      if (c !== undefined) {
        columns[c] = text; // a repeated key keeps its last value, as Alumet's map does
        continue;
      }
      late ??= [];
      const prev = late.findIndex((p) => p[0] === k);
      if (prev >= 0) late[prev]![1] = text;
      else late.push([k, text]);
    }
    const d = this.#delimiter;
    let tail = '';
    for (const c of columns) tail += (c === '' ? '' : this.escape(c)) + d;
    if (late !== undefined) {
      // Keys are escaped too (Alumet escapes only values), so every pair splits back unambiguously.
      const ld = this.#lateDelimiter;
      const pairs = late.map(([k, v]) => `${this.#escapeLate(k)}=${this.#escapeLate(v)}`);
      tail += this.escape(pairs.join(ld));
    }
    return tail;
  }

  #escapeLate(s: string): string {
    return s.includes(this.#lateDelimiter) ? s.replaceAll(this.#lateDelimiter, this.#lateEscaped) : s;
  }
}
