// The exec report's output: a consumer of every point, like any output, that tallies what the report needs
// and, when it closes at the agent's shutdown, writes the figures as JSON for the main thread. Runs in a
// worker thread (loaded by URL, as every element).

import { writeFileSync } from 'node:fs';
import { defineOutput } from '../../protocol/element-api.js';
import { ReportTally } from './tally.js';

export interface ReportOutputConfig {
  /** Where the figures go when the output closes. */
  readonly figuresPath: string;
}

export default defineOutput<ReportOutputConfig>((config, ctx) => {
  const tally = new ReportTally(ctx.metrics);
  ctx.runtime.onConsumerEvent((event) => {
    const ms = Date.now();
    tally.consumerEvent(event, { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 });
  });
  return {
    write(batch) {
      tally.add(batch);
    },
    close() {
      writeFileSync(config.figuresPath, JSON.stringify(tally.figures()));
    },
  };
});
