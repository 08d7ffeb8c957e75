// A managed source running inside a worker: its schedule, its poll buffer, and its flushes into the
// worker's downstream links; what every element has (counters, context, create, close, restart) is its
// ElementHost's. Worker thread.

import { BatchBuilder } from '../protocol/batch-builder.js';
import type { Batch } from '../protocol/batch.js';
import { nowTimestamp } from '../protocol/clock.js';
import { SourceEnded, type Source, type SourceModule } from '../protocol/element.js';
import type { ElementSpec } from '../protocol/messages.js';
import { ElementHost, type ElementActor, type WorkerServices } from './element-host.js';
import type { BatchSink } from './links.js';
import { Scheduler } from './scheduler.js';

/** Flushed batches a source may hold while its consumers have no credit; beyond it, ticks are skipped. */
const MAX_PENDING_BATCHES = 4;

export class SourceActor implements ElementActor {
  readonly #host: ElementHost<Source>;
  readonly #sink: BatchSink;
  readonly #scheduler: Scheduler;
  #builder = new BatchBuilder();
  #flushRounds: number;
  #round = 0;
  #pending: Batch[] = [];
  #stopping: Promise<void> | undefined;
  #sending = false;
  /** The tick in progress (a poll may be asynchronous), for pause and set-period to wait on. */
  #ticking: Promise<void> | undefined;

  constructor(spec: ElementSpec, module: SourceModule<unknown>, services: WorkerServices, sink: BatchSink, precise: boolean) {
    this.#host = new ElementHost(spec, services, { create: module.create, end: (source) => source.close?.(), ending: 'closing' });
    this.#sink = sink;
    const pollNs = spec.pollNs ?? 1_000_000_000n;
    this.#flushRounds = flushRounds(pollNs, spec.flushNs);
    const counters = this.#host.counters;
    this.#scheduler = new Scheduler(pollNs, {
      precise,
      wake: counters.wake,
      paused: spec.initialState === 'paused',
      target: { tick: (manual) => this.#tick(manual), missed: (n) => counters.add('missed_ticks', n) },
    });
  }

  get spec(): ElementSpec {
    return this.#host.spec;
  }

  init(): Promise<void> {
    return this.#host.create();
  }

  start(): void {
    this.#scheduler.start();
  }

  /** Resolves once the poll in progress, if any, has ended: from then on the source polls no more. */
  async pause(): Promise<void> {
    this.#scheduler.pause();
    // An asynchronous poll that began before the request still ends (and counts): wait for it, so that the
    // supervisor's `ok paused` comes after the source's last poll.
    await this.#ticking?.catch(() => undefined);
    try {
      this.#host.instance?.reset?.();
    } catch (e) {
      this.#host.ctx.log.error({ err: e }, `failed to reset ${this.#host.name}`);
    }
  }

  resume(): void {
    this.#scheduler.resume();
  }

  /** Resolves once the poll in progress, if any, has ended: the next poll follows the new period. */
  async setPeriod(periodNs: bigint): Promise<void> {
    // Only the period changes: the flush interval in time is kept, so the rounds follow the new period.
    this.#flushRounds = flushRounds(periodNs, this.spec.flushNs);
    this.#scheduler.setPeriod(periodNs);
    await this.#ticking?.catch(() => undefined);
  }

  triggerNow(): Promise<void> {
    if (this.#stopping !== undefined) return Promise.reject(new Error(`${this.#host.name} is stopped`));
    return this.#scheduler.triggerNow();
  }

  /** Stops polling, flushes what was polled, and waits until it has been handed downstream. */
  stop(): Promise<void> {
    // A second caller (a shutdown during a removal, say) must wait for the same final flush, or it would
    // end the links before the last batch is on its way.
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  drain(): Promise<void> {
    return this.stop();
  }

  async #stop(): Promise<void> {
    await this.#scheduler.stop();
    this.#flush();
    await this.#drainPending();
    await this.#host.close();
  }

  /** Re-creates a failed source in place: same schedule, links and counters. */
  restart(): Promise<void> {
    // The new instance starts on a fresh builder, as the first one did.
    this.#builder = new BatchBuilder();
    return this.#host.restart();
  }

  #tick(manual: boolean): Promise<void> {
    const tick = this.#pollOnce(manual);
    this.#ticking = tick;
    const clear = (): void => {
      if (this.#ticking === tick) this.#ticking = undefined;
    };
    tick.then(clear, clear);
    return tick;
  }

  async #pollOnce(manual: boolean): Promise<void> {
    const source = this.#host.instance;
    if (this.#host.failed || source === undefined) return;
    const counters = this.#host.counters;
    if (!manual && this.#pending.length >= MAX_PENDING_BATCHES) {
      counters.add('missed_ticks', 1); // consumers are behind: measure less rather than queue more
      return;
    }
    try {
      await source.poll(this.#builder, nowTimestamp());
    } catch (e) {
      counters.add('polls', 1);
      if (e instanceof SourceEnded) {
        this.#host.ended(e.message);
        return;
      }
      this.#flush(); // points pushed before the error are kept (Alumet drops them on a fatal error)
      this.#host.fail(e);
      return;
    }
    counters.add('polls', 1);
    this.#round++;
    if (manual || this.#round % this.#flushRounds === 0) this.#flush();
  }

  #flush(): void {
    if (this.#builder.length === 0) return;
    this.#pending.push(this.#builder.take());
    this.#sendPending();
  }

  #sendPending(): void {
    const sink = this.#sink;
    while (this.#pending.length > 0 && sink.ready) {
      const batch = this.#pending.shift()!;
      this.#host.counters.add('points_out', batch.length);
      this.#host.counters.add('batches_out', 1);
      if (sink.size > 0) sink.send(batch);
    }
    if (this.#pending.length > 0 && !this.#sending) {
      this.#sending = true;
      void sink.whenReady().then(() => {
        this.#sending = false;
        this.#sendPending();
      });
    }
  }

  async #drainPending(): Promise<void> {
    while (this.#pending.length > 0) {
      await this.#sink.whenReady();
      this.#sendPending();
    }
  }
}

/** Polls per flush: max(1, floor(flush / poll)), as Alumet; one flush per poll without a flush interval. */
function flushRounds(pollNs: bigint, flushNs: bigint | undefined): number {
  if (flushNs === undefined || pollNs <= 0n) return 1;
  const r = Number(flushNs / pollNs);
  return r >= 1 ? r : 1;
}
