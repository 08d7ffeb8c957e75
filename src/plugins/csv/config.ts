// The csv plugin's `[plugins.csv]` keys and defaults, and the config type its output element receives.
// Imported by the definition (main thread) and, as a type only, by the output element (worker thread).

import { t, type Infer } from '../../agent/plugin-api.js';

export const csvSchema = t.table({
  /** File to write; truncated once the agent has started (never while another agent writes it). `--output-file` sets it. */
  output_path: t.string('alumet-output.csv', { nonEmpty: true }),
  /** Write to the file after every batch (otherwise up to ~1 MiB is kept in memory). */
  force_flush: t.bool(true),
  /** Name the metric column `name_<unit>` instead of `name`. */
  append_unit_to_metric_name: t.bool(true),
  /** Use the unit's display name (`μs`, `B`, `°C`) rather than its unique name (`micros`, `By`, `Cel`). */
  use_unit_display_name: t.bool(true),
  /** Cell separator: one character. */
  csv_delimiter: t.string(';'),
  /** Separator between the `k=v` pairs of the `__late_attributes` column: one character. */
  csv_late_delimiter: t.string(','),
  /** Ours: once the file holds this many bytes, it is rotated to `NAME.1.csv` and a new one started; 0 = no limit. */
  max_file_size: t.byteSize('100MB', { min: 1000 }),
  /** Ours: once the file is this old (since it was opened), it is rotated at the next write. */
  max_file_age: t.optional(t.duration('1d', { min: '1s' })),
  /** Ours: rotated files kept (`NAME.1.csv` … `NAME.<max_files>.csv`); older ones are deleted. */
  max_files: t.int(10, { min: 0, max: 10_000 }),
  /** Ours: gzip each rotated file (`NAME.1.csv.gz`). */
  compress_rotated: t.bool(false),
});

/** `[plugins.csv]` with its defaults filled in; the output element gets it as it is. */
export type CsvConfig = Infer<typeof csvSchema>;
