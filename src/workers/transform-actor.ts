// A transform running in its own worker: batches from every upstream link are applied in arrival order
// and forwarded to the next stage. Paused or failed, it passes batches through unchanged, so the chain
// never loses data because of one transform. Worker thread.

import type { Batch } from '../protocol/batch.js';
import { ElementCounters } from '../protocol/counters.js';
import type { ElementContext, Transform, TransformModule } from '../protocol/element.js';
import type { ElementSpec } from '../protocol/messages.js';
import type { ActorEvents } from './source-actor.js';
import { Fanout, Inputs } from './links.js';

export class TransformActor {
  readonly spec: ElementSpec;
  readonly counters: ElementCounters;
  readonly inputs: Inputs;
  readonly fanout: Fanout;
  readonly #module: TransformModule<unknown>;
  readonly #ctx: ElementContext;
  readonly #events: ActorEvents;
  #transform: Transform | undefined;
  #queue: Array<{ batch: Batch; ack: () => void }> = [];
  #busy = false;
  #paused: boolean;
  #failed = false;
  #draining: Array<() => void> = [];

  constructor(spec: ElementSpec, module: TransformModule<unknown>, ctx: ElementContext, window: number, events: ActorEvents) {
    this.spec = spec;
    this.counters = new ElementCounters(spec.counters);
    this.#module = module;
    this.#ctx = ctx;
    this.#events = events;
    this.#paused = spec.initialState === 'paused';
    this.fanout = new Fanout(window);
    this.inputs = new Inputs(
      (batch, ack) => {
        this.counters.add('batches_in', 1);
        this.counters.add('points_in', batch.length);
        this.#queue.push({ batch, ack });
        void this.#pump();
      },
      () => void this.#pump(),
    );
  }

  async init(ctx: ElementContext = this.#ctx): Promise<void> {
    this.#transform = await this.#module.create(this.spec.config, ctx);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  async restart(): Promise<void> {
    await this.#finishTransform();
    await this.init({ ...this.#ctx, isRestart: true });
    this.#failed = false;
  }

  /** Resolves once every input has ended and every batch has been forwarded; then ends the outputs. */
  drain(): Promise<void> {
    return new Promise((resolve) => {
      this.#draining.push(resolve);
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (this.#queue.length > 0) {
        if (!this.fanout.ready) await this.fanout.whenReady();
        const { batch, ack } = this.#queue.shift()!;
        const out = await this.#apply(batch);
        this.counters.add('points_out', out.length);
        this.counters.add('batches_out', 1);
        if (this.fanout.size > 0) this.fanout.send(out);
        ack();
      }
    } finally {
      this.#busy = false;
    }
    if (this.#draining.length > 0 && this.inputs.open === 0 && this.#queue.length === 0) {
      await this.#finishTransform();
      this.fanout.endAll();
      for (const resolve of this.#draining.splice(0)) resolve();
    }
  }

  async #apply(batch: Batch): Promise<Batch> {
    if (this.#paused || this.#failed || this.#transform === undefined) return batch;
    try {
      return await this.#transform.apply(batch);
    } catch (e) {
      // Forwarded as it stands (possibly changed in part), as Alumet does: copying every batch up front to
      // undo a rare failure would halve the data plane's throughput.
      this.#failed = true;
      this.counters.add('errors', 1);
      this.#events.failed(e);
      return batch;
    }
  }

  async #finishTransform(): Promise<void> {
    const transform = this.#transform;
    this.#transform = undefined;
    try {
      await transform?.finish?.();
    } catch (e) {
      this.#ctx.log.warn({ err: e }, `error while finishing ${this.spec.name}`);
    }
  }
}
