// Worker entry point: hosts one transform, one output, or one or more sources (a pool thread hosts many),
// exposes the WorkerControl API to the supervisor over comlink, and reports element failures on
// parentPort. Worker thread.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { expose } from '../protocol/rpc.js';
import { createLogger, type Logger } from '../protocol/logging.js';
import type { ConsumerEvent, ElementContext, ElementModule } from '../protocol/element.js';
import type { MetricInfo } from '../protocol/metrics.js';
import type { ElementSpec, WorkerControl, WorkerEvent, WorkerInit } from '../protocol/messages.js';
import { Coalescer, Fanout } from './links.js';
import { SourceActor, type ActorEvents } from './source-actor.js';
import { TransformActor } from './transform-actor.js';
import { OutputActor } from './output-actor.js';

const init = workerData as WorkerInit;
const rootLog: Logger = createLogger(init.logLevel, init.pretty);
const metrics = new Map<number, MetricInfo>(init.metrics.map((m) => [m.id, m]));
const sourceFanout = new Fanout(init.batchWindow);
/** What sources hand their batches to: on a pool thread, a Coalescer merges what they flush together. */
const sourceSink = init.shared ? new Coalescer(sourceFanout) : sourceFanout;

type Actor = SourceActor | TransformActor | OutputActor;
const actors = new Map<number, Actor>();
const consumerListeners: Array<(event: ConsumerEvent) => void> = [];

function report(event: WorkerEvent): void {
  parentPort!.postMessage(event);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function createActor(spec: ElementSpec): Promise<Actor> {
  const imported = (await import(spec.moduleUrl)) as { default?: ElementModule };
  const module = imported.default;
  if (module === undefined || module.kind !== spec.kind) {
    throw new Error(`${spec.moduleUrl} does not export a ${spec.kind} element (export default define${spec.kind[0]!.toUpperCase()}${spec.kind.slice(1)}(…))`);
  }
  const log = rootLog.child({ element: spec.name });
  const ctx: ElementContext = {
    name: spec.name,
    log,
    metrics,
    isRestart: spec.isRestart,
    runtime: {
      add: (runtimeSpec) => report({ type: 'add-source', id: spec.id, spec: runtimeSpec }),
      remove: (element) => report({ type: 'remove-source', id: spec.id, element }),
      onConsumerEvent: (listener) => void consumerListeners.push(listener),
    },
  };
  const events: ActorEvents = {
    failed: (e) => {
      log.error({ err: e }, `${spec.name} failed: ${errorText(e)}`);
      report({ type: 'failed', id: spec.id, error: errorText(e) });
    },
    ended: (reason) => report({ type: 'ended', id: spec.id, reason }),
  };
  let actor: Actor;
  if (module.kind === 'source') actor = new SourceActor(spec, module, ctx, sourceSink, !init.shared, events);
  else if (module.kind === 'transform') actor = new TransformActor(spec, module, ctx, init.batchWindow, events);
  else actor = new OutputActor(spec, module, ctx, init.outputBacklog, events);
  await actor.init();
  return actor;
}

function actor(id: number): Actor {
  const a = actors.get(id);
  if (a === undefined) throw new Error(`no element with id ${id} in this worker`);
  return a;
}

function source(id: number): SourceActor {
  const a = actor(id);
  if (!(a instanceof SourceActor)) throw new Error(`${a.spec.name} is not a source`);
  return a;
}

/** The single transform or output of a non-source worker. */
function consumer(): TransformActor | OutputActor {
  for (const a of actors.values()) if (!(a instanceof SourceActor)) return a;
  throw new Error('this worker hosts no transform or output');
}

/** Where this worker sends batches: its transform's fan-out, or the one its sources share. */
function downstream(): Fanout {
  const t = [...actors.values()].find((a) => a instanceof TransformActor);
  return t instanceof TransformActor ? t.fanout : sourceFanout;
}

let started = false;

const control: WorkerControl = {
  ping: () => 'pong',
  async addElement(spec) {
    const a = await createActor(spec);
    actors.set(spec.id, a);
    if (started && a instanceof SourceActor) a.start();
  },
  async removeElement(id) {
    const a = actors.get(id);
    if (a instanceof SourceActor) await a.stop();
    actors.delete(id);
  },
  async start() {
    started = true;
    for (const a of actors.values()) {
      if (a instanceof SourceActor) a.start();
      else if (a instanceof OutputActor) await a.open();
    }
  },
  async pause(id) {
    await actor(id).pause();
  },
  async resume(id) {
    actor(id).resume();
  },
  async stop(id) {
    const a = actor(id);
    if (a instanceof TransformActor) throw new Error(`${a.spec.name} is a transform; stop applies to sources and outputs`);
    await a.stop();
    if (a instanceof SourceActor && !init.shared) sourceFanout.endAll();
  },
  async setPeriod(id, periodNs) {
    await source(id).setPeriod(periodNs);
  },
  triggerNow: (id) => source(id).triggerNow(),
  restart: (id) => actor(id).restart(),
  async drain() {
    if ([...actors.values()].every((a) => a instanceof SourceActor)) {
      await Promise.all([...actors.values()].map((a) => (a as SourceActor).stop()));
      if (sourceSink instanceof Coalescer) await sourceSink.flush();
      sourceFanout.endAll();
      return;
    }
    await consumer().drain();
  },
  async attachOutput(linkId, port, replaces) {
    if (replaces === undefined) {
      downstream().attach(linkId, port as MessagePort);
      return 0;
    }
    return downstream().replace(replaces, linkId, port as MessagePort);
  },
  attachInput(linkId, port) {
    consumer().inputs.attach(linkId, port as MessagePort);
  },
  detachOutput(linkId) {
    return downstream().detach(linkId);
  },
  metricsAdded(list) {
    for (const m of list) metrics.set(m.id, m);
  },
  consumerEvent(event) {
    for (const listener of consumerListeners) {
      try {
        listener(event);
      } catch (e) {
        rootLog.error({ err: e }, `error in a consumer event listener: ${errorText(e)}`);
      }
    }
  },
};

for (const spec of init.elements) actors.set(spec.id, await createActor(spec));
expose(control, init.control as unknown as Parameters<typeof expose>[1]);
