// The rapl source (`source/rapl/in`): reads the energy counter of every RAPL zone on each poll and emits
// the joules used since the previous poll, per zone and per domain in total. Runs in a worker thread.

import { LOCAL_MACHINE, defineSource, type Attributes, type MetricHandle, type ResourceRef } from '../../protocol/element-api.js';
import { counterDiff } from '../shared/counter-diff.js';
import { KernelFile } from '../shared/kernel-file.js';
import { parseCounter } from './counter-text.js';
import { DOMAINS, type Domain } from './domains.js';

export interface RaplSourceConfig {
  metric: MetricHandle;
  /** In Alumet's order (sorted by path), which is the order of the points of a poll. */
  zones: ReadonlyArray<{
    energyFile: string;
    maxEnergyUj: bigint;
    domain: Domain;
    resource: ResourceRef;
  }>;
}

/** Joules per microjoule, multiplied as Alumet does (not divided by 1e6), so the values are the same to the bit. */
const JOULES_PER_UJ = 0.000001;

const attributesOf = (domain: string): Attributes => Object.freeze([Object.freeze(['domain', domain] as const)]);

export default defineSource<RaplSourceConfig>((config, ctx) => {
  const zones = config.zones.map((z) => ({
    file: new KernelFile(z.energyFile, (cause) =>
      ctx.log.warn({ path: z.energyFile, err: cause.message }, 'positional read failed; reopening the file on every poll from now on'),
    ),
    maxEnergyUj: z.maxEnergyUj,
    domainIndex: DOMAINS.indexOf(z.domain),
    resource: z.resource,
    attributes: attributesOf(z.domain),
    previousUj: undefined as bigint | undefined,
  }));
  const totalAttributes = DOMAINS.map((d) => attributesOf(`${d}_total`));
  const totals = new Float64Array(DOMAINS.length);
  const measured = new Uint8Array(DOMAINS.length);

  return {
    poll(out, ts) {
      totals.fill(0);
      measured.fill(0);
      for (const zone of zones) {
        const nowUj = parseCounter(zone.file.read(), zone.file.path);
        // The first reading after start or reset is only the baseline of the next difference.
        if (zone.previousUj !== undefined) {
          const joules = Number(counterDiff(zone.previousUj, nowUj, zone.maxEnergyUj)) * JOULES_PER_UJ;
          out.push(config.metric, ts, joules, { resource: zone.resource, attributes: zone.attributes });
          totals[zone.domainIndex]! += joules;
          measured[zone.domainIndex] = 1;
        }
        zone.previousUj = nowUj;
      }
      for (let d = 0; d < DOMAINS.length; d++) {
        if (measured[d] === 1) out.push(config.metric, ts, totals[d]!, { resource: LOCAL_MACHINE, attributes: totalAttributes[d] });
      }
    },
    // Paused: the counters go on meanwhile, and the energy of the pause belongs to no poll interval.
    reset() {
      for (const zone of zones) zone.previousUj = undefined;
    },
    close() {
      for (const zone of zones) zone.file.close();
    },
  };
});
