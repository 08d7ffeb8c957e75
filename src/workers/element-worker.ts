// Worker entry point: hosts one transform, one output, or one or more sources (a pool thread hosts many),
// exposes the WorkerControl API to the supervisor over comlink, and reports element failures on
// parentPort. Worker thread.

import { AUTONOMOUS_REFUSALS, actionRefusal, type ActionType } from '../protocol/element-kinds.js';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { expose } from '../protocol/rpc.js';
import { createLogger } from '../protocol/logging.js';
import type { ConsumerEvent, ElementModule } from '../protocol/element.js';
import type { MetricInfo } from '../protocol/metrics.js';
import type { ElementSpec, RegistrationResult, WorkerControl, WorkerInit } from '../protocol/messages.js';
import { errorText, type ElementActor, type WorkerServices } from './element-host.js';
import { Coalescer, Fanout } from './links.js';
import { SourceActor } from './source-actor.js';
import { AutonomousSourceActor } from './autonomous-source-actor.js';
import { TransformActor } from './transform-actor.js';
import { OutputActor } from './output-actor.js';

const init = workerData as WorkerInit;
const rootLog = createLogger(init.logLevel, init.pretty);
const metrics = new Map<number, MetricInfo>(init.metrics.map((m) => [m.id, m]));
const consumerListeners: Array<(event: ConsumerEvent) => void> = [];
/** This worker's `register-metrics` requests awaiting their answer, by request number. */
const registrations = new Map<number, (result: RegistrationResult) => void>();
let nextRegistration = 1;
const services: WorkerServices = {
  log: rootLog,
  metrics,
  report: (event) => parentPort!.postMessage(event),
  onConsumerEvent: (listener) => void consumerListeners.push(listener),
  registerMetrics: (id, wanted, renameSuffix) =>
    new Promise((resolve, reject) => {
      const request = nextRegistration++;
      registrations.set(request, (result) => ('error' in result ? reject(new Error(result.error)) : resolve(result.metrics)));
      parentPort!.postMessage({ type: 'register-metrics', id, request, metrics: [...wanted], renameSuffix });
    }),
};
/** Where this worker's elements send: its transform forwards here, its sources flush here. */
const downstream = new Fanout(init.batchWindow);
/** On a pool thread, what merges the batches its many sources flush together. */
const coalescer = init.shared ? new Coalescer(downstream) : undefined;
const actors = new Map<number, ElementActor>();
/** Elements stopped for good (they stay until removed): once all are, this worker's links end. */
const stopped = new Set<number>();
let started = false;

async function createActor(spec: ElementSpec): Promise<ElementActor> {
  const imported = (await import(spec.moduleUrl)) as { default?: ElementModule };
  const module = imported.default;
  if (module === undefined || module.kind !== spec.kind) {
    throw new Error(`${spec.moduleUrl} does not export a ${spec.kind} element (export default define${spec.kind[0]!.toUpperCase()}${spec.kind.slice(1)}(…))`);
  }
  let created: ElementActor;
  if (module.kind === 'source' && 'autonomous' in module) created = new AutonomousSourceActor(spec, module, services, coalescer ?? downstream);
  else if (module.kind === 'source') created = new SourceActor(spec, module, services, coalescer ?? downstream, !init.shared);
  else if (module.kind === 'transform') created = new TransformActor(spec, module, services, downstream);
  else created = new OutputActor(spec, module, services, init.outputBacklog);
  await created.init();
  return created;
}

function actor(id: number): ElementActor {
  const a = actors.get(id);
  if (a === undefined) throw new Error(`no element with id ${id} in this worker`);
  return a;
}

/** The element `id`, if `action` applies to its kind (the supervisor checks first; this guards the worker's own API). */
function actorFor(action: ActionType, id: number): ElementActor {
  const a = actor(id);
  const refusal = actionRefusal(action, a.spec.name, a.spec.kind);
  if (refusal !== undefined) throw new Error(refusal);
  return a;
}

const control: WorkerControl = {
  ping: () => 'pong',
  async addElement(spec) {
    const a = await createActor(spec);
    actors.set(spec.id, a);
    if (started) await a.start();
  },
  async removeElement(id) {
    await actors.get(id)?.stop();
    actors.delete(id);
    stopped.delete(id);
  },
  async start() {
    started = true;
    for (const a of actors.values()) await a.start();
  },
  async pause(id) {
    await actorFor('pause', id).pause();
  },
  async resume(id) {
    actorFor('resume', id).resume();
  },
  async stop(id) {
    await actorFor('stop', id).stop();
    stopped.add(id);
    // A thread whose elements are all stopped sends nothing more: its links end, so that its consumers stop
    // waiting for it (an output has none). A pool thread's links still carry the sources it will be given.
    if (!init.shared && [...actors.keys()].every((a) => stopped.has(a))) downstream.endAll();
  },
  // Only sources take these (ACTION_KINDS), and only managed ones have them (the supervisor checks first).
  async setPeriod(id, periodNs) {
    const a = actorFor('set-period', id);
    if (a.setPeriod === undefined) throw new Error(AUTONOMOUS_REFUSALS['set-period']);
    await a.setPeriod(periodNs);
  },
  async triggerNow(id) {
    const a = actorFor('trigger-now', id);
    if (a.triggerNow === undefined) throw new Error(AUTONOMOUS_REFUSALS['trigger-now']);
    await a.triggerNow();
  },
  restart: (id) => actor(id).restart(),
  async drain() {
    await Promise.all([...actors.values()].map((a) => a.drain()));
    await coalescer?.flush();
    // Everything this thread's elements will ever send is on its way: the next stage may drain in turn.
    downstream.endAll();
  },
  async attachOutput(linkId, port, replaces) {
    if (replaces === undefined) {
      downstream.attach(linkId, port as MessagePort);
      return 0;
    }
    return downstream.replace(replaces, linkId, port as MessagePort);
  },
  attachInput(linkId, port) {
    for (const a of actors.values()) {
      if (a.attachInput !== undefined) return a.attachInput(linkId, port as MessagePort);
    }
    throw new Error('this worker hosts no transform or output');
  },
  detachOutput(linkId) {
    return downstream.detach(linkId);
  },
  addMetrics(added) {
    for (const m of added) metrics.set(m.id, m);
  },
  metricsRegistered(request, result) {
    registrations.get(request)?.(result);
    registrations.delete(request);
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
