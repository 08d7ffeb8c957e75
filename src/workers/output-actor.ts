// An output running in its own worker: batches from every upstream link are written one at a time, in
// arrival order. Paused (or failed and waiting for its restart), it keeps a bounded backlog that it writes
// on resume, dropping the oldest batches beyond the limit (counted). An output that pushes to a server
// (`Output.batching`) keeps everything in that backlog as it comes, writes it in requests of the size the
// server wants, and tries a request the server did not take again after the delay the output asks for, so
// an outage costs backlog space, never the sources' ticks. Worker thread.
//
// Accounting: a batch is acknowledged upstream, in arrival order, in the same synchronous step that counts
// it written or puts it in the backlog; `backlog_points` is exact at every await. So if this worker dies,
// the producers' unacknowledged batches plus `backlog_points` are exactly the points lost.

import type { MessagePort } from 'node:worker_threads';
import type { Batch } from '../protocol/batch.js';
import type { Output, OutputBatching, OutputModule, WriteOutcome } from '../protocol/element.js';
import type { ElementSpec } from '../protocol/messages.js';
import { Backlog } from './backlog.js';
import { ElementHost, type ElementActor, type WorkerServices } from './element-host.js';
import { Inbox } from './inbox.js';

export class OutputActor implements ElementActor {
  readonly #host: ElementHost<Output>;
  /** Batches received and not yet written; acknowledged upstream once written (or once held in backlog). */
  readonly #inbox: Inbox;
  readonly #backlog: Backlog;
  #opened = false;
  #writing = false;
  /** The write in progress when the output's write is asynchronous, for pause to wait on. */
  #inWrite: Promise<void> | undefined;
  #paused: boolean;
  #closed = false;
  /** The instance's batching (see Output.batching), read again after each restart. */
  #batching: OutputBatching | undefined;
  /** Set while the destination's retry delay runs: nothing is written until it ends. */
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set while a batching output's partial write waits for its flush interval (a full one goes at once). */
  #flushTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(spec: ElementSpec, module: OutputModule<unknown>, services: WorkerServices, backlogLimit: number) {
    this.#host = new ElementHost(spec, services, { create: module.create, end: (output) => output.close?.(), ending: 'closing' });
    // Batches are queued even while holding, so that acknowledgements keep the arrival order.
    this.#inbox = new Inbox(this.#host.counters, () => {
      // A batching output never makes its producers wait: what comes is held (and acknowledged) at once.
      if (this.#batching !== undefined) this.#holdArrivals();
      void this.#pump();
    });
    this.#backlog = new Backlog(backlogLimit, this.#host.counters, this.#host.ctx.log, spec.name);
    this.#paused = spec.initialState === 'paused';
  }

  get spec(): ElementSpec {
    return this.#host.spec;
  }

  async init(): Promise<void> {
    await this.#host.create();
    this.#adoptBatching();
    // A replacement for an output that was running opens at once; a first start waits for the pipeline.
    if (this.spec.isRestart) await this.#open();
  }

  /** Lets the output create or write its files: called once the whole pipeline has started. */
  start(): Promise<void> {
    return this.#open();
  }

  async #open(): Promise<void> {
    this.#opened = true;
    await this.#host.instance?.open?.();
  }

  #adoptBatching(): void {
    this.#batching = this.#host.instance?.batching;
    if (this.#batching !== undefined) this.#backlog.limitPoints = this.#batching.backlogPoints;
  }

  get #holding(): boolean {
    return this.#paused || this.#host.failed;
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
    // Re-created as a restart (appending) only if the failed instance had opened its files.
    const reopen = this.#opened;
    await this.#host.restart(reopen, () => (reopen ? this.#open() : Promise.resolve()));
    this.#adoptBatching();
    void this.#pump();
  }

  /** Stops receiving, writes everything already received (backlog included), closes. */
  stop(): Promise<void> {
    this.#inbox.requestClose();
    return this.drain();
  }

  /** Resolves once every input has ended and everything received is written and the output closed. */
  drain(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#inbox.drain();
  }

  attachInput(linkId: number, port: MessagePort): void {
    this.#inbox.attach(linkId, port);
  }

  /** Writing is allowed: running, or draining while paused (a failed output cannot write). */
  get #mayWrite(): boolean {
    return !this.#holding || (this.#inbox.draining && !this.#host.failed);
  }

  async #pump(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      if (this.#batching === undefined) await this.#writeEach();
      else await this.#writeGathered(this.#batching);
    } finally {
      this.#writing = false;
    }
    if (this.#inbox.mayFinish && (this.#backlog.length === 0 || this.#host.failed)) {
      // A failed output that was given up on cannot write its backlog: account for it.
      const unwritten = this.#backlog.clear();
      if (unwritten > 0) {
        this.#host.counters.add('dropped_crash', unwritten);
        this.#host.ctx.log.error(`${this.#host.name} closes failed with ${unwritten} points unwritten`);
      }
      clearTimeout(this.#retryTimer);
      clearTimeout(this.#flushTimer);
      await this.#host.close();
      this.#closed = true;
      this.#inbox.drained();
    }
  }

  /** Without batching: each batch as it came, the backlog first; the inbox holds back the producers meanwhile. */
  async #writeEach(): Promise<void> {
    // On resume, and at the end of a drain even while paused, the backlog is written first, in order.
    while (this.#backlog.length > 0 && this.#mayWrite && this.#retryTimer === undefined) {
      const batch = this.#backlog.oldest()!;
      const result = await this.#write(batch, () => this.#backlog.removeOldest());
      if (result !== 'written') {
        if (result !== 'failed') this.#retryAfter(result.retryAfterMs);
        return;
      }
    }
    while (this.#inbox.length > 0) {
      if (!this.#mayWrite || this.#backlog.length > 0) {
        this.#holdArrivals();
        return;
      }
      const { batch, ack } = this.#inbox.next()!;
      const result = await this.#write(batch, ack);
      if (result !== 'written') {
        this.#backlog.hold(batch);
        ack();
        if (result !== 'failed') this.#retryAfter(result.retryAfterMs);
      }
    }
  }

  /**
   * With batching: writes of `maxPoints` from the front of the backlog, a smaller one only once its oldest
   * point has waited `flushIntervalMs` (or at a drain); a write the destination did not take is tried again.
   */
  async #writeGathered(batching: OutputBatching): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    while (this.#backlog.points > 0 && this.#mayWrite && this.#retryTimer === undefined) {
      const waited = performance.now() - this.#backlog.oldestHeldAt!;
      if (this.#backlog.points < batching.maxPoints && waited < batching.flushIntervalMs && !this.#inbox.draining) {
        this.#flushTimer = setTimeout(() => void this.#pump(), batching.flushIntervalMs - waited);
        return;
      }
      const batch = this.#backlog.takeFront(batching.maxPoints);
      const result = await this.#write(batch, () => this.#backlog.removeFront(batch.length));
      if (result !== 'written') {
        this.#backlog.unpin();
        if (result !== 'failed') this.#retryAfter(result.retryAfterMs);
        return;
      }
    }
  }

  /** Every batch received goes to the backlog and is acknowledged: what a batching output always does. */
  #holdArrivals(): void {
    for (const { batch, ack } of this.#inbox.takeAll()) {
      this.#backlog.hold(batch);
      ack();
    }
  }

  /** Nothing is written for `ms`; then the write the destination did not take is tried again. */
  #retryAfter(ms: number): void {
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#pump();
    }, Math.max(0, ms));
  }

  /**
   * Writes one batch. 'failed' if the output is failed (the caller keeps the batch for after the restart),
   * or the delay after which the destination, which took nothing, wants it again. `written` runs in the same
   * synchronous step as the counting, so a crash never splits the two.
   */
  async #write(batch: Batch, written: () => void): Promise<'written' | 'failed' | { retryAfterMs: number }> {
    const output = this.#host.instance;
    if (this.#host.failed || output === undefined) return 'failed';
    let outcome: WriteOutcome | void;
    try {
      const pending = output.write(batch);
      // What pause waits for: the end of the write, whatever its outcome (the failure is handled below).
      this.#inWrite = pending instanceof Promise ? pending.then(() => undefined, () => undefined) : undefined;
      outcome = await pending;
    } catch (e) {
      this.#host.fail(e);
      return 'failed';
    } finally {
      this.#inWrite = undefined;
    }
    if (outcome !== undefined && 'retryAfterMs' in outcome) {
      this.#host.retrying(outcome.error);
      return { retryAfterMs: outcome.retryAfterMs };
    }
    const rejected = Math.min(batch.length, Math.max(0, outcome?.rejected ?? 0));
    const collapsed = Math.min(batch.length - rejected, Math.max(0, outcome?.collapsed ?? 0));
    this.#host.counters.add('points_out', batch.length - rejected - collapsed);
    if (rejected > 0) this.#host.counters.add('dropped_rejected', rejected);
    if (collapsed > 0) this.#host.counters.add('collapsed', collapsed);
    this.#host.counters.add('batches_out', 1);
    written();
    // Written means done with: its buffer goes back to this thread's pool, and from there upstream with a
    // credit, so the source's next big batch needs no fresh allocation.
    batch.release();
    return 'written';
  }
}
