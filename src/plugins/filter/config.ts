// The filter plugin's `[plugins.filter]` keys and defaults, and the config type they give. Imported by the
// definition (main thread) and, as a type only, by the transform (worker thread).

import { t, type Infer, type Schema } from '../../agent/plugin-api.js';

const table = t.table({
  /** Keep only the points of these metrics. */
  include: t.optional(t.list(t.string('', { nonEmpty: true }), [])),
  /** Drop the points of these metrics. */
  exclude: t.optional(t.list(t.string('', { nonEmpty: true }), [])),
});

/** `[plugins.filter]`: exactly one of `include` and `exclude` (the definition checks it). */
export type FilterConfig = Infer<typeof table>;

// A user's table must say which of the two it means, but the generated config has to pass `check` too:
// it gets `exclude = []`, a filter that drops nothing and shows where the names go.
export const filterSchema: Schema<FilterConfig> = {
  expected: table.expected,
  shape: table.shape,
  defaultValue: () => ({ exclude: [] }),
  parse: (value, path, problems) => table.parse(value, path, problems),
};
