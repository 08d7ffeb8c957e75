// The `network` source of procfs: bytes, packets, drops and errors per interface and direction, as deltas
// of the /proc/net/dev counters. Runs in a worker thread.

import { join } from 'node:path';
import { defineSource, type Attributes, type MetricHandle } from '../../protocol/element-api.js';
import { ProcParseError, parseNetDev, type InterfaceStats } from './parse.js';
import { counterDiff } from '../shared/counter-diff.js';
import { KernelFile } from '../shared/kernel-file.js';

export interface NetworkSourceConfig {
  root: string;
  metrics: { bytes: MetricHandle; packets: MetricHandle; drops: MetricHandle; errors: MetricHandle };
}

const ZERO: InterfaceStats = Object.freeze({
  name: '',
  rxBytes: 0n,
  rxPackets: 0n,
  rxErrors: 0n,
  rxDrops: 0n,
  txBytes: 0n,
  txPackets: 0n,
  txErrors: 0n,
  txDrops: 0n,
});

export default defineSource<NetworkSourceConfig>((config, ctx) => {
  const file = new KernelFile(join(config.root, 'net', 'dev'), (cause) =>
    ctx.log.warn({ path: join(config.root, 'net', 'dev'), err: cause.message }, 'positional read failed; reopening the file on every poll from now on'),
  );
  const { bytes, packets, drops, errors } = config.metrics;
  const attrs = new Map<string, { rx: Attributes; tx: Attributes }>();
  const attrsOf = (name: string) => {
    let a = attrs.get(name);
    if (a === undefined) {
      a = {
        rx: Object.freeze([['interface', name], ['direction', 'rx']] as const),
        tx: Object.freeze([['interface', name], ['direction', 'tx']] as const),
      };
      attrs.set(name, a);
    }
    return a;
  };
  let prev: Map<string, InterfaceStats> | undefined;

  return {
    poll(out, ts) {
      let now: InterfaceStats[];
      try {
        now = parseNetDev(file.read());
      } catch (e) {
        if (e instanceof ProcParseError) throw new Error(`${file.path}: ${e.message}`);
        throw e;
      }
      const next = new Map<string, InterfaceStats>();
      for (const s of now) next.set(s.name, s);
      if (prev !== undefined) {
        for (const s of now) {
          // An interface that appears after the first poll counts from zero, as in Alumet.
          const p = prev.get(s.name) ?? ZERO;
          const { rx, tx } = attrsOf(s.name);
          out.push(bytes, ts, counterDiff(p.rxBytes, s.rxBytes), { attributes: rx });
          out.push(packets, ts, counterDiff(p.rxPackets, s.rxPackets), { attributes: rx });
          out.push(drops, ts, counterDiff(p.rxDrops, s.rxDrops), { attributes: rx });
          out.push(errors, ts, counterDiff(p.rxErrors, s.rxErrors), { attributes: rx });
          out.push(bytes, ts, counterDiff(p.txBytes, s.txBytes), { attributes: tx });
          out.push(packets, ts, counterDiff(p.txPackets, s.txPackets), { attributes: tx });
          out.push(drops, ts, counterDiff(p.txDrops, s.txDrops), { attributes: tx });
          out.push(errors, ts, counterDiff(p.txErrors, s.txErrors), { attributes: tx });
        }
        for (const name of attrs.keys()) if (!next.has(name)) attrs.delete(name);
      }
      prev = next;
    },
    close() {
      file.close();
    },
  };
});
