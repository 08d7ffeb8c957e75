// The filter plugin: one transform that keeps (`include`) or drops (`exclude`) points by metric name.
// Main thread: config and checks; the work happens in transform.ts.

import { definePlugin } from '../../agent/plugin-api.js';
import { t, type Schema } from '../../agent/config/schema.js';
import type { FilterTransformConfig } from './transform.js';

const table = t.table({
  /** Keep only the points of these metrics. */
  include: t.optional(t.list(t.string('', { nonEmpty: true }), [])),
  /** Drop the points of these metrics. */
  exclude: t.optional(t.list(t.string('', { nonEmpty: true }), [])),
});

export interface FilterConfig {
  include?: string[] | undefined;
  exclude?: string[] | undefined;
}

// A user's table must say which of the two it means, but the generated config has to pass `check` too:
// it gets `exclude = []`, a filter that drops nothing and shows where the names go.
const schema: Schema<FilterConfig> = {
  expected: table.expected,
  defaultValue: () => ({ exclude: [] }),
  parse: (value, path, problems) => table.parse(value, path, problems),
};

export default definePlugin<FilterConfig>({
  name: 'filter',
  version: '0.1.0',
  config: schema,

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
