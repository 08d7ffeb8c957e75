// Data links between element workers (worker threads). A link is one MessagePort pair carrying batches
// downstream and credits upstream: the sender may have at most `window` batches unacknowledged, so a slow
// consumer slows its producers instead of growing a queue without bound.
//
// A MessagePort delivers every message posted to it before its `close` event, also when the other side's
// worker died. So a consumer loses nothing that a dead producer sent, and a producer learns exactly which
// batches a dead consumer never acknowledged: those, and whatever it sends before the supervisor replaces
// the link, are the points lost to the crash, which the producer counts and reports.
//
// A credit may carry a spare batch buffer back upstream (see BufferPool in batch.ts): big batches then
// reuse memory the whole way round instead of mapping fresh pages at the source and freeing them, through
// the GC, at the output.

import type { MessagePort } from 'node:worker_threads';
import { Batch, bufferPool, type WireBatch } from '../protocol/batch.js';
import type { CreditGrant, DataMessage } from '../protocol/messages.js';

/** A credit with the spare buffers that travel back with it (transferred). */
interface CreditWithBuffers extends CreditGrant {
  readonly buffers?: ArrayBuffer[];
}

class OutLink {
  readonly id: number;
  readonly port: MessagePort;
  credits: number;
  /** The consumer's side closed (its worker died, or it acknowledged all after our `end`): sends are only counted. */
  dead = false;
  /** Points lost on this link once dead: unacknowledged at the consumer's death, plus everything sent since. */
  lost = 0;
  /** Points of each batch sent and not yet acknowledged, oldest first (consumers acknowledge in order). */
  #unacked: number[] = [];
  #head = 0;
  #onClose: Array<() => void> = [];

  constructor(id: number, port: MessagePort, window: number) {
    this.id = id;
    this.port = port;
    this.credits = window;
  }

  send(batch: Batch): void {
    if (this.dead) {
      this.lost += batch.length;
      return;
    }
    this.credits--;
    this.#unacked.push(batch.length);
    const { message, transfer } = batch.toWire();
    this.port.postMessage(message, transfer);
  }

