// Messages shared by the supervisor (main thread) and the element workers: what travels on data links,
// what a worker is started with, the control API it exposes, and the events it reports.

import type { MessagePort } from 'node:worker_threads';
import type { WireBatch } from './batch.js';
import type { ConsumerEvent, RuntimeSourceSpec } from './element.js';
import type { ElementKind } from './element-kinds.js';
import type { MetricInfo, NewMetric } from './metrics.js';

/** Downstream → upstream: `n` more batches may be sent on this link. */
export interface CreditGrant {
  readonly type: 'credit';
  readonly n: number;
}
/** Upstream → downstream: nothing more will come on this link (the last message on it). */
export interface EndOfStream {
  readonly type: 'end';
}
/** Downstream → upstream: stop sending on this link and answer with `end` (a stopping output drains). */
export interface CloseRequest {
  readonly type: 'closing';
}
export type DataMessage = WireBatch | CreditGrant | EndOfStream | CloseRequest;

export type RunState = 'running' | 'paused';

/** One element as the supervisor describes it to a worker. */
export interface ElementSpec {
  readonly id: number;
  readonly name: string;
  readonly kind: ElementKind;
  readonly moduleUrl: string;
  readonly config: unknown;
  /** Managed sources: poll and flush periods in nanoseconds. */
  readonly pollNs?: bigint;
  readonly flushNs?: bigint;
  readonly initialState: RunState;
  /** The element ran before (this worker replaces one that died). */
  readonly isRestart: boolean;
  /** SharedArrayBuffer behind this element's ElementCounters. */
  readonly counters: SharedArrayBuffer;
}

export interface WorkerInit {
  readonly control: MessagePort;
  readonly logLevel: string;
  readonly pretty: boolean;
  readonly metrics: MetricInfo[];
  readonly batchWindow: number;
  readonly outputBacklog: number;
  /** The elements this worker hosts at start (one, except on pool threads). */
  readonly elements: ElementSpec[];
  /** Pool threads host many sources and must never block their event loop. */
  readonly shared: boolean;
}

/** Worker → supervisor, on the worker's parentPort. */
export type WorkerEvent =
  | { readonly type: 'failed'; readonly id: number; readonly error: string }
  | { readonly type: 'ended'; readonly id: number; readonly reason: string }
  /** Output `id`'s destination did not take a write; it is kept and tried again (status shows the error). */
  | { readonly type: 'retrying'; readonly id: number; readonly error: string }
  /** Element `id` asks for a run-time source of its plugin. */
  | { readonly type: 'add-source'; readonly id: number; readonly spec: RuntimeSourceSpec }
  | { readonly type: 'remove-source'; readonly id: number; readonly element: string }
  /** Element `id` registers metrics while the agent runs; the answer comes as `metricsRegistered(request, …)`. */
  | { readonly type: 'register-metrics'; readonly id: number; readonly request: number; readonly metrics: NewMetric[]; readonly renameSuffix: string };

/** What a worker learns of its `register-metrics` request: the metrics as registered, in order, or why not. */
export type RegistrationResult = { readonly metrics: MetricInfo[] } | { readonly error: string };

/** The control API every worker exposes over comlink. Calls resolve once the request has taken effect. */
export interface WorkerControl {
  ping(): string;
  /** Adds an element to a running worker (a run-time source on a pool thread); it starts if the worker has. */
  addElement(spec: ElementSpec): Promise<void>;
  /** Stops an element (a source's final flush) and forgets it. */
  removeElement(id: number): Promise<void>;
  /** Starts the elements (after the supervisor has wired their links): outputs open, sources begin polling. */
  start(): Promise<void>;
  pause(id: number): Promise<void>;
  resume(id: number): Promise<void>;
  /** Source: final flush, end its links. Output: drain what is queued, close. Resolves when done. */
  stop(id: number): Promise<void>;
  setPeriod(id: number, periodNs: bigint): Promise<void>;
  triggerNow(id: number): Promise<void>;
  /** Re-creates a failed element's instance in place (same links, same counters). */
  restart(id: number): Promise<void>;
  /**
   * Shutdown: sources stop with a final flush; a transform or output resolves once every input has ended
   * and all it received is forwarded or written. Then the worker's own links end.
   */
  drain(): Promise<void>;
  /**
   * Sends on a new link. With `replaces`: in place of that link, whose consumer died and has been started
   * again, in one step; resolves with the points lost on the replaced link (0 without `replaces`).
   */
  attachOutput(linkId: number, port: MessagePort, replaces?: number): Promise<number>;
  /** Receives on a new link (transform and output workers). */
  attachInput(linkId: number, port: MessagePort): void;
  /** Forgets a link whose consumer died; resolves with the points lost on it (unacknowledged or sent since). */
  detachOutput(linkId: number): Promise<number>;
  consumerEvent(event: ConsumerEvent): void;
  /** Metrics registered while the agent runs: the worker's elements see them in their `metrics` from now on. */
  addMetrics(metrics: MetricInfo[]): void;
  /** The answer to this worker's `register-metrics` request `request` (sent once every worker has the metrics). */
  metricsRegistered(request: number, result: RegistrationResult): void;
}
