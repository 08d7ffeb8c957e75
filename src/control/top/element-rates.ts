// What `top` shows of each element: its `status --json` line, and points per second in and out computed from
// two successive snapshots of the counters (the agent keeps totals; the rate is their change over the time
// between the two replies). Pure functions. Main thread.

import type { ElementKind } from '../../protocol/element-kinds.js';

/** Points per second are averaged over this long (or since top started, until then). */
export const RATE_WINDOW_MS = 10_000;

/** One line of `status --json`, as element-view.ts writes it. */
export interface ElementStatus {
  readonly name: string;
  readonly kind: ElementKind;
  readonly plugin: string;
  readonly element: string;
  readonly state: string;
  readonly period: string | null;
  readonly thread: string | null;
  readonly counters: Readonly<Record<string, number>>;
  readonly last_error: string | null;
}

export interface Snapshot {
  /** Monotonic time of the reply, in ms. */
  readonly atMs: number;
  readonly elements: readonly ElementStatus[];
}

export interface ElementRow {
  readonly status: ElementStatus;
  /** Points received per second (transforms, outputs); undefined for sources, or before a second snapshot. */
  readonly inPerSec: number | undefined;
  /** Points sent on (sources, transforms) or written (outputs) per second; undefined before a second snapshot. */
  readonly outPerSec: number | undefined;
  readonly errors: number;
  /** Points an output holds (paused, or its server unavailable); undefined for other kinds. */
  readonly backlog: number | undefined;
}

/** The element lines of a `status --json` reply (its last line is the `ok` status line). */
export function parseStatusReply(lines: readonly string[]): ElementStatus[] {
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as ElementStatus);
}

/** Rows for `current`, with rates against `previous` for the elements both snapshots hold. */
export function elementRows(current: Snapshot, previous: Snapshot | undefined): ElementRow[] {
  const before = new Map(previous?.elements.map((e) => [e.name, e.counters]));
  const seconds = previous === undefined ? 0 : (current.atMs - previous.atMs) / 1000;
  const rate = (now: Readonly<Record<string, number>>, then: Readonly<Record<string, number>> | undefined, counter: string): number | undefined => {
    const a = now[counter];
    const b = then?.[counter];
    // A counter that went down belongs to an element that was replaced (a restarted worker): no rate this time.
    if (a === undefined || b === undefined || seconds <= 0 || a < b) return undefined;
    return (a - b) / seconds;
  };
  return current.elements.map((status) => {
    const then = before.get(status.name);
    return {
      status,
      inPerSec: rate(status.counters, then, 'points_in'),
      outPerSec: rate(status.counters, then, 'points_out'),
      errors: status.counters['errors'] ?? 0,
      backlog: status.counters['backlog_points'],
    };
  });
}
