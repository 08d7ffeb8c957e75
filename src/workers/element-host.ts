// What every hosted element has, whatever its kind, kept once for the source, transform and output actors:
// its spec, counters and context, its reports to the supervisor, and the life of its instance (create,
// close, fail, re-create in place). Also the one interface the worker drives every actor through. Worker
// thread.

import type { MessagePort } from 'node:worker_threads';
import { ElementCounters } from '../protocol/counters.js';
import type { ConsumerEvent, ElementContext } from '../protocol/element.js';
import type { Logger } from '../protocol/logging.js';
import type { MetricInfo, NewMetric } from '../protocol/metrics.js';
import type { ElementSpec, WorkerEvent } from '../protocol/messages.js';

/** What the worker asks of every element it hosts. Calls resolve once the request has taken effect. */
export interface ElementActor {
  readonly spec: ElementSpec;
  /** Creates the element's instance (its module's `create`). */
  init(): Promise<void>;
  /** The pipeline is wired: a source begins polling, an output opens its files. */
  start(): void | Promise<void>;
  pause(): void | Promise<void>;
  resume(): void;
  /** Source: stops polling, final flush. Output: writes what it was sent, closes. Not a transform. */
  stop(): Promise<void>;
  /** Re-creates a failed element's instance in place: same links, same counters. */
  restart(): Promise<void>;
  /** Shutdown: a source stops; a transform or output finishes once every input has ended and all is passed on. */
  drain(): Promise<void>;
  /** Receives on a new upstream link: only a transform or an output has inputs. */
  attachInput?(linkId: number, port: MessagePort): void;
  /** Sources only: the next poll follows the new period. */
  setPeriod?(periodNs: bigint): Promise<void>;
  /** Sources only: one extra poll, flushed at once. */
  triggerNow?(): Promise<void>;
}

/** What the worker lends each element it hosts. */
export interface WorkerServices {
  readonly log: Logger;
  /** Every metric registered so far; the worker keeps it up to date. */
  readonly metrics: ReadonlyMap<number, MetricInfo>;
  /** Posts an event to the supervisor. */
  report(event: WorkerEvent): void;
  onConsumerEvent(listener: (event: ConsumerEvent) => void): void;
  /** Asks the supervisor to register metrics for element `id` (see ElementContext.registerMetrics). */
  registerMetrics(id: number, metrics: readonly NewMetric[], renameSuffix: string): Promise<MetricInfo[]>;
}

/** How an actor makes and ends instances of its kind. */
export interface InstanceLife<I> {
  create(config: unknown, ctx: ElementContext): I | Promise<I>;
  /** A source or output closes; a transform finishes. */
  end(instance: I): void | Promise<void>;
  /** For the log line of an error in `end`: "closing", "finishing". */
  readonly ending: string;
}

export class ElementHost<I> {
  readonly spec: ElementSpec;
  readonly counters: ElementCounters;
  readonly ctx: ElementContext;
  readonly #services: WorkerServices;
  readonly #life: InstanceLife<I>;
  #instance: I | undefined;
  /** Failed and not yet restarted: a source skips its polls, a transform passes batches on, an output holds them. */
  #failed = false;

  constructor(spec: ElementSpec, services: WorkerServices, life: InstanceLife<I>) {
    this.spec = spec;
    this.counters = new ElementCounters(spec.counters);
    this.#services = services;
    this.#life = life;
    this.ctx = {
      name: spec.name,
      log: services.log.child({ element: spec.name }),
      metrics: services.metrics,
      isRestart: spec.isRestart,
      runtime: {
        add: (runtimeSpec) => services.report({ type: 'add-source', id: spec.id, spec: runtimeSpec }),
        remove: (element) => services.report({ type: 'remove-source', id: spec.id, element }),
        onConsumerEvent: (listener) => services.onConsumerEvent(listener),
      },
      registerMetrics: (metrics, renameSuffix) => services.registerMetrics(spec.id, metrics, renameSuffix),
    };
  }

  get name(): string {
    return this.spec.name;
  }

  /** The running instance; undefined while it is being closed or re-created. */
  get instance(): I | undefined {
    return this.#instance;
  }

  get failed(): boolean {
    return this.#failed;
  }

  /** Creates the instance; `isRestart` tells it that one ran before it (an output then appends to its files). */
  async create(isRestart = this.spec.isRestart): Promise<void> {
    const ctx = isRestart === this.ctx.isRestart ? this.ctx : { ...this.ctx, isRestart };
    this.#instance = await this.#life.create(this.spec.config, ctx);
  }

  /**
   * Re-creates a failed instance in place. `prepare` runs on the new instance before it may work again (an
   * output that had opened its files opens them again).
   */
  async restart(isRestart = true, prepare?: () => Promise<void>): Promise<void> {
    await this.close();
    await this.create(isRestart);
    await prepare?.();
    this.#failed = false;
  }

  /** Ends the instance. An error there is logged, not raised: the element is going away or being replaced. */
  async close(): Promise<void> {
    const instance = this.#instance;
    this.#instance = undefined;
    if (instance === undefined) return;
    try {
      await this.#life.end(instance);
    } catch (e) {
      this.ctx.log.warn({ err: e }, `error while ${this.#life.ending} ${this.name}`);
    }
  }

  /** The instance threw: counted, logged, reported; the supervisor restarts the element. */
  fail(error: unknown): void {
    this.#failed = true;
    this.counters.add('errors', 1);
    const text = errorText(error);
    this.ctx.log.error({ err: error }, `${this.name} failed: ${text}`);
    this.#services.report({ type: 'failed', id: this.spec.id, error: text });
  }

  /** An output's destination did not take a write, which will be tried again: counted and reported for status. */
  retrying(error: string): void {
    this.counters.add('retries', 1);
    this.#services.report({ type: 'retrying', id: this.spec.id, error });
  }

  /** The thing a source measured is gone: the supervisor stops or removes the element. */
  ended(reason: string): void {
    this.#services.report({ type: 'ended', id: this.spec.id, reason });
  }
}

/** The message of a thrown value, whatever was thrown. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
