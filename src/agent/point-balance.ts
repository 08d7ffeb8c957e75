// The point balance (main thread): where every point went, read from the element counters, and the line the
// supervisor logs at shutdown (README, "No point is lost without being counted").

import type { Logger } from '../protocol/logging.js';
import type { ElementTable } from './element-table.js';
import type { Topology } from './pipeline.js';

export interface PointBalance {
  /** Points the sources handed downstream (run-time sources removed since included). */
  readonly produced: number;
  readonly transforms: ReadonlyArray<{ name: string; received: number; forwarded: number; dropped_crash: number }>;
  readonly outputs: ReadonlyArray<{
    name: string;
    /** Points sent to this output (what the stage before it forwarded); undefined for a stopped output. */
    input: number | undefined;
    written: number;
    received: number;
    dropped_backlog: number;
    /** Refused for good by the destination (an HTTP 400, say). */
    dropped_rejected: number;
    /** Written, but stored by the destination as one with another point of the same series and timestamp. */
    collapsed: number;
    dropped_crash: number;
    /** Still held in its backlog (non-zero only if a shutdown did not complete). */
    backlog: number;
    /** input − written − drops − backlog: 0 unless a shutdown timed out or a double fault lost count. */
    unaccounted: number | undefined;
  }>;
}

/**
 * Where every point went. For each output that was not stopped, `input` (what the stage before it
 * forwarded) = written + dropped_backlog + dropped_rejected + collapsed + dropped_crash + backlog; `unaccounted` is the
 * difference.
 */
export function pointBalance(table: ElementTable, topology: Topology): PointBalance {
  let produced = table.removedProduced;
  const records = [...table.all()];
  for (const r of records) if (r.kind === 'source') produced += r.counters.get('points_out');
  const transforms = topology.transforms.flatMap((s) => s.elements);
  const last = transforms[transforms.length - 1];
  const stageOutput = last === undefined ? produced : last.counters.get('points_out');
  return {
    produced,
    transforms: transforms.map((r) => ({
      name: r.name,
      received: r.counters.get('points_in'),
      forwarded: r.counters.get('points_out'),
      dropped_crash: r.counters.get('dropped_crash'),
    })),
    outputs: records
      .filter((r) => r.kind === 'output')
      .map((r) => {
        const c = r.counters;
        const stopped = table.slotOf(r)?.retired === true;
        const input = stopped ? undefined : stageOutput;
        const accounted = c.get('points_out') + c.get('dropped_backlog') + c.get('dropped_rejected') + c.get('collapsed') + c.get('dropped_crash') + c.get('backlog_points');
        return {
          name: r.name,
          input,
          written: c.get('points_out'),
          received: c.get('points_in'),
          dropped_backlog: c.get('dropped_backlog'),
          dropped_rejected: c.get('dropped_rejected'),
          collapsed: c.get('collapsed'),
          dropped_crash: c.get('dropped_crash'),
          backlog: c.get('backlog_points'),
          unaccounted: input === undefined ? undefined : input - accounted,
        };
      }),
  };
}

/** One line, one entry per output and per transform; a warning when some points are unaccounted for. */
export function logBalance(log: Logger, b: PointBalance): void {
  const parts = [`produced=${b.produced}`];
  for (const o of b.outputs) {
    let part = `${o.name}: written=${o.written} received=${o.received} dropped_backlog=${o.dropped_backlog} dropped_crash=${o.dropped_crash}`;
    if (o.dropped_rejected !== 0) part += ` dropped_rejected=${o.dropped_rejected}`;
    if (o.collapsed !== 0) part += ` collapsed=${o.collapsed}`;
    if (o.backlog !== 0) part += ` backlog=${o.backlog}`;
    if (o.input === undefined) part += ' (stopped)';
    else if (o.unaccounted !== 0) part += ` unaccounted=${o.unaccounted}`;
    parts.push(part);
  }
  for (const t of b.transforms) parts.push(`${t.name}: received=${t.received} forwarded=${t.forwarded} dropped_crash=${t.dropped_crash}`);
  const balanced = b.outputs.every((o) => !o.unaccounted);
  const line = `point balance: ${parts.join('; ')}`;
  if (balanced) log.info(line);
  else log.warn(`${line} (some points are unaccounted for: the shutdown did not complete, see above)`);
}
