// The energy-to-carbon transform: for every point whose metric is in joules (any prefix) it adds a
// carbon_emission point in grams of CO₂ equivalent, after the batch's own points. Runs in a worker thread.

import { defineTransform, prefixFactor, type Batch, type MetricHandle } from '../../protocol/element-api.js';

export interface CarbonTransformConfig {
  output: MetricHandle;
  /** Grams of CO₂ equivalent per kWh. */
  intensity: number;
}

const JOULES_PER_KWH = 3.6e6;
const NOT_ENERGY = 0;

export default defineTransform<CarbonTransformConfig>((config, ctx) => {
  // Per metric id: the factor from its unit to joules, or NOT_ENERGY; NaN until the id first shows up.
  let joulesPerUnit = new Float64Array(64).fill(Number.NaN);

  const classify = (id: number): number => {
    const unit = ctx.metrics.get(id)?.unit;
    if (unit === undefined) return NOT_ENERGY; // not cached: its registration may not have reached this worker yet
    const factor = unit.base === 'J' && id !== config.output.id ? (prefixFactor(unit.prefix) ?? NOT_ENERGY) : NOT_ENERGY;
    if (id >= joulesPerUnit.length) {
      const grown = new Float64Array(Math.max(joulesPerUnit.length * 2, id + 1)).fill(Number.NaN);
      grown.set(joulesPerUnit);
      joulesPerUnit = grown;
    }
    joulesPerUnit[id] = factor;
    return factor;
  };
  const factorOf = (id: number): number => {
    const known = id < joulesPerUnit.length ? joulesPerUnit[id]! : Number.NaN;
    return Number.isNaN(known) ? classify(id) : known;
  };

  return {
    apply(batch: Batch): Batch {
      const n = batch.length;
      let count = 0;
      for (let i = 0; i < n; i++) if (factorOf(batch.metric[i]!) !== NOT_ENERGY) count++;
      if (count === 0) return batch;
      const out = batch.withRoom(count);
      for (let i = 0; i < n; i++) {
        const factor = joulesPerUnit[out.metric[i]!]!;
        if (factor === NOT_ENERGY) continue;
        // Same timestamp, resource, consumer and attributes as the energy point; Alumet's order of operations.
        const j = out.copyPointFrom(out, i);
        out.metric[j] = config.output.id;
        out.setF64(j, (out.numberAt(i) / JOULES_PER_KWH) * factor * config.intensity);
      }
      return out;
    },
  };
});
