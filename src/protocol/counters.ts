// Per-element counters in a SharedArrayBuffer: the element's thread writes them, the supervisor reads them
// for `status` without a round trip, and they survive a restart of the element's worker. Any thread.

import type { ElementKind } from './element-kinds.js';

/** Every counter, in the order `status` shows them. */
export const COUNTER_NAMES = [
  'polls',
  'points_in',
  'points_out',
  'batches_in',
  'batches_out',
  'missed_ticks',
  'backlog_points',
  'dropped_backlog',
  'dropped_rejected',
  'collapsed',
  'dropped_crash',
  'retries',
  'errors',
  'restarts',
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];

/**
 * The counters that mean something for each kind, in `COUNTER_NAMES` order. Every element keeps them all (a
 * source's `points_in` or an output's `polls` stays 0); `status` shows only these.
 */
export const KIND_COUNTERS: Readonly<Record<ElementKind, readonly CounterName[]>> = {
  source: ['polls', 'points_out', 'batches_out', 'missed_ticks', 'errors', 'restarts'],
  transform: ['points_in', 'points_out', 'batches_in', 'batches_out', 'dropped_crash', 'errors', 'restarts'],
  output: ['points_in', 'points_out', 'batches_in', 'batches_out', 'backlog_points', 'dropped_backlog', 'dropped_rejected', 'collapsed', 'dropped_crash', 'retries', 'errors', 'restarts'],
};

export const COUNTER: { readonly [K in CounterName]: number } = Object.fromEntries(
  COUNTER_NAMES.map((n, i) => [n, i]),
) as { [K in CounterName]: number };

/** One element's counters; `wake` is the Int32 slot the supervisor bumps and notifies to wake a waiting source. */
export class ElementCounters {
  readonly shared: SharedArrayBuffer;
  readonly values: Float64Array;
  readonly wake: Int32Array;

  constructor(shared: SharedArrayBuffer = new SharedArrayBuffer(8 * COUNTER_NAMES.length + 8)) {
    this.shared = shared;
    this.values = new Float64Array(shared, 0, COUNTER_NAMES.length);
    this.wake = new Int32Array(shared, 8 * COUNTER_NAMES.length, 2);
  }

  add(name: CounterName, n: number): void {
    this.values[COUNTER[name]]! += n;
  }

  set(name: CounterName, n: number): void {
    this.values[COUNTER[name]] = n;
  }

  get(name: CounterName): number {
    return this.values[COUNTER[name]]!;
  }

  snapshot(): Record<CounterName, number> {
    const out = {} as Record<CounterName, number>;
    for (const n of COUNTER_NAMES) out[n] = this.values[COUNTER[n]]!;
    return out;
  }

  /** Wakes a source blocked in a precise wait so it reads its control messages now (supervisor side). */
  notify(): void {
    Atomics.add(this.wake, 0, 1);
    Atomics.notify(this.wake, 0);
  }
}
