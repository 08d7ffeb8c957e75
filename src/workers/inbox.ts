// The receiving side of a transform or an output (worker thread): its upstream links, the batches that came
// and are not yet dealt with, in arrival order and counted as they come, and the drain that waits for every
// input to end.

import type { MessagePort } from 'node:worker_threads';
import type { Batch } from '../protocol/batch.js';
import type { ElementCounters } from '../protocol/counters.js';
import { Inputs } from './links.js';

/** A batch and what acknowledges it upstream, once it has been forwarded, written or held. */
export interface Received {
  readonly batch: Batch;
  readonly ack: () => void;
}

export class Inbox {
  readonly #inputs: Inputs;
  readonly #queue: Received[] = [];
  readonly #onChange: () => void;
  #drains: Array<() => void> = [];

  /** `onChange` runs when a batch comes, an input ends, or a drain is asked for: the consumer's pump. */
  constructor(counters: ElementCounters, onChange: () => void) {
    this.#onChange = onChange;
    this.#inputs = new Inputs((batch, ack) => {
      counters.add('batches_in', 1);
      counters.add('points_in', batch.length);
      this.#queue.push({ batch, ack });
      onChange();
    }, onChange);
  }

  attach(linkId: number, port: MessagePort): void {
    this.#inputs.attach(linkId, port);
  }

  /** Asks every producer to stop sending; each answers `end` after its last batch. */
  requestClose(): void {
    this.#inputs.requestClose();
  }

  get length(): number {
    return this.#queue.length;
  }

  /** The oldest batch not yet taken. */
  next(): Received | undefined {
    return this.#queue.shift();
  }

  takeAll(): Received[] {
    return this.#queue.splice(0);
  }

  /** A drain was asked for and has not finished. */
  get draining(): boolean {
    return this.#drains.length > 0;
  }

  /** A drain is waiting, every input has ended and every batch has been taken: the consumer may finish. */
  get mayFinish(): boolean {
    return this.#drains.length > 0 && this.#inputs.open === 0 && this.#queue.length === 0;
  }

  /** Resolves once the consumer calls `drained`, which it does when `mayFinish` and done with the last batch. */
  drain(): Promise<void> {
    return new Promise((resolve) => {
      this.#drains.push(resolve);
      this.#onChange();
    });
  }

  drained(): void {
    for (const resolve of this.#drains.splice(0)) resolve();
  }
}
