// The csv output element (worker thread): formats each batch into a byte buffer and writes that buffer with
// one write call, per batch with force_flush, or once ~1 MiB has gathered without it; the file rotates
// between rows when it reaches max_file_size or max_file_age (rotating-file.ts).

import { closeSync, openSync, readSync } from 'node:fs';
import { defineOutput, parseByteSize, parseDuration, type Batch, type ElementContext, type Output } from '../../protocol/element-api.js';
import { ByteSink } from '../shared/byte-sink.js';
import type { CsvConfig } from './config.js';
import { CsvFormatter } from './format-rows.js';
import { RotatingFile, type RotationPolicy } from './rotating-file.js';

/** The output's config: `[plugins.csv]` as the definition checked it (the name the csv benchmark imports). */
export type CsvOutputConfig = CsvConfig;

const BUFFER_LIMIT = 1 << 20;

export class CsvFileOutput implements Output {
  readonly #path: string;
  readonly #forceFlush: boolean;
  readonly #formatter: CsvFormatter;
  readonly #file: RotatingFile;
  readonly #sink = new ByteSink(1 << 16);
  /** Offsets in the sink where its rows end, kept only when the file rotates (it may rotate there). */
  readonly #rowEnds: number[] | undefined;
  readonly #ctx: ElementContext;
  readonly #delimiter: string;

  constructor(config: CsvOutputConfig, ctx: ElementContext) {
    this.#ctx = ctx;
    this.#delimiter = config.csv_delimiter;
    this.#path = config.output_path;
    this.#forceFlush = config.force_flush;
    this.#formatter = new CsvFormatter(
      {
        delimiter: config.csv_delimiter,
        lateDelimiter: config.csv_late_delimiter,
        appendUnitToMetricName: config.append_unit_to_metric_name,
        useUnitDisplayName: config.use_unit_display_name,
      },
      ctx.metrics,
      ctx.log,
    );
    const policy = rotationPolicy(config);
    this.#rowEnds = policy.maxBytes > 0 || policy.maxAgeMs !== undefined ? [] : undefined;
    this.#file = new RotatingFile(this.#path, policy, () => Buffer.from(this.#formatter.headerLine()), ctx.log);
  }

  /** Opens the file once the pipeline has started (the plugin claimed it, so no other agent writes it). */
  open(): void {
    try {
      // A fresh start truncates, as Alumet does; a restart after a failure appends under the existing header.
      const header = this.#ctx.isRestart ? existingHeader(this.#path, this.#delimiter) : undefined;
      if (header !== undefined) this.#formatter.adoptHeader(header);
      this.#file.open(header !== undefined);
    } catch (e) {
      throw new Error(`${this.#ctx.name}: cannot open output_path ${JSON.stringify(this.#path)} for writing: ${(e as Error).message}`, { cause: e });
    }
  }

  write(batch: Batch): void {
    if (!this.#file.isOpen) throw new Error(`csv: ${JSON.stringify(this.#path)} is not open for writing`);
    const sink = this.#sink;
    if (!this.#formatter.hasHeader && batch.length > 0) sink.text(this.#formatter.header(batch));
    // A batch that fails to format leaves no half row behind.
    const mark = sink.length;
    const rowEnds = this.#rowEnds;
    const marked = rowEnds?.length ?? 0;
    try {
      this.#formatter.formatInto(batch, sink, rowEnds);
    } catch (e) {
      sink.length = mark;
      if (rowEnds !== undefined) rowEnds.length = marked;
      throw e;
    }
    if (this.#forceFlush || this.#sink.length >= BUFFER_LIMIT) this.flush();
  }

  /** Writes everything formatted so far to the file (no fsync: Alumet's flush does not sync either). */
  flush(): void {
    const sink = this.#sink;
    if (sink.length === 0 || !this.#file.isOpen) return;
    const cursor = { at: 0 };
    const rowEnds = this.#rowEnds;
    try {
      this.#file.write(sink.buf, sink.length, rowEnds ?? [], cursor);
    } finally {
      // After a failed write (disk full), a retry resumes where it stopped.
      sink.consume(cursor.at, BUFFER_LIMIT);
      if (rowEnds !== undefined) forgetWritten(rowEnds, cursor.at);
    }
  }

  /** Flushes and closes the file; safe to call twice. A file that never got a point still gets its header. */
  close(): void {
    if (!this.#file.isOpen) return;
    try {
      // Nothing was formatted if the header is still open, so the sink is empty and the header goes first.
      if (!this.#formatter.hasHeader) this.#sink.text(this.#formatter.header());
      this.flush();
    } finally {
      this.#file.close();
    }
  }
}

export default defineOutput<CsvOutputConfig>((config, ctx) => new CsvFileOutput(config, ctx));

function rotationPolicy(config: CsvOutputConfig): RotationPolicy {
  return {
    maxBytes: parseByteSize(config.max_file_size),
    maxAgeMs: config.max_file_age === undefined ? undefined : Number(parseDuration(config.max_file_age) / 1_000_000n),
    maxFiles: config.max_files,
    compress: config.compress_rotated,
  };
}

/** Shifts the row offsets after the sink dropped its first `bytes` (those written). */
function forgetWritten(rowEnds: number[], bytes: number): void {
  let kept = 0;
  for (const end of rowEnds) if (end > bytes) rowEnds[kept++] = end - bytes;
  rowEnds.length = kept;
}

/** The attribute columns of the header line of an existing CSV file, or undefined if it has none. */
function existingHeader(path: string, delimiter: string): string[] | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.toString('utf8', 0, n);
    const end = text.indexOf('\n');
    if (end < 0) return undefined;
    const cells = text.slice(0, end).split(delimiter).map((c) => (c.startsWith('"') ? c.slice(1, -1).replaceAll('""', '"') : c));
    // metric … consumer_id, then the attribute keys, then __late_attributes and the trailing empty cell
    const late = cells.indexOf('__late_attributes');
    return late >= 7 ? cells.slice(7, late) : undefined;
  } finally {
    closeSync(fd);
  }
}
