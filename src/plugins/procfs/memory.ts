// The `memory` source of procfs: the chosen /proc/meminfo entries, in bytes. Runs in a worker thread.

import { join } from 'node:path';
import { defineSource, type MetricHandle } from '../../protocol/element-api.js';
import { ProcParseError, parseMeminfo } from './parse.js';
import { KernelFile } from '../shared/kernel-file.js';

export interface MemorySourceConfig {
  root: string;
  /** meminfo key (as the kernel spells it) and the metric it feeds. */
  entries: Array<{ key: string; metric: MetricHandle }>;
}

export default defineSource<MemorySourceConfig>((config, ctx) => {
  const file = new KernelFile(join(config.root, 'meminfo'), (cause) =>
    ctx.log.warn({ path: join(config.root, 'meminfo'), err: cause.message }, 'positional read failed; reopening the file on every poll from now on'),
  );
  const warned = new Set<string>();
  return {
    poll(out, ts) {
      let values: Map<string, bigint>;
      try {
        values = parseMeminfo(file.read());
      } catch (e) {
        if (e instanceof ProcParseError) throw new Error(`${file.path}: ${e.message}`);
        throw e;
      }
      for (const { key, metric } of config.entries) {
        const v = values.get(key);
        if (v !== undefined) {
          out.push(metric, ts, v);
        } else if (!warned.has(key)) {
          // Kernels differ (no Zswap without CONFIG_ZSWAP, …): say it once, then keep measuring the rest.
          warned.add(key);
          ctx.log.warn({ path: file.path, key }, `${file.path} has no "${key}" entry on this kernel; ${metric.name} will not be measured`);
        }
      }
    },
    close() {
      file.close();
    },
  };
});
