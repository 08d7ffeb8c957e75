// The batches a paused or failed output keeps to write on resume or after its restart (worker thread):
// oldest first, bounded by output_backlog points; beyond it the oldest batches are dropped and counted.
// `backlog_points` follows every change, so the supervisor knows what a crash of the worker would lose.

import { Batch } from '../protocol/batch.js';
import type { ElementCounters } from '../protocol/counters.js';
import type { Log } from '../protocol/element.js';

export class Backlog {
  readonly #limitPoints: number;
  readonly #counters: ElementCounters;
  readonly #log: Log;
  readonly #owner: string;
  #batches: Batch[] = [];
  #points = 0;

  constructor(limitPoints: number, counters: ElementCounters, log: Log, owner: string) {
    this.#limitPoints = limitPoints;
    this.#counters = counters;
    this.#log = log;
    this.#owner = owner;
  }

  get length(): number {
    return this.#batches.length;
  }

  /** The batch to write first. */
  oldest(): Batch | undefined {
    return this.#batches[0];
  }

  /** The oldest batch has been written. */
  removeOldest(): void {
    const batch = this.#batches.shift();
    if (batch === undefined) return;
    this.#points -= batch.length;
    this.#counters.set('backlog_points', this.#points);
  }

  hold(received: Batch): void {
    const batch = compact(received);
    this.#batches.push(batch);
    this.#points += batch.length;
    let dropped = 0;
    while (this.#points > this.#limitPoints && this.#batches.length > 1) {
      const old = this.#batches.shift()!;
      this.#points -= old.length;
      dropped += old.length;
    }
    if (dropped > 0) {
      if (this.#counters.get('dropped_backlog') === 0) {
        this.#log.warn(`${this.#owner} backlog is full (${this.#limitPoints} points): dropping the oldest points`);
      }
      this.#counters.add('dropped_backlog', dropped);
    }
    this.#counters.set('backlog_points', this.#points);
  }

  /** Empties the backlog; returns the points it held. */
  clear(): number {
    const points = this.#points;
    this.#batches = [];
    this.#points = 0;
    this.#counters.set('backlog_points', 0);
    return points;
  }
}

/**
 * `batch`, or a copy in a buffer of its size when it fills little of its own: a held batch keeps its whole
 * buffer, so without this the backlog's memory would follow the senders' batch capacities, not
 * output_backlog (5-point polls in 1024-point buffers: 20 times as much).
 */
function compact(batch: Batch): Batch {
  if (batch.capacity <= 2 * batch.length + 64) return batch;
  const copy = new Batch(batch.length, undefined, 0, batch.strings, batch.attrSets);
  copy.copyRangeFrom(batch, 0, batch.length);
  batch.release();
  return copy;
}
