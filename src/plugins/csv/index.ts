// The csv plugin (main thread): the checks of `[plugins.csv]` (its keys and defaults are in config.ts) and
// one output element (output.ts) that writes every measurement to a CSV file.

import { definePlugin } from '../../agent/plugin-api.js';
import { csvSchema, type CsvConfig } from './config.js';

function describeChar(s: string): string {
  return JSON.stringify(s);
}

export default definePlugin<CsvConfig>({
  name: 'csv',
  version: '0.1.0',
  config: csvSchema,
  enabledByDefault: true,
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
