// Scenario `csv` (main thread of the bench process): rows per second written to a real file by the csv
// output module (created in this thread with a fake context), for batches of 4096 points with 2 attributes.
// Baselines in the same run: formatting alone (no I/O), and writing the same bytes already formatted.

import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { F64, U64, type Batch } from '../src/protocol/batch.js';
import { BatchBuilder } from '../src/protocol/batch-builder.js';
import type { MetricHandle, MetricInfo } from '../src/protocol/metrics.js';
import { parseUnit } from '../src/protocol/units.js';
import csvOutput, { type CsvOutputConfig } from '../src/plugins/csv/output.js';
import { CsvFormatter } from '../src/plugins/csv/format-rows.js';
import { ByteSink } from '../src/plugins/shared/byte-sink.js';
import { fakeContext } from '../test/helpers/element-context.js';
import { log, rmrf, round, tempDir, type Scenario } from './util.js';

const POINTS_PER_BATCH = 4096;
/** Distinct batches written in turn (different timestamps and values). */
const BATCHES = 16;
const ROUNDS = 3;
const ROUND_MS = Number(process.env['BENCH_ROUND_MS'] ?? 1000);
const BASELINE_MS = 400;

const METRICS = new Map<number, MetricInfo>([
  [0, { id: 0, name: 'rapl_consumed_energy', type: F64, unit: parseUnit('J'), description: '' }],
  [1, { id: 1, name: 'cpu_time_delta', type: U64, unit: parseUnit('ns'), description: '' }],
]);

const CONFIG: CsvOutputConfig = {
  output_path: '',
  force_flush: true,
  append_unit_to_metric_name: true,
  use_unit_display_name: true,
  csv_delimiter: ';',
  csv_late_delimiter: ',',
  // The defaults: rotation on (its row offsets are kept for every batch), a rotation every 100 MB.
  max_file_size: '100MB',
  max_files: 10,
  compress_rotated: false,
};

/**
 * Batches as a busy agent sends them: half f64 energies with a fraction, half u64 counters, each point with
 * two attributes (8 distinct sets, as for 4 sockets × 2 domains) and its own nanosecond timestamp.
 */
function makeBatches(): Batch[] {
  const energy: MetricHandle = { id: 0, name: 'rapl_consumed_energy', type: F64 };
  const counter: MetricHandle = { id: 1, name: 'cpu_time_delta', type: U64 };
  const sets = Array.from({ length: 8 }, (_, k) => [['domain', k % 2 === 0 ? 'package' : 'dram'], ['socket', BigInt(k >> 1)]] as const);
  const base = Math.floor(Date.now() / 1000);
  return Array.from({ length: BATCHES }, (_, b) => {
    const builder = new BatchBuilder(POINTS_PER_BATCH);
    for (let i = 0; i < POINTS_PER_BATCH; i++) {
      const ts = { sec: base + b, nsec: (i * 244_141 + 17) % 1_000_000_000 };
      const resource = { kind: 'cpu_package', id: String((i >> 1) % 4) };
      const attributes = sets[i % 8]!;
      if (i % 2 === 0) builder.push(energy, ts, 12.5 + i * 0.001 + b, { resource, attributes });
      else builder.push(counter, ts, 1_000_000 + i * 37 + b, { resource, attributes });
    }
    return builder.take();
  });
}

/** Rows per second through `CsvFileOutput.write` (format + one write call per batch), fresh file each round. */
async function measureOutput(dir: string, batches: Batch[], round: number): Promise<number> {
  const path = join(dir, `out-${round}.csv`);
  const out = await csvOutput.create({ ...CONFIG, output_path: path }, fakeContext({ name: 'output/csv/csv', metrics: METRICS }));
  await out.open?.();
  let rows = 0;
  const t0 = performance.now();
  let i = 0;
  while (performance.now() - t0 < ROUND_MS) {
    await out.write(batches[i++ % batches.length]!);
    rows += POINTS_PER_BATCH;
  }
  await out.close?.();
  const seconds = (performance.now() - t0) / 1000;
  rmSync(path, { force: true });
  return rows / seconds;
}

