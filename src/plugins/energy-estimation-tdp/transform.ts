// The energy-estimation-tdp transform: for every point of the CPU-time metric it adds an
// estimated_consumed_energy point in joules. Runs in a worker thread.

import { defineTransform, prefixFactor, type Batch, type MetricHandle, type Unit } from '../../protocol/element-api.js';
export interface TdpTransformConfig {
  /** Name of the CPU-time metric read: `kernel_cpu_time`, as in Alumet. */
  input: string;
  output: MetricHandle;
  /** Watts per CPU-second of the input: tdp × nb_vcpu / nb_cpu. */
  wattsPerCpuSecond: number;
}

/** Seconds per unit of a time metric, or undefined when the unit is not a time. */
export function secondsPer(unit: Unit): number | undefined {
  return unit.base === 's' ? prefixFactor(unit.prefix) : undefined;
}

const UNKNOWN = 0;
const INPUT = 1;
const OTHER = 2;

export default defineTransform<TdpTransformConfig>((config, ctx) => {
  // Per metric id: whether it is the input, and then the factor that turns a value into joules. The input
  // may be registered after this transform starts, so unknown ids are looked up when they first show up.
  let kind = new Uint8Array(64);
  let joulesPer = new Float64Array(64);
  let warnedUnit = false;

  const classify = (id: number): number => {
    const info = ctx.metrics.get(id);
    if (info === undefined) return OTHER; // not cached: the registration may not have reached us yet
    let k = OTHER;
    let factor = 0;
    if (info.name === config.input && id !== config.output.id) {
      const s = secondsPer(info.unit);
      if (s !== undefined) {
        k = INPUT;
        factor = s * config.wattsPerCpuSecond;
      } else if (!warnedUnit) {
        warnedUnit = true;
        ctx.log.warn(
          { metric: info.name, unit: info.unit },
          `${info.name} has unit ${info.unit.prefix}${info.unit.base}, not a time (s, ms, us, ns): no energy is estimated from it`,
        );
      }
    }
    if (id >= kind.length) {
      const size = Math.max(kind.length * 2, id + 1);
      const k2 = new Uint8Array(size);
      k2.set(kind);
      kind = k2;
      const j2 = new Float64Array(size);
      j2.set(joulesPer);
      joulesPer = j2;
    }
    kind[id] = k;
    joulesPer[id] = factor;
    return k;
  };
  const isInput = (id: number): boolean => (id < kind.length && kind[id] !== UNKNOWN ? kind[id] : classify(id)) === INPUT;

  return {
    apply(batch: Batch): Batch {
      const n = batch.length;
      let count = 0;
      for (let i = 0; i < n; i++) if (isInput(batch.metric[i]!)) count++;
      if (count === 0) return batch;
      const out = batch.withRoom(count);
      const outId = config.output.id;
      for (let i = 0; i < n; i++) {
        const id = out.metric[i]!;
        if (kind[id] !== INPUT) continue;
        // Same timestamp, resource, consumer and attributes as the input point; new metric and value.
        const j = out.copyPointFrom(out, i);
        out.metric[j] = outId;
        out.setF64(j, out.numberAt(i) * joulesPer[id]!);
      }
      return out;
    },
  };
});
