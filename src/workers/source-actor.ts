// A managed source running inside a worker: its schedule, its poll buffer, flushes into the worker's
// downstream fan-out, and its pause/resume/stop/set-period/trigger-now behaviour. Worker thread.

import { BatchBuilder } from '../protocol/batch-builder.js';
import type { Batch } from '../protocol/batch.js';
import { nowTimestamp } from '../protocol/clock.js';
import { ElementCounters } from '../protocol/counters.js';
import { SourceEnded, type ElementContext, type Source, type SourceModule } from '../protocol/element.js';
import type { ElementSpec } from '../protocol/messages.js';
import type { BatchSink } from './links.js';
import { Scheduler } from './scheduler.js';

/** Flushed batches a source may hold while its consumers have no credit; beyond it, ticks are skipped. */
const MAX_PENDING_BATCHES = 4;

export interface ActorEvents {
  failed(error: unknown): void;
  ended(reason: string): void;
}

export class SourceActor {
  readonly spec: ElementSpec;
  readonly counters: ElementCounters;
  readonly #module: SourceModule<unknown>;
  readonly #ctx: ElementContext;
  readonly #fanout: BatchSink;
  readonly #events: ActorEvents;
  readonly #scheduler: Scheduler;
  #source: Source | undefined;
  #builder = new BatchBuilder();
  #flushRounds: number;
  #round = 0;
  #pending: Batch[] = [];
  #failed = false;
  #stopping: Promise<void> | undefined;
  #sending = false;
  /** The tick in progress (a poll may be asynchronous), for pause and set-period to wait on. */
  #ticking: Promise<void> | undefined;

  constructor(spec: ElementSpec, module: SourceModule<unknown>, ctx: ElementContext, fanout: BatchSink, precise: boolean, events: ActorEvents) {
    this.spec = spec;
    this.counters = new ElementCounters(spec.counters);
    this.#module = module;
    this.#ctx = ctx;
    this.#fanout = fanout;
    this.#events = events;
    const pollNs = spec.pollNs ?? 1_000_000_000n;
    this.#flushRounds = flushRounds(pollNs, spec.flushNs);
    this.#scheduler = new Scheduler(pollNs, {
      precise,
      wake: this.counters.wake,
      paused: spec.initialState === 'paused',
      target: { tick: (manual) => this.#tick(manual), missed: (n) => this.counters.add('missed_ticks', n) },
    });
  }

  async init(ctx: ElementContext = this.#ctx): Promise<void> {
    this.#source = await this.#module.create(this.spec.config, ctx);
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
      this.#source?.reset?.();
    } catch (e) {
      this.#ctx.log.error({ err: e }, `failed to reset ${this.spec.name}`);
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
    if (this.#stopping !== undefined) return Promise.reject(new Error(`${this.spec.name} is stopped`));
    return this.#scheduler.triggerNow();
  }

  /** Stops polling, flushes what was polled, and waits until it has been handed downstream. */
  stop(): Promise<void> {
    // A second caller (a shutdown during a removal, say) must wait for the same final flush, or it would
    // end the links before the last batch is on its way.
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#scheduler.stop();
    this.#flush();
    await this.#drainPending();
    await this.#closeSource();
  }

  /** Re-creates a failed source in place: same schedule, links and counters. */
  async restart(): Promise<void> {
    await this.#closeSource();
    this.#builder = new BatchBuilder();
    await this.init({ ...this.#ctx, isRestart: true });
    this.#failed = false;
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
    if (this.#failed || this.#source === undefined) return;
    if (!manual && this.#pending.length >= MAX_PENDING_BATCHES) {
      this.counters.add('missed_ticks', 1); // consumers are behind: measure less rather than queue more
      return;
    }
    try {
      await this.#source.poll(this.#builder, nowTimestamp());
    } catch (e) {
      this.counters.add('polls', 1);
      if (e instanceof SourceEnded) {
        this.#events.ended(e.message);
        return;
      }
      this.#failed = true;
      this.counters.add('errors', 1);
      this.#flush(); // points pushed before the error are kept (Alumet drops them on a fatal error)
      this.#events.failed(e);
      return;
    }
    this.counters.add('polls', 1);
    this.#round++;
    if (manual || this.#round % this.#flushRounds === 0) this.#flush();
  }

  #flush(): void {
    if (this.#builder.length === 0) return;
    this.#pending.push(this.#builder.take());
    this.#sendPending();
  }

  #sendPending(): void {
    while (this.#pending.length > 0 && this.#fanout.ready) {
      const batch = this.#pending.shift()!;
      this.counters.add('points_out', batch.length);
      this.counters.add('batches_out', 1);
      if (this.#fanout.size > 0) this.#fanout.send(batch);
    }
    if (this.#pending.length > 0 && !this.#sending) {
      this.#sending = true;
      void this.#fanout.whenReady().then(() => {
        this.#sending = false;
        this.#sendPending();
      });
    }
  }

  async #drainPending(): Promise<void> {
    while (this.#pending.length > 0) {
      await this.#fanout.whenReady();
      this.#sendPending();
    }
  }

  async #closeSource(): Promise<void> {
    const source = this.#source;
    this.#source = undefined;
    try {
      await source?.close?.();
    } catch (e) {
      this.#ctx.log.warn({ err: e }, `error while closing ${this.spec.name}`);
    }
  }
}

/** Polls per flush: max(1, floor(flush / poll)), as Alumet; one flush per poll without a flush interval. */
function flushRounds(pollNs: bigint, flushNs: bigint | undefined): number {
  if (flushNs === undefined || pollNs <= 0n) return 1;
  const r = Number(flushNs / pollNs);
  return r >= 1 ? r : 1;
}
