// The rapl plugin: the CPU's energy from the RAPL counters of the powercap framework, as Alumet's rapl
// plugin reads them. Main thread: finds the zones (powercap.ts) when it starts, registers the metric and adds
// the source (source.ts). Disabled in a generated config: it needs RAPL hardware and, on recent kernels,
// root's permission.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { definePlugin, type Log } from '../../agent/plugin-api.js';
import { DEFAULT_POWERCAP_ROOT, raplSchema, type RaplConfig } from './config.js';
import { resourceOf } from './domains.js';
import { RAPL_METRICS } from './metrics.js';
import { PowercapPermissionError, findZones, permissionRemedies, raplDir, type PowercapZone } from './powercap.js';
import type { RaplSourceConfig } from './source.js';

/** The RAPL zones; when the agent may not read them, the remedies go to the log before the error. */
function zonesOrRemedies(root: string, log: Log): PowercapZone[] {
  try {
    return findZones(root);
  } catch (e) {
    if (!(e instanceof PowercapPermissionError)) throw e;
    log.error(permissionRemedies(root));
    throw new Error(`${e.message}; run the agent as root or make the counters readable (the commands are in the log line above, and in the rapl README)`);
  }
}

export default definePlugin<RaplConfig>({
  name: 'rapl',
  version: '0.1.0',
  config: raplSchema,
  enabledByDefault: false,
  metrics: RAPL_METRICS,

  disabledNote() {
    const dir = raplDir(DEFAULT_POWERCAP_ROOT);
    return existsSync(dir)
      ? `rapl is disabled by default: it reads the RAPL energy counters under ${dir}, which recent kernels\nlet root only read (see its README). Set enabled = true to measure the CPU's energy.`
      : `rapl is disabled: this machine has no RAPL energy counters (${dir} does not exist).\nOn a machine that has them, set enabled = true.`;
  },

  start(config, ctx) {
    if (!config.no_perf_events) {
      ctx.log.info('this build reads RAPL through powercap only: perf_events needs native code, which it does not have (no_perf_events = true silences this line)');
    }
    const zones = zonesOrRemedies(config.powercap_root, ctx.log);
    ctx.log.info(`RAPL zones: ${zones.map((z) => `${z.name} (${z.domain})`).join(', ')}`);
    const element: RaplSourceConfig = {
      metric: ctx.metric('rapl_consumed_energy', RAPL_METRICS.rapl_consumed_energy),
      zones: zones.map((z) => ({ energyFile: join(z.path, 'energy_uj'), maxEnergyUj: z.maxEnergyUj, domain: z.domain, resource: resourceOf(z.domain, z.socket) })),
    };
    ctx.source('in', new URL('./source.js', import.meta.url), element, { poll_interval: config.poll_interval, flush_interval: config.flush_interval });
  },
});
