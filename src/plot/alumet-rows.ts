// Turns the records of an Alumet CSV into measurement points: checks the header, reads the timestamp and the
// value, gathers the attributes (header columns and `__late_attributes`). A bad row is reported with the file
// and line and skipped; a bad header stops the read, since no row could be trusted after it.

import { FIXED_COLUMNS, LATE_COLUMN } from '../plugins/shared/alumet-csv.js';
import { readRecords } from './csv-records.js';

/** A problem in the file, located: `alumet-output.csv:12: …`. */
export class CsvFileError extends Error {
  override readonly name = 'CsvFileError';
  readonly exitCode = 1;
}

export interface CsvPoint {
  /** The metric cell as written (`cpu_time_delta_ns`). */
  readonly metric: string;
  /** Milliseconds since the epoch, with the fraction (nanoseconds survive as well as a double allows). */
  readonly time: number;
  readonly value: number;
  readonly resource: string;
  readonly consumer: string;
  /** `key=value` pairs, sorted by key. */
  readonly attributes: ReadonlyArray<readonly [string, string]>;
}

// 2025-04-25T15:08:53.99636522Z: the seconds go to Date.parse, the fraction (up to nine digits) is added.
const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

// Rows come in runs of the same second: Date.parse once per second, not once per row.
let cachedSecond = '';
let cachedMs = NaN;

export function parseTimestamp(text: string): number | undefined {
  const m = TIMESTAMP.exec(text);
  if (m === null) return undefined;
  const second = m[1]! + m[3]!;
  if (second !== cachedSecond) {
    cachedMs = Date.parse(second);
    cachedSecond = second;
  }
  if (Number.isNaN(cachedMs)) return undefined;
  return m[2] === undefined ? cachedMs : cachedMs + Number(`0.${m[2]}`) * 1000;
}

/** The value cell as the agents print it: decimal without exponent, `NaN`, `inf`, `-inf`. */
function parseValue(text: string): number | undefined {
  if (text === 'inf') return Infinity;
  if (text === '-inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^-?\d+(\.\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/** `kind:id`, or just `kind` when the id is empty (local_machine). */
function target(kind: string, id: string): string {
  return id === '' ? kind : `${kind}:${id}`;
}

/** The `k=v` pairs of a late-attributes cell, where `\,` is a comma inside a key or a value. */
function latePairs(cell: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const part of cell.split(/(?<!\\),/)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const unescape = (s: string): string => s.replaceAll('\\,', ',');
    pairs.push(eq < 0 ? [unescape(part), ''] : [unescape(part.slice(0, eq)), unescape(part.slice(eq + 1))]);
  }
  return pairs;
}

export interface ReadOptions {
  /** Called for each skipped row, with a message that names the file and line. */
  onBadRow(message: string): void;
  onBytes?(bytesRead: number): void;
}

/**
 * The points of an Alumet CSV file, in file order, in batches (one per chunk of the file). Throws
 * CsvFileError for a file that is not one.
 */
export async function* readAlumetCsv(path: string, opts: ReadOptions): AsyncGenerator<CsvPoint[]> {
  // The header starts with `metric` then the delimiter, whatever the delimiter is.
  const delimiterOf = (first: string): string => (first.startsWith('metric') && first.length > 6 ? String.fromCodePoint(first.codePointAt(6)!) : ';');
  let columns: string[] | undefined;
  for await (const records of readRecords(path, delimiterOf, opts.onBytes)) {
    const points: CsvPoint[] = [];
    for (const record of records) {
    const where = `${path}:${record.line}`;
    if (columns === undefined) {
      const fixed = record.cells.slice(0, FIXED_COLUMNS.length);
      if (fixed.join(',') !== FIXED_COLUMNS.join(',') || record.cells.at(-1) !== LATE_COLUMN) {
        throw new CsvFileError(
          `${where}: not an Alumet CSV header: expected ${FIXED_COLUMNS.join(';')};…;${LATE_COLUMN}, found ${JSON.stringify(record.cells.join(';').slice(0, 120))}`,
        );
      }
      columns = record.cells;
      continue;
    }
    if (record.unterminatedQuote) {
      opts.onBadRow(`${where}: a quoted cell opens here and is never closed; the rest of the file is skipped`);
      continue;
    }
    const cells = record.cells;
    if (cells.length !== columns.length) {
      opts.onBadRow(`${where}: ${cells.length} cells where the header has ${columns.length}; row skipped`);
      continue;
    }
    const time = parseTimestamp(cells[1]!);
    if (time === undefined) {
      opts.onBadRow(`${where}: timestamp ${JSON.stringify(cells[1])} is not RFC 3339 (like 2025-04-25T15:08:53.99636522Z); row skipped`);
      continue;
    }
    const value = parseValue(cells[2]!);
    if (value === undefined) {
      opts.onBadRow(`${where}: value ${JSON.stringify(cells[2])} is not a number; row skipped`);
      continue;
    }
    if (cells[0] === '') {
      opts.onBadRow(`${where}: empty metric name; row skipped`);
      continue;
    }
    const attributes: Array<[string, string]> = [];
    for (let c = FIXED_COLUMNS.length; c < columns.length - 1; c++) {
      if (cells[c] !== '') attributes.push([columns[c]!, cells[c]!]);
    }
    const late = cells[columns.length - 1]!;
    if (late !== '') attributes.push(...latePairs(late));
    attributes.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    points.push({
      metric: cells[0]!,
      time,
      value,
      resource: target(cells[3]!, cells[4]!),
      consumer: target(cells[5]!, cells[6]!),
      attributes,
    });
    }
    yield points;
  }
  if (columns === undefined) throw new CsvFileError(`${path}: the file is empty (no header)`);
}
