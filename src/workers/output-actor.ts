// An output running in its own worker: batches from every upstream link are written one at a time, in
// arrival order. Paused (or failed and waiting for its restart), it keeps a bounded backlog that it writes
// on resume, dropping the oldest batches beyond the limit (counted). Worker thread.
//
// Accounting: a batch is acknowledged upstream, in arrival order, in the same synchronous step that counts
// it written or puts it in the backlog; `backlog_points` is exact at every await. So if this worker dies,
// the producers' unacknowledged batches plus `backlog_points` are exactly the points lost.

import type { Batch } from '../protocol/batch.js';
import { ElementCounters } from '../protocol/counters.js';
import type { ElementContext, Output, OutputModule } from '../protocol/element.js';
import type { ElementSpec } from '../protocol/messages.js';
import { Backlog } from './backlog.js';
import { Inputs } from './links.js';
import type { ActorEvents } from './source-actor.js';

export class OutputActor {
  readonly spec: ElementSpec;
  readonly counters: ElementCounters;
  readonly inputs: Inputs;
  readonly #module: OutputModule<unknown>;
  readonly #ctx: ElementContext;
  readonly #events: ActorEvents;
  readonly #backlog: Backlog;
  #output: Output | undefined;
  #opened = false;
  /** Batches received and not yet written; acknowledged upstream once written (or once held in backlog). */
  #queue: Array<{ batch: Batch; ack: () => void }> = [];
  #writing = false;
  /** The write in progress when the output's write is asynchronous, for pause to wait on. */
  #inWrite: Promise<void> | undefined;
  #paused: boolean;
  #failed = false;
  #closed = false;
  #draining: Array<() => void> = [];

  constructor(spec: ElementSpec, module: OutputModule<unknown>, ctx: ElementContext, backlogLimit: number, events: ActorEvents) {
    this.spec = spec;
    this.counters = new ElementCounters(spec.counters);
    this.#module = module;
    this.#ctx = ctx;
    this.#events = events;
    this.#backlog = new Backlog(backlogLimit, this.counters, ctx.log, spec.name);
    this.#paused = spec.initialState === 'paused';
    this.inputs = new Inputs(
      (batch, ack) => {
        this.counters.add('batches_in', 1);
        this.counters.add('points_in', batch.length);
        // Queued even while holding, so that acknowledgements keep the arrival order.
        this.#queue.push({ batch, ack });
        void this.#pump();
      },
      () => void this.#pump(),
    );
  }

  async init(ctx: ElementContext = this.#ctx): Promise<void> {
    this.#output = await this.#module.create(this.spec.config, ctx);
    // A replacement for an output that was running opens at once; a first start waits for the pipeline.
    if (ctx.isRestart) await this.open();
  }

  /** Lets the output create or write its files: called once the whole pipeline has started. */
  async open(): Promise<void> {
    this.#opened = true;
    await this.#output?.open?.();
  }

  get #holding(): boolean {
    return this.#paused || this.#failed;
  }

  /** Resolves once the write in progress, if any, has ended: from then on nothing is written until resume. */
  async pause(): Promise<void> {
    this.#paused = true;
    // An asynchronous write that began before the request still ends (and counts): wait for it, so that the
    // supervisor's `ok paused` comes after the output's last write.
    await this.#inWrite?.then(
      () => undefined,
      () => undefined,
    );
  }

  resume(): void {
    this.#paused = false;
    void this.#pump();
  }

  async restart(): Promise<void> {
    await this.#closeOutput();
    await this.init({ ...this.#ctx, isRestart: this.#opened });
    this.#failed = false;
    void this.#pump();
  }

  /** Stops receiving, writes everything already received (backlog included), closes. */
  stop(): Promise<void> {
    this.inputs.requestClose();
    return this.drain();
  }

  /** Resolves once every input has ended and everything received is written and the output closed. */
  drain(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#draining.push(resolve);
      void this.#pump();
    });
  }

  /** Writing is allowed: running, or draining while paused (a failed output cannot write). */
  get #mayWrite(): boolean {
    return !this.#holding || (this.#draining.length > 0 && !this.#failed);
  }

  async #pump(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      // On resume, and at the end of a drain even while paused, the backlog is written first, in order.
      while (this.#backlog.length > 0 && this.#mayWrite) {
        const written = await this.#write(this.#backlog.oldest()!, () => this.#backlog.removeOldest());
        if (!written) break;
      }
      while (this.#queue.length > 0) {
        if (!this.#mayWrite || this.#backlog.length > 0) {
          for (const { batch, ack } of this.#queue.splice(0)) {
            this.#backlog.hold(batch);
            ack();
          }
          break;
        }
        const { batch, ack } = this.#queue.shift()!;
        if (!(await this.#write(batch, ack))) {
          this.#backlog.hold(batch);
          ack();
        }
      }
    } finally {
      this.#writing = false;
    }
    if (this.#draining.length > 0 && this.inputs.open === 0 && this.#queue.length === 0 && (this.#backlog.length === 0 || this.#failed)) {
      // A failed output that was given up on cannot write its backlog: account for it.
      const unwritten = this.#backlog.clear();
      if (unwritten > 0) {
        this.counters.add('dropped_crash', unwritten);
        this.#ctx.log.error(`${this.spec.name} closes failed with ${unwritten} points unwritten`);
      }
      await this.#closeOutput();
      this.#closed = true;
      for (const resolve of this.#draining.splice(0)) resolve();
    }
  }

  /**
   * Writes one batch; false if the output is failed (the caller keeps the batch for after the restart).
   * `written` runs in the same synchronous step as the counting, so a crash never splits the two.
   */
  async #write(batch: Batch, written: () => void): Promise<boolean> {
    if (this.#failed || this.#output === undefined) return false;
    try {
      const pending = this.#output.write(batch);
      this.#inWrite = pending ?? undefined;
      await pending;
    } catch (e) {
      this.#failed = true;
      this.counters.add('errors', 1);
      this.#events.failed(e);
      return false;
    } finally {
      this.#inWrite = undefined;
    }
    this.counters.add('points_out', batch.length);
    this.counters.add('batches_out', 1);
    written();
    // Written means done with: its buffer goes back to this thread's pool, and from there upstream with a
    // credit, so the source's next big batch needs no fresh allocation.
    batch.release();
    return true;
  }

  async #closeOutput(): Promise<void> {
    const output = this.#output;
    this.#output = undefined;
    try {
      await output?.close?.();
    } catch (e) {
      this.#ctx.log.warn({ err: e }, `error while closing ${this.spec.name}`);
    }
  }
}
