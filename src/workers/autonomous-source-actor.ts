// An autonomous source running inside a worker: it sends batches when it has them (points that came over
// the network), through an outlet that counts them and holds them while the consumers have no credit, and
// tells the source when to wait. No schedule: pause and resume go to the source, which stops and starts
// producing; it has no period to set and no poll to trigger. Worker thread.

import type { Batch } from '../protocol/batch.js';
import type { AutonomousSource, AutonomousSourceModule, SourceOutlet } from '../protocol/element.js';
import type { ElementSpec } from '../protocol/messages.js';
import { ElementHost, type ElementActor, type WorkerServices } from './element-host.js';
import type { BatchSink } from './links.js';

export class AutonomousSourceActor implements ElementActor {
  readonly #host: ElementHost<AutonomousSource>;
  readonly #sink: BatchSink;
  /** Batches sent while the consumers had no credit, oldest first. */
  readonly #pending: Batch[] = [];
  #waiting: Promise<void> | undefined;
  #paused: boolean;
  #started = false;
  #stopping: Promise<void> | undefined;
  readonly #outlet: SourceOutlet;

  constructor(spec: ElementSpec, module: AutonomousSourceModule<unknown>, services: WorkerServices, sink: BatchSink) {
    this.#host = new ElementHost(spec, services, { create: module.create, end: (source) => source.close?.(), ending: 'closing' });
    this.#sink = sink;
    this.#paused = spec.initialState === 'paused';
    const actor = this;
    this.#outlet = {
      send: (batch) => {
        if (batch.length === 0) return;
        this.#pending.push(batch);
        this.#sendPending();
        if (this.#pending.length > 0) void this.#sendLater();
      },
      get ready() {
        return actor.#pending.length === 0 && actor.#sink.ready;
      },
      whenReady: () => (this.#outlet.ready ? Promise.resolve() : this.#sendLater()),
      end: (reason) => this.#host.ended(reason),
      fail: (error) => this.#host.fail(error),
    };
  }

  get spec(): ElementSpec {
    return this.#host.spec;
  }

  init(): Promise<void> {
    return this.#host.create();
  }

  async start(): Promise<void> {
    this.#started = true;
    await this.#startInstance();
  }

  async #startInstance(): Promise<void> {
    const source = this.#host.instance;
    if (source === undefined || !this.#started) return;
    try {
      if (this.#paused) source.pause?.();
      await source.start(this.#outlet);
    } catch (e) {
      this.#host.fail(e);
    }
  }

  pause(): void {
    this.#paused = true;
    this.#host.instance?.pause?.();
  }

  resume(): void {
    this.#paused = false;
    this.#host.instance?.resume?.();
  }

  /** Closes the source (which hands over what it holds) and waits until every batch has gone downstream. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  drain(): Promise<void> {
    return this.stop();
  }

  async #stop(): Promise<void> {
    await this.#host.close();
    while (this.#pending.length > 0) await this.#sendLater();
  }

  /** A new instance in place of the failed one, started at once if the pipeline runs. */
  restart(): Promise<void> {
    return this.#host.restart(true, () => this.#startInstance());
  }

  #sendPending(): void {
    const sink = this.#sink;
    while (this.#pending.length > 0 && sink.ready) {
      const batch = this.#pending.shift()!;
      this.#host.counters.add('points_out', batch.length);
      this.#host.counters.add('batches_out', 1);
      if (sink.size > 0) sink.send(batch);
    }
  }

  /** Resolves once the held batches have gone downstream. */
  #sendLater(): Promise<void> {
    this.#waiting ??= (async () => {
      do {
        await this.#sink.whenReady();
        this.#sendPending();
      } while (this.#pending.length > 0 || !this.#sink.ready);
      this.#waiting = undefined;
    })();
    return this.#waiting;
  }
}
