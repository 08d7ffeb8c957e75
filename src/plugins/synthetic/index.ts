// The synthetic plugin (ours, not Alumet's): sources that emit a configurable number of points per poll, for
// tests and benchmarks, so disabled in a generated config. Main thread: checks, metric registration, and
// `sources` copies of source.ts (keys in config.ts, metrics in metrics.ts).

import { definePlugin } from '../../agent/plugin-api.js';
import { syntheticSchema, type SyntheticConfig } from './config.js';
import { SYNTHETIC_METRICS } from './metrics.js';
import type { SyntheticSourceConfig } from './source.js';

export default definePlugin<SyntheticConfig>({
  name: 'synthetic',
  version: '0.1.0',
  config: syntheticSchema,
  enabledByDefault: false,
  metrics: SYNTHETIC_METRICS,

  check(config, problems) {
    if (config.metrics > config.points_per_poll) {
      problems.add(
        'metrics',
        `${config.metrics} metrics but only ${config.points_per_poll} points per poll: synthetic_${config.points_per_poll} and above would never get a point; set metrics <= points_per_poll`,
      );
    }
    if (config.series_per_metric === 1) return;
    if (config.attributes === 0) {
      problems.add('series_per_metric', `${config.series_per_metric} series per metric need attributes to tell them apart; set attributes >= 1`);
    } else if (config.metrics * config.series_per_metric > config.points_per_poll) {
      problems.add(
        'series_per_metric',
        `${config.metrics} metrics × ${config.series_per_metric} series but only ${config.points_per_poll} points per poll: some series would never get a point; set metrics × series_per_metric <= points_per_poll`,
      );
    }
  },

  start(config, ctx) {
    const metrics = Array.from({ length: config.metrics }, (_, m) =>
      ctx.metric(`synthetic_${m}`, { ...SYNTHETIC_METRICS['synthetic_<m>'], type: config.value_type }),
    );
    const element: SyntheticSourceConfig = {
      metrics,
      pointsPerPoll: config.points_per_poll,
      attributes: config.attributes,
      seriesPerMetric: config.series_per_metric,
      failAfterPolls: config.fail_after_polls,
    };
    const trigger =
      config.flush_interval === undefined
        ? { poll_interval: config.poll_interval }
        : { poll_interval: config.poll_interval, flush_interval: config.flush_interval };
    for (let i = 0; i < config.sources; i++) ctx.source(`synthetic-${i}`, new URL('./source.js', import.meta.url), element, trigger);
  },
});