/** Formatting alone, into a buffer that is cleared after each batch. */
function measureFormatOnly(batches: Batch[]): number {
  const formatter = new CsvFormatter({ delimiter: ';', lateDelimiter: ',', appendUnitToMetricName: true, useUnitDisplayName: true }, METRICS);
  const sink = new ByteSink(1 << 20);
  let rows = 0;
  const t0 = performance.now();
  let i = 0;
  while (performance.now() - t0 < BASELINE_MS) {
    formatter.formatInto(batches[i++ % batches.length]!, sink);
    sink.clear();
    rows += POINTS_PER_BATCH;
  }
  return (rows * 1000) / (performance.now() - t0);
}

/** The same bytes, formatted once beforehand, written batch by batch: the file system's share. */
function measureWriteOnly(dir: string, batches: Batch[]): { rowsPerS: number; bytesPerRow: number } {
  const formatter = new CsvFormatter({ delimiter: ';', lateDelimiter: ',', appendUnitToMetricName: true, useUnitDisplayName: true }, METRICS);
  const chunks = batches.map((b) => {
    const sink = new ByteSink(1 << 20);
    formatter.formatInto(b, sink);
    return sink.buf.subarray(0, sink.length);
  });
  const bytesPerRow = chunks.reduce((n, c) => n + c.length, 0) / (chunks.length * POINTS_PER_BATCH);
  const path = join(dir, 'raw.csv');
  const fd = openSync(path, 'w');
  let rows = 0;
  const t0 = performance.now();
  let i = 0;
  try {
    while (performance.now() - t0 < BASELINE_MS) {
      const chunk = chunks[i++ % chunks.length]!;
      let written = 0;
      while (written < chunk.length) written += writeSync(fd, chunk, written, chunk.length - written);
      rows += POINTS_PER_BATCH;
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return { rowsPerS: (rows * 1000) / (performance.now() - t0), bytesPerRow };
}

export const csv: Scenario = {
  name: 'csv',
  what: 'rows/s written to a real file by the csv output (4096-point batches, 2 attributes), vs format-only and write-only',
  async run() {
    const dir = tempDir('alumet-bench-csv-');
    try {
      const batches = makeBatches();
      const output: number[] = [];
      const formatOnly: number[] = [];
      const writeOnly: number[] = [];
      let bytesPerRow = 0;
      // Alternating rounds, best of each: a burst of load on a shared machine then spoils one round only.
      for (let r = 0; r < ROUNDS; r++) {
        output.push(await measureOutput(dir, batches, r));
        formatOnly.push(measureFormatOnly(batches));
        const w = measureWriteOnly(dir, batches);
        writeOnly.push(w.rowsPerS);
        bytesPerRow = w.bytesPerRow;
        log(`csv: round ${r + 1}: output ${(output[r]! / 1e6).toFixed(2)} M rows/s, format only ${(formatOnly[r]! / 1e6).toFixed(2)}, write only ${(writeOnly[r]! / 1e6).toFixed(2)}`);
      }
      const rows = Math.max(...output);
      const fmt = Math.max(...formatOnly);
      const raw = Math.max(...writeOnly);
      return {
        json: {
          rows_per_s: Math.round(rows),
          format_only_rows_per_s: Math.round(fmt),
          write_only_rows_per_s: Math.round(raw),
          bytes_per_row: round(bytesPerRow, 1),
          points_per_batch: POINTS_PER_BATCH,
          rounds: { rows_per_s: output.map(Math.round), format_only_rows_per_s: formatOnly.map(Math.round), write_only_rows_per_s: writeOnly.map(Math.round) },
        },
        rows: [
          { figure: 'rows/s written (csv output)', value: rows, unit: '', target: { op: '>=', value: 2e6 }, baseline: { name: 'format only', value: fmt } },
          { figure: 'format only (no I/O)', value: fmt, unit: 'rows/s' },
          { figure: 'write only (bytes preformatted)', value: raw, unit: 'rows/s', baseline: { name: 'format only', value: fmt } },
        ],
      };
    } finally {
      rmrf(dir);
    }
  },
};
