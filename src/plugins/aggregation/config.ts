// The aggregation plugin's `[plugins.aggregation]` keys and defaults (Alumet's, plus `keep_inputs`), and the
// config type they give. Imported by the definition (main thread).

import { t, type Infer } from '../../agent/plugin-api.js';

/** Alumet writes the functions capitalised (its enum has no rename); the lowercase spelling is ours. */
const FUNCTIONS = ['Sum', 'Mean', 'sum', 'mean'] as const;

export const aggregationSchema = t.table({
  /** Length of the windows, which start at multiples of it since the Unix epoch. */
  interval: t.duration('60s'),
  /** What a window's points become: their sum or their mean. */
  function: t.oneOf(FUNCTIONS, 'Sum'),
  /** Names of the metrics to aggregate; each gives `<name>_sum` or `<name>_mean`. */
  metrics: t.list(t.string('', { nonEmpty: true }), []),
  /** Forward the aggregated metrics' own points too (Alumet drops them). */
  keep_inputs: t.bool(false),
});

/** `[plugins.aggregation]` with its defaults filled in. */
export type AggregationConfig = Infer<typeof aggregationSchema>;
