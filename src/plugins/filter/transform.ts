// The filter transform: keeps or drops points by metric name. Runs in a worker thread. Names are resolved
// to ids through the metric table, which grows at run time, so decisions are cached per id as ids appear.

import { closest, defineTransform, type Batch } from '../../protocol/element-api.js';
import type { FilterConfig } from './config.js';

export interface FilterTransformConfig {
  /** The key the user set: `include` keeps only the listed metrics, `exclude` drops them. */
  mode: keyof FilterConfig;
  names: NonNullable<FilterConfig[keyof FilterConfig]>;
}

const UNKNOWN = 0;
const KEEP = 1;
const DROP = 2;

export default defineTransform<FilterTransformConfig>((config, ctx) => {
  const names = new Set(config.names);
  const include = config.mode === 'include';
  let decisions = new Uint8Array(64);

  // Metrics are registered at start-up, so a name unknown now is most likely a typo; it is not an error,
  // because a plugin may still register it at run time.
  const known = new Set<string>();
  for (const m of ctx.metrics.values()) known.add(m.name);
  for (const name of names) {
    if (known.has(name)) continue;
    const hint = closest(name, known);
    ctx.log.warn({ metric: name }, `${config.mode} lists "${name}", which no plugin has registered (yet)${hint ? `; did you mean "${hint}"?` : ''}`);
  }

  const decide = (id: number): number => {
    const info = ctx.metrics.get(id);
    const listed = info !== undefined && names.has(info.name);
    const d = listed === include ? KEEP : DROP;
    // An id missing from the table is not cached: its registration may not have reached this worker yet.
    if (info !== undefined) {
      if (id >= decisions.length) {
        const grown = new Uint8Array(Math.max(decisions.length * 2, id + 1));
        grown.set(decisions);
        decisions = grown;
      }
      decisions[id] = d;
    }
    return d;
  };
  const keeps = (id: number): boolean => {
    const d = id < decisions.length ? decisions[id]! : UNKNOWN;
    return (d === UNKNOWN ? decide(id) : d) === KEEP;
  };

  return {
    apply(batch: Batch): Batch {
      const metric = batch.metric;
      const n = batch.length;
      let i = 0;
      while (i < n && keeps(metric[i]!)) i++;
      if (i === n) return batch; // nothing to drop: forward the batch untouched
      return batch.filter((k) => keeps(metric[k]!));
    },
  };
});
