// A transform running in its own worker: batches from every upstream link are applied in arrival order
// and forwarded to the next stage. Paused or failed, it passes batches through unchanged, so the chain
// never loses data because of one transform. Worker thread.

import type { MessagePort } from 'node:worker_threads';
import type { Batch } from '../protocol/batch.js';
import type { Transform, TransformModule } from '../protocol/element.js';
import type { ElementSpec } from '../protocol/messages.js';
import { ElementHost, type ElementActor, type WorkerServices } from './element-host.js';
import { Inbox } from './inbox.js';
import type { Fanout } from './links.js';

export class TransformActor implements ElementActor {
  readonly #host: ElementHost<Transform>;
  readonly #inbox: Inbox;
  readonly #fanout: Fanout;
  #busy = false;
  #paused: boolean;
  #flushed = false;

  constructor(spec: ElementSpec, module: TransformModule<unknown>, services: WorkerServices, fanout: Fanout) {
    this.#host = new ElementHost(spec, services, { create: module.create, end: (transform) => transform.finish?.(), ending: 'finishing' });
    this.#inbox = new Inbox(this.#host.counters, () => void this.#pump());
    this.#fanout = fanout;
    this.#paused = spec.initialState === 'paused';
  }

  get spec(): ElementSpec {
    return this.#host.spec;
  }

  init(): Promise<void> {
    return this.#host.create();
  }

  /** A transform has nothing to begin: it works as batches come. */
  start(): void {}

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  stop(): Promise<void> {
    return Promise.reject(new Error(`stop applies to sources and outputs; ${this.#host.name} is a transform`));
  }

  restart(): Promise<void> {
    return this.#host.restart();
  }

  /** Resolves once every input has ended and every batch has been forwarded, and the transform has finished. */
  drain(): Promise<void> {
    return this.#inbox.drain();
  }

  attachInput(linkId: number, port: MessagePort): void {
    this.#inbox.attach(linkId, port);
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (this.#inbox.length > 0) {
        if (!this.#fanout.ready) await this.#fanout.whenReady();
        const { batch, ack } = this.#inbox.next()!;
        this.#forward(await this.#apply(batch));
        ack();
      }
    } finally {
      this.#busy = false;
    }
    if (this.#inbox.mayFinish) {
      await this.#flush();
      await this.#host.close();
      this.#inbox.drained();
    }
  }

  #forward(out: Batch): void {
    this.#host.counters.add('points_out', out.length);
    this.#host.counters.add('batches_out', 1);
    if (this.#fanout.size > 0) this.#fanout.send(out);
  }

  /** Forwards what the transform still holds, once, before its links end (paused, it held it all the same). */
  async #flush(): Promise<void> {
    const transform = this.#host.instance;
    if (this.#flushed || this.#host.failed || transform?.flush === undefined) return;
    this.#flushed = true;
    let held: Batch | undefined;
    try {
      held = await transform.flush();
    } catch (e) {
      this.#host.fail(e);
      return;
    }
    if (held === undefined || held.length === 0) return;
    if (!this.#fanout.ready) await this.#fanout.whenReady();
    this.#forward(held);
  }

  async #apply(batch: Batch): Promise<Batch> {
    const transform = this.#host.instance;
    if (this.#paused || this.#host.failed || transform === undefined) return batch;
    try {
      return await transform.apply(batch);
    } catch (e) {
      // Forwarded as it stands (possibly changed in part), as Alumet does: copying every batch up front to
      // undo a rare failure would halve the data plane's throughput.
      this.#host.fail(e);
      return batch;
    }
  }
}