  acknowledge(n: number): void {
    this.credits += n;
    this.#head = Math.min(this.#head + n, this.#unacked.length);
    if (this.#head === this.#unacked.length) {
      this.#unacked = [];
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#unacked = this.#unacked.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The port closed: from now on the link only counts. Safe more than once. */
  died(): void {
    if (!this.dead) {
      this.dead = true;
      for (let i = this.#head; i < this.#unacked.length; i++) this.lost += this.#unacked[i]!;
      this.#unacked = [];
      this.#head = 0;
    }
    for (const f of this.#onClose.splice(0)) f();
  }

  /** Resolves with the points lost once the port has closed (at once if it has). */
  lostWhenClosed(): Promise<number> {
    if (this.dead) return Promise.resolve(this.lost);
    return new Promise((resolve) => this.#onClose.push(() => resolve(this.lost)));
  }

  end(): void {
    this.port.postMessage({ type: 'end' } satisfies DataMessage);
  }
}

/**
 * Every downstream link of a producer: each batch goes to every link. The producer checks `ready` (every
 * live link has a credit) before sending and awaits `whenReady()` otherwise.
 */
export class Fanout {
  readonly #links = new Map<number, OutLink>();
  /** Links we ended, until their consumer closes them (kept if it died first, to report the loss). */
  readonly #ended = new Map<number, OutLink>();
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
        link.acknowledge(m.n);
        const buffers = (m as CreditWithBuffers).buffers;
        if (buffers !== undefined) for (const b of buffers) bufferPool.give(b);
        if (this.#waiters.length > 0) this.#wake();
      } else if (m.type === 'closing') {
        // The consumer is stopping: everything sent before this `end` still reaches it, in order.
        this.#end(link);
        this.#wake();
      }
    });
    // A consumer closes its side once it has acknowledged everything after our `end`; any other close
    // means its worker died, and the batches it never acknowledged are lost.
    port.on('close', () => {
      link.died();
      if (this.#ended.get(id) === link && link.lost === 0) this.#ended.delete(id);
      this.#wake();
    });
    this.#links.set(id, link);
    this.#wake();
  }

  /**
   * Attaches link `id` in place of link `replaces` (to a consumer that died and has been started again) in
   * one step, so that every batch is either sent to the new consumer or counted lost on the old link.
   * Resolves with the points lost on the old link, once its port has closed.
   */
  replace(replaces: number, id: number, port: MessagePort): Promise<number> {
    const old = this.#links.get(replaces);
    this.#links.delete(replaces);
    this.attach(id, port);
    return old === undefined ? Promise.resolve(0) : old.lostWhenClosed();
  }

  /**
   * Forgets a link whose consumer is gone and resolves with the points lost on it (sent and never
   * acknowledged, or sent after the consumer died), once its port has closed.
   */
  detach(id: number): Promise<number> {
    const link = this.#links.get(id) ?? this.#ended.get(id);
    if (link === undefined) return Promise.resolve(0);
    this.#links.delete(id);
    this.#ended.delete(id);
    this.#wake();
    return link.lostWhenClosed();
  }

  get ready(): boolean {
    for (const link of this.#links.values()) if (!link.dead && link.credits <= 0) return false;
    return true;
  }

  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Sends `batch` to every link (call only when `ready`). The batch is consumed: do not touch it after. */
  send(batch: Batch): void {
    let remaining = 0;
    for (const link of this.#links.values()) if (!link.dead) remaining++;
    for (const link of this.#links.values()) {
      if (link.dead) link.send(batch); // counted, not sent: call it before the buffer is transferred
    }
    for (const link of this.#links.values()) {
      if (link.dead) continue;
      // The last live link gets the original buffer (transferred); the others get copies.
      link.send(--remaining === 0 ? batch : batch.clone());
    }
  }

  /** Tells every consumer that nothing more will come. Dead links stay, so their losses can be collected. */
  endAll(): void {
    for (const link of this.#links.values()) if (!link.dead) this.#end(link);
    this.#wake();
  }

  #end(link: OutLink): void {
    link.end();
    this.#links.delete(link.id);
    if (!link.dead) this.#ended.set(link.id, link);
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
  /** Batches received and not yet acknowledged. */
  pending: number;
  ended: boolean;
}

/**
 * Every upstream link of a consumer. Batches are handed to `onBatch` with the link to acknowledge once the
 * batch has been dealt with (forwarded or written), in the order they came; `onChange` runs when a link
 * delivers its last message (`end`, or the close of a producer that died, after all it sent).
 */
export class Inputs {
  readonly #links = new Map<number, InLink>();
  readonly #onBatch: (batch: Batch, ack: () => void) => void;
  readonly #onChange: () => void;

  constructor(onBatch: (batch: Batch, ack: () => void) => void, onChange: () => void) {
    this.#onBatch = onBatch;
    this.#onChange = onChange;
  }

  /** Links still open (not ended, not closed). */
  get open(): number {
    return this.#links.size;
  }

  attach(id: number, port: MessagePort): void {
    const link: InLink = { id, port, pending: 0, ended: false };
    const ack = (): void => {
      link.pending--;
      // After the port has closed this is a harmless no-op (a spare buffer sent with it is dropped).
      const spare = bufferPool.takeAny();
      if (spare === undefined) port.postMessage({ type: 'credit', n: 1 } satisfies CreditWithBuffers);
      else port.postMessage({ type: 'credit', n: 1, buffers: [spare] } satisfies CreditWithBuffers, [spare]);
      if (link.ended && link.pending === 0) port.close();
    };
    port.on('message', (m: DataMessage) => {
      if (m.type === 'batch') {
        link.pending++;
        this.#onBatch(Batch.fromWire(m as WireBatch), ack);
      } else if (m.type === 'end') {
        link.ended = true;
        this.#forget(link);
        // Closed once every batch is acknowledged, so the producer can tell this close from a crash.
        if (link.pending === 0) port.close();
      }
    });
    port.on('close', () => this.#forget(link));
    this.#links.set(id, link);
    this.#onChange();
  }

  /** Asks every producer to stop sending on its link; each answers `end` after its last batch. */
  requestClose(): void {
    for (const link of this.#links.values()) link.port.postMessage({ type: 'closing' } satisfies DataMessage);
  }

  #forget(link: InLink): void {
    if (this.#links.get(link.id) !== link) return;
    this.#links.delete(link.id);
    this.#onChange();
  }
}

/** Where a source hands its flushed batches: a Fanout, or a Coalescer in front of one. */
export interface BatchSink {
  readonly size: number;
  readonly ready: boolean;
  whenReady(): Promise<void>;
  send(batch: Batch): void;
}

/** Points a Coalescer holds before it stops accepting (bounds memory while consumers are slow). */
const COALESCE_LIMIT = 65_536;

/**
 * On a pool thread, batches that its many sources flush in the same turn of the event loop travel as one
 * message: with aligned schedules, a hundred process sources cost one wake-up of the next stage instead of
 * a hundred.
 */
export class Coalescer implements BatchSink {
  readonly #fanout: Fanout;
  #merged: Batch | undefined;
  #scheduled = false;

  constructor(fanout: Fanout) {
    this.#fanout = fanout;
  }

  get size(): number {
    return this.#fanout.size;
  }

  get ready(): boolean {
    return (this.#merged?.length ?? 0) < COALESCE_LIMIT;
  }

  whenReady(): Promise<void> {
    return this.ready ? Promise.resolve() : this.flush();
  }

  send(batch: Batch): void {
    if (this.#merged === undefined) this.#merged = batch;
    else {
      const merged = this.#merged.withRoom(batch.length);
      for (let i = 0; i < batch.length; i++) merged.copyPointFrom(batch, i);
      this.#merged = merged;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Sends what was merged so far, once the consumers have credit. */
  async flush(): Promise<void> {
    this.#scheduled = false;
    while (this.#merged !== undefined) {
      await this.#fanout.whenReady();
      const batch = this.#merged;
      if (batch === undefined) return;
      this.#merged = undefined;
      this.#fanout.send(batch);
    }
  }
}
