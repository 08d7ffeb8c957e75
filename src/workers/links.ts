// Data links between element workers (worker threads). A link is one MessagePort pair carrying batches
// downstream and credits upstream: the sender may have at most `window` batches unacknowledged, so a slow
// consumer slows its producers instead of growing a queue without bound.

import type { MessagePort } from 'node:worker_threads';
import { Batch, type WireBatch } from '../protocol/batch.js';
import type { DataMessage } from '../protocol/messages.js';

class OutLink {
  readonly id: number;
  readonly port: MessagePort;
  credits: number;

  constructor(id: number, port: MessagePort, window: number) {
    this.id = id;
    this.port = port;
    this.credits = window;
  }

  send(batch: Batch): void {
    this.credits--;
    const { message, transfer } = batch.toWire();
    this.port.postMessage(message, transfer);
  }

  end(): void {
    this.port.postMessage({ type: 'end' } satisfies DataMessage);
  }
}

/**
 * Every downstream link of a producer: each batch goes to every link. The producer checks `ready` (every
 * link has a credit) before sending and awaits `whenReady()` otherwise.
 */
export class Fanout {
  readonly #links = new Map<number, OutLink>();
  readonly #window: number;
  #waiters: Array<() => void> = [];

  constructor(window: number) {
    this.#window = window;
  }

  get size(): number {
    return this.#links.size;
  }

  attach(id: number, port: MessagePort): void {
    const link = new OutLink(id, port, this.#window);
    port.on('message', (m: DataMessage) => {
      if (m.type === 'credit') {
        link.credits += m.n;
        if (this.#waiters.length > 0) this.#wake();
      } else if (m.type === 'closing') {
        // The consumer is stopping: everything sent before this `end` still reaches it, in order.
        link.end();
        this.#links.delete(id);
        this.#wake();
      }
    });
    this.#links.set(id, link);
    this.#wake();
  }

  /** Forgets a link whose consumer is gone (crashed or replaced); unacknowledged batches are lost with it. */
  detach(id: number): void {
    const link = this.#links.get(id);
    if (link === undefined) return;
    link.port.close();
    this.#links.delete(id);
    this.#wake();
  }

  get ready(): boolean {
    for (const link of this.#links.values()) if (link.credits <= 0) return false;
    return true;
  }

  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Sends `batch` to every link (call only when `ready`). The batch is consumed: do not touch it after. */
  send(batch: Batch): void {
    let remaining = this.#links.size;
    for (const link of this.#links.values()) {
      // The last link gets the original buffer (transferred); the others get copies.
      link.send(--remaining === 0 ? batch : batch.clone());
    }
  }

  /** Tells every consumer that nothing more will come. */
  endAll(): void {
    for (const link of this.#links.values()) link.end();
    this.#links.clear();
    this.#wake();
  }

  #wake(): void {
    if (!this.ready) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

interface InLink {
  readonly id: number;
  readonly port: MessagePort;
}

/**
 * Every upstream link of a consumer. Batches are handed to `onBatch` with the link to acknowledge once the
 * batch has been dealt with (forwarded or written); `onEnd` runs when a link delivers its last message.
 */
export class Inputs {
  readonly #links = new Map<number, InLink>();
  readonly #onBatch: (batch: Batch, ack: () => void) => void;
  readonly #onChange: () => void;

  constructor(onBatch: (batch: Batch, ack: () => void) => void, onChange: () => void) {
    this.#onBatch = onBatch;
    this.#onChange = onChange;
  }

  /** Links still open (not ended, not detached). */
  get open(): number {
    return this.#links.size;
  }

  attach(id: number, port: MessagePort): void {
    const link: InLink = { id, port };
    port.on('message', (m: DataMessage) => {
      if (m.type === 'batch') {
        const batch = Batch.fromWire(m as WireBatch);
        // Acknowledging on a port closed since then is a harmless no-op.
        this.#onBatch(batch, () => port.postMessage({ type: 'credit', n: 1 } satisfies DataMessage));
      } else if (m.type === 'end') {
        this.#links.delete(id);
        port.close();
        this.#onChange();
      }
    });
    this.#links.set(id, link);
    this.#onChange();
  }

  detach(id: number): void {
    const link = this.#links.get(id);
    if (link === undefined) return;
    link.port.close();
    this.#links.delete(id);
    this.#onChange();
  }

  /** Asks every producer to stop sending on its link; each answers `end` after its last batch. */
  requestClose(): void {
    for (const link of this.#links.values()) link.port.postMessage({ type: 'closing' } satisfies DataMessage);
  }
}
