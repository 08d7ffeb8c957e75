// Bench element (output, worker thread): reads every value of every batch and publishes how many points it
// got, and their sum, in a SharedArrayBuffer the benchmark reads without a round trip. Each batch is
// released once read, as an output does when it is done with a batch.

import { defineOutput } from '../../src/protocol/element.js';

export interface CountingOutputConfig {
  /** Float64[2]: points written, sum of their values (as JS numbers). */
  readonly counter: SharedArrayBuffer;
}

/** Slots of the counter's Float64Array. */
export const POINTS = 0;
export const SUM = 1;

export default defineOutput<CountingOutputConfig>((config) => {
  const counter = new Float64Array(config.counter);
  return {
    write(batch) {
      // Reading each value keeps the output honest: a point is counted only once it has been looked at.
      let sum = 0;
      const n = batch.length;
      const value = batch.value;
      for (let i = 0; i < n; i++) sum += value[i]!;
      counter[SUM] += sum;
      counter[POINTS] += n;
    },
  };
});
