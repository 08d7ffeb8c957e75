// The csv plugin (main thread): Alumet's `[plugins.csv]` keys and defaults, their checks, and one output
// element that writes every measurement to a CSV file.

import { definePlugin } from '../../agent/plugin-api.js';
import { t, type Infer } from '../../agent/config/schema.js';

const schema = t.table({
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
});

export type CsvConfig = Infer<typeof schema>;

function describeChar(s: string): string {
  return JSON.stringify(s);
}

export default definePlugin<CsvConfig>({
  name: 'csv',
  version: '0.1.0',
  config: schema,
  check(cfg, problems) {
    const d = cfg.csv_delimiter;
    if ([...d].length !== 1) problems.add('csv_delimiter', `must be exactly one character, got ${describeChar(d)}`);
    else if (d === '"' || d === '\n' || d === '\r') problems.add('csv_delimiter', `${describeChar(d)} cannot separate cells (quotes and line breaks are CSV syntax); use ";", "," or "\\t"`);
    const ld = cfg.csv_late_delimiter;
    if ([...ld].length !== 1) problems.add('csv_late_delimiter', `must be exactly one character, got ${describeChar(ld)}`);
    else if (ld === '=' || ld === '\\') problems.add('csv_late_delimiter', `${describeChar(ld)} would make the k=v pairs unreadable; use "," or "|"`);
  },
  start(cfg, ctx) {
    ctx.claimOutputFile(cfg.output_path, 'output_path');
    ctx.output('csv', new URL('./output.js', import.meta.url), cfg);
  },
});
