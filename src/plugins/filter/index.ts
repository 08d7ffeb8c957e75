// The filter plugin: one transform that keeps (`include`) or drops (`exclude`) points by metric name.
// Main thread: checks and the transform's start (keys in config.ts); the work happens in transform.ts.
// Disabled in a generated config: a filter has to be told which metrics to keep or drop.

import { definePlugin } from '../../agent/plugin-api.js';
import { filterSchema, type FilterConfig } from './config.js';
import type { FilterTransformConfig } from './transform.js';

export default definePlugin<FilterConfig>({
  name: 'filter',
  version: '0.1.0',
  config: filterSchema,
  enabledByDefault: false,

  check(config, problems) {
    if (config.include !== undefined && config.exclude !== undefined) {
      problems.add('', 'set include or exclude, not both (include keeps only the listed metrics, exclude drops them)');
    } else if (config.include === undefined && config.exclude === undefined) {
      problems.add('', 'set include or exclude: include = ["metric", …] keeps only those metrics, exclude = [...] drops them');
    }
  },

  start(config, ctx) {
    const element: FilterTransformConfig =
      config.include !== undefined ? { mode: 'include', names: config.include } : { mode: 'exclude', names: config.exclude ?? [] };
    ctx.transform('filter', new URL('./transform.js', import.meta.url), element);
  },
});
