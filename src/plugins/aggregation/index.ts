// The aggregation plugin: the sum or the mean of chosen metrics over fixed windows of time. Main thread: once
// every plugin has started (the metrics it aggregates are then registered), it registers `<name>_sum` or
// `<name>_mean` for each and adds the transform (transform.ts). Disabled in a generated config: it has to be
// told which metrics to aggregate.

import { closest, definePlugin, parseDuration } from '../../agent/plugin-api.js';
import { aggregationSchema, type AggregationConfig } from './config.js';
import { AGGREGATION_METRICS } from './metrics.js';
import type { AggregationTransformConfig } from './transform.js';

export default definePlugin<AggregationConfig>({
  name: 'aggregation',
  version: '0.1.0',
  config: aggregationSchema,
  enabledByDefault: false,
  metrics: AGGREGATION_METRICS,

  check(config, problems) {
    config.metrics.forEach((name, i) => {
      if (config.metrics.indexOf(name) !== i) problems.add(`metrics[${i}]`, `"${name}" is listed twice (first at metrics[${config.metrics.indexOf(name)}])`);
    });
  },

  start(config, ctx) {
    if (config.metrics.length === 0) ctx.log.info('metrics is empty: nothing to aggregate, so no transform');
  },

  afterStart(config, ctx) {
    if (config.metrics.length === 0) return;
    const fn = config.function === 'Sum' || config.function === 'sum' ? 'sum' : 'mean';
    const registered = new Map(ctx.registeredMetrics().map((m) => [m.name, m]));
    const unknown = config.metrics.flatMap((name, i) => {
      if (registered.has(name)) return [];
      const hint = closest(name, registered.keys());
      return [`plugins.aggregation.metrics[${i}]: no plugin registered the metric "${name}"${hint ? `; did you mean "${hint}"?` : ''}`];
    });
    if (unknown.length > 0) {
      throw new Error(`${unknown.join('; ')} (registered metrics: ${[...registered.keys()].sort().join(', ') || 'none'})`);
    }
    const series = config.metrics.map((name) => {
      const input = registered.get(name)!;
      // A sum of deltas is the delta over the window; a mean of them is not.
      return { input: input.id, output: ctx.metric(`${name}_${fn}`, { ...input.spec, delta: fn === 'sum' && input.spec.delta }) };
    });
    const element: AggregationTransformConfig = { intervalNs: parseDuration(config.interval), mean: fn === 'mean', keepInputs: config.keep_inputs, series };
    ctx.transform('plugin-aggregation', new URL('./transform.js', import.meta.url), element);
  },
});
