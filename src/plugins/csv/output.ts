// The csv output element (worker thread): formats each batch into a byte buffer and writes that buffer with
// one write call, per batch with force_flush, or once ~1 MiB has gathered without it.

import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { defineOutput, type Batch, type ElementContext, type Output } from '../../protocol/element-api.js';
import { ByteSink } from '../shared/byte-sink.js';
import type { CsvConfig } from './config.js';
import { CsvFormatter } from './format-rows.js';

/** The output's config: `[plugins.csv]` as the definition checked it (the name the csv benchmark imports). */
export type CsvOutputConfig = CsvConfig;

const BUFFER_LIMIT = 1 << 20;

export class CsvFileOutput implements Output {
  readonly #path: string;
  readonly #forceFlush: boolean;
  readonly #formatter: CsvFormatter;
  #fd: number | undefined;
  readonly #sink = new ByteSink(1 << 16);
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
  }

  /** Opens the file once the pipeline has started (the plugin claimed it, so no other agent writes it). */
  open(): void {
    try {
      // A fresh start truncates, as Alumet does; a restart after a failure appends under the existing header.
      const header = this.#ctx.isRestart ? existingHeader(this.#path, this.#delimiter) : undefined;
      if (header !== undefined) this.#formatter.adoptHeader(header);
      this.#fd = openSync(this.#path, header !== undefined ? 'a' : 'w');
    } catch (e) {
      throw new Error(`${this.#ctx.name}: cannot open output_path ${JSON.stringify(this.#path)} for writing: ${(e as Error).message}`, { cause: e });
    }
  }

  write(batch: Batch): void {
    if (this.#fd === undefined) throw new Error(`csv: ${JSON.stringify(this.#path)} is not open for writing`);
    const sink = this.#sink;
    if (!this.#formatter.hasHeader && batch.length > 0) sink.text(this.#formatter.header(batch));
    // A batch that fails to format leaves no half row behind.
    const mark = sink.length;
    try {
      this.#formatter.formatInto(batch, sink);
    } catch (e) {
      sink.length = mark;
      throw e;
    }
    if (this.#forceFlush || this.#sink.length >= BUFFER_LIMIT) this.flush();
  }

  /** Writes everything formatted so far to the file (no fsync: Alumet's flush does not sync either). */
  flush(): void {
    const sink = this.#sink;
    if (sink.length === 0 || this.#fd === undefined) return;
    let written = 0;
    try {
      while (written < sink.length) written += writeSync(this.#fd, sink.buf, written, sink.length - written);
    } finally {
      sink.consume(written, BUFFER_LIMIT); // after a failed write (disk full), a retry resumes where it stopped
    }
  }

  /** Flushes and closes the file; safe to call twice. A file that never got a point still gets its header. */
  close(): void {
    if (this.#fd === undefined) return;
    try {
      // Nothing was formatted if the header is still open, so the sink is empty and the header goes first.
      if (!this.#formatter.hasHeader) this.#sink.text(this.#formatter.header());
      this.flush();
    } finally {
      closeSync(this.#fd);
      this.#fd = undefined;
    }
  }
}

export default defineOutput<CsvOutputConfig>((config, ctx) => new CsvFileOutput(config, ctx));

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
