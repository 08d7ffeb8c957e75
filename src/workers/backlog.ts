// The points an output holds and has not written (worker thread): oldest first, bounded by a number of
// points; beyond it the oldest are dropped and counted. A paused or failed output keeps what comes here for
// its resume or restart; an output with batching keeps everything here and writes from the front.
// `backlog_points` follows every change, so the supervisor knows what a crash of the worker would lose.

import { Batch } from '../protocol/batch.js';
import type { ElementCounters } from '../protocol/counters.js';
import type { Log } from '../protocol/element.js';

export class Backlog {
  #limitPoints: number;
  readonly #counters: ElementCounters;
  readonly #log: Log;
  readonly #owner: string;
  #batches: Batch[] = [];
  /** When each batch of `#batches` came (performance.now()), for the flush interval. */
  #heldAt: number[] = [];
  /** Points of the first batch already written (a write may end inside a batch). */
  #offset = 0;
  /** Front batches a write in progress is reading: never dropped while it runs. */
  #pinned = 0;
  #points = 0;

  constructor(limitPoints: number, counters: ElementCounters, log: Log, owner: string) {
    this.#limitPoints = limitPoints;
    this.#counters = counters;
    this.#log = log;
    this.#owner = owner;
  }

  /** An output may bring its own limit (a push output's `max_backlog_points`). */
  set limitPoints(points: number) {
    this.#limitPoints = points;
  }

  get length(): number {
    return this.#batches.length;
  }

  /** Points held and not written. */
  get points(): number {
    return this.#points;
  }

  /** When the oldest point held came, or undefined when empty. */
  get oldestHeldAt(): number | undefined {
    return this.#heldAt[0];
  }

  /** The batch to write first (whole batches only: for outputs without batching, which never split one). */
  oldest(): Batch | undefined {
    return this.#batches[0];
  }

  /** The oldest batch has been written. */
  removeOldest(): void {
    const first = this.#batches[0];
    if (first !== undefined) this.removeFront(first.length - this.#offset);
  }

  /**
   * The oldest `maxPoints` points held (fewer if there are fewer) as one batch, for one write; they stay
   * held, and are not dropped, until `removeFront` or `unpin`. A batch that fits is given as it is.
   */
  takeFront(maxPoints: number): Batch {
    const first = this.#batches[0]!;
    const n = Math.min(maxPoints, this.#points);
    if (this.#offset === 0 && first.length === n) {
      this.#pinned = 1;
      return first;
    }
    // The copy starts with the first batch's tables, so its own points copy column by column.
    const out = new Batch(n, undefined, 0, first.strings.slice(), first.attrSets.slice());
    let k = 0;
    for (let b = 0, from = this.#offset; out.length < n; b++, from = 0) {
      const batch = this.#batches[b]!;
      const take = Math.min(batch.length - from, n - out.length);
      if (b === 0) out.copyRangeFrom(batch, from, take);
      else for (let i = from; i < from + take; i++) out.copyPointFrom(batch, i);
      k = b + 1;
    }
    this.#pinned = k;
    return out;
  }

  /** The write of the front points ended without taking them: they may be dropped again if space is needed. */
  unpin(): void {
    this.#pinned = 0;
  }

  /** The oldest `n` points have been written (or refused for good): forget them. */
  removeFront(n: number): void {
    this.#pinned = 0;
    while (n > 0 && this.#batches.length > 0) {
      const first = this.#batches[0]!;
      const left = first.length - this.#offset;
      if (n < left) {
        this.#offset += n;
        this.#points -= n;
        break;
      }
      this.#batches.shift();
      this.#heldAt.shift();
      this.#offset = 0;
      this.#points -= left;
      n -= left;
      first.release();
    }
    this.#counters.set('backlog_points', this.#points);
  }

  hold(received: Batch): void {
    const batch = compact(received);
    this.#batches.push(batch);
    this.#heldAt.push(performance.now());
    this.#points += batch.length;
    let dropped = 0;
    // The oldest go first, except what a write is reading now, and the newest batch always stays.
    while (this.#points > this.#limitPoints && this.#batches.length > this.#pinned + 1) {
      const i = this.#pinned;
      const old = this.#batches.splice(i, 1)[0]!;
      this.#heldAt.splice(i, 1);
      const lost = old.length - (i === 0 ? this.#offset : 0);
      if (i === 0) this.#offset = 0;
      this.#points -= lost;
      dropped += lost;
      old.release();
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
    for (const batch of this.#batches) batch.release();
    this.#batches = [];
    this.#heldAt = [];
    this.#offset = 0;
    this.#pinned = 0;
    this.#points = 0;
    this.#counters.set('backlog_points', 0);
    return points;
  }
}

/**
 * `batch`, or a copy in a buffer of its size when it fills little of its own: a held batch keeps its whole
 * buffer, so without this the backlog's memory would follow the senders' batch capacities, not the
 * backlog's limit (5-point polls in 1024-point buffers: 20 times as much).
 */
function compact(batch: Batch): Batch {
  if (batch.capacity <= 2 * batch.length + 64) return batch;
  const copy = new Batch(batch.length, undefined, 0, batch.strings, batch.attrSets);
  copy.copyRangeFrom(batch, 0, batch.length);
  batch.release();
  return copy;
}
