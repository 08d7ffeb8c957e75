// Reads a CSV file as records (lists of cells), streaming: one chunk of the file in memory at a time, never the
// whole file. RFC 4180 quoting as the csv output writes it: a quoted cell may hold the delimiter, `""` and line
// breaks, so a record can span several lines; each record carries the line it starts on, for error messages.

import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface CsvRecord {
  /** 1-based line number of the record's first line. */
  readonly line: number;
  readonly cells: string[];
  /** The record began a quoted cell that the file never closes (its cells are then empty). */
  readonly unterminatedQuote?: true;
}

/** Splits one record's text into cells; `undefined` if a quote is still open (the record goes on next line). */
function splitCells(text: string, delimiter: string): string[] | undefined {
  if (!text.includes('"')) return text.split(delimiter);
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        cell += c;
      }
      i++;
    } else if (c === '"' && cell === '') {
      quoted = true;
      i++;
    } else if (text.startsWith(delimiter, i)) {
      cells.push(cell);
      cell = '';
      i += delimiter.length;
    } else {
      cell += c;
      i++;
    }
  }
  if (quoted) return undefined;
  cells.push(cell);
  return cells;
}

/**
 * The records of `path`, in order, a chunk of the file (256 KiB) at a time: one await per chunk rather than per
 * record, which would cost more than the parsing. The delimiter is decided by the caller from the header, so
 * it is a function of the first line. `onBytes` learns how far the read has got (for a progress bar).
 */
export async function* readRecords(
  path: string,
  delimiterOf: (firstLine: string) => string,
  onBytes?: (bytesRead: number) => void,
): AsyncGenerator<CsvRecord[]> {
  const stream = createReadStream(path, { highWaterMark: 1 << 18 });
  const decoder = new StringDecoder('utf8');
  let delimiter: string | undefined;
  let rest = '';
  let lineNo = 0;
  /** A record whose quoted cell is still open: its text so far and its first line. */
  let pending: { text: string; line: number } | undefined;

  let records: CsvRecord[] = [];

  function take(line: string): void {
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    delimiter ??= delimiterOf(line);
    const text = pending === undefined ? line : `${pending.text}\n${line}`;
    const start = pending?.line ?? lineNo;
    const cells = splitCells(text, delimiter);
    if (cells === undefined) {
      pending = { text, line: start };
      return;
    }
    pending = undefined;
    if (text !== '') records.push({ line: start, cells });
  }

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    onBytes?.(stream.bytesRead);
    const text = rest + decoder.write(chunk);
    let from = 0;
    for (let nl = text.indexOf('\n', from); nl >= 0; nl = text.indexOf('\n', from)) {
      take(text.slice(from, nl));
      from = nl + 1;
    }
    rest = text.slice(from);
    yield records;
    records = [];
  }
  rest += decoder.end();
  // A last line without its newline: the agent was stopped mid-write, or the file was made by hand.
  if (rest !== '') take(rest);
  // An unterminated quote swallowed the rest of the file: the caller reports the line where it opened.
  if (pending !== undefined) records.push({ line: pending.line, cells: [], unterminatedQuote: true });
  if (records.length > 0) yield records;
}
