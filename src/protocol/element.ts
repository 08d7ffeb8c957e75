// The element API: what a plugin's element module exports. Element modules run inside worker threads and
// import only from src/protocol, node:*, and their own plugin folder.

import type { Batch, Timestamp } from './batch.js';
import type { BatchBuilder } from './batch-builder.js';
import type { MetricInfo, NewMetric } from './metrics.js';

/** Minimal logger shape (a pino child logger in practice). */
export interface Log {
  error(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
}

export interface ElementContext {
  /** Canonical name, e.g. `source/procfs/memory`. */
  readonly name: string;
  readonly log: Log;
  /** Every metric the plugins registered at start-up, by id. */
  readonly metrics: ReadonlyMap<number, MetricInfo>;
  /** True when this instance replaces one that failed (an output appends instead of truncating, say). */
  readonly isRestart: boolean;
  /** Creates and removes sources while the pipeline runs (one per process, one per cgroup…). */
  readonly runtime: RuntimeSources;
  /**
   * Registers metrics while the agent runs (those a relay client announces): each as a plugin's metric is
   * registered, or as `<name>_<renameSuffix>` (then `_2`, `_3`, …) when its name belongs to a metric of
   * another unit or type. Resolves with each as registered, in order, once every element of the agent
   * knows them (`metrics` included), so that points of them may be sent at once.
   */
  registerMetrics(metrics: readonly NewMetric[], renameSuffix: string): Promise<MetricInfo[]>;
}

/** A source created at run time. It belongs to the same plugin as the element that created it. */
export interface RuntimeSourceSpec {
  /** Element name, unique within the plugin: `pid-1234`. */
  readonly element: string;
  /** URL (href) of the element module, e.g. `new URL('./process.js', import.meta.url).href`. */
  readonly module: string;
  readonly config: unknown;
  /** The poll interval of a managed source; absent for an autonomous source. */
  readonly poll_interval?: string;
  readonly flush_interval?: string;
  /**
   * Runs on its creator's thread instead of the shared pool: for a source that works on what its creator
   * holds (a server's connection: a socket cannot move to another thread).
   */
  readonly sameThread?: boolean;
  /** Start paused (the first poll of a running source is immediate). */
  readonly paused?: boolean;
}

/** Something the agent measures on purpose started or ended (`exec` announces its child, say). */
export interface ConsumerEvent {
  readonly type: 'start' | 'end';
  readonly consumers: ReadonlyArray<{ readonly kind: string; readonly id: string }>;
}

export interface RuntimeSources {
  /** Asks the supervisor to run a new source on the shared pool of threads; a duplicate name is ignored. */
  add(spec: RuntimeSourceSpec): void;
  /** Stops (with a final flush) and forgets a source this plugin created at run time. */
  remove(element: string): void;
  /** Calls `listener` for every consumer event the agent publishes from now on. */
  onConsumerEvent(listener: (event: ConsumerEvent) => void): void;
}

/** A managed source: the host calls `poll` on its schedule (or on trigger-now). */
export interface Source {
  /** Push this poll's points into `out`; `ts` is the tick's timestamp. Throw `SourceEnded` to end normally. */
  poll(out: BatchBuilder, ts: Timestamp): void | Promise<void>;
  /** Called when the source is paused (Alumet's `reset`). */
  reset?(): void;
  close?(): void | Promise<void>;
}

/**
 * An autonomous source: it produces when it likes (points that arrive over the network) instead of being
 * polled. `start` is called once the pipeline runs; `pause` and `resume` on control requests.
 */
export interface AutonomousSource {
  start(out: SourceOutlet): void | Promise<void>;
  /** Produce nothing until `resume`, losing nothing (stop reading a socket, so that the sender waits). */
  pause?(): void;
  resume?(): void;
  /** Stop for good; what it still holds goes to its outlet before this resolves. */
  close?(): void | Promise<void>;
}

/** Where an autonomous source hands its batches. */
export interface SourceOutlet {
  /** Hands a batch downstream (counted `points_out`); it waits for the consumers' credit if need be (see `ready`). */
  send(batch: Batch): void;
  /** True while a batch would go downstream at once: a source that reads a socket stops reading when false. */
  readonly ready: boolean;
  /** Resolves once `ready` is true again. */
  whenReady(): Promise<void>;
  /** What the source relayed is gone (a client disconnected): the element ends, a run-time one is removed. */
  end(reason: string): void;
  /** The source failed: it is marked failed, and restarted (closed, then created and started anew). */
  fail(error: unknown): void;
}

/** A transform: gets each batch and returns the batch to forward (the same one, modified, or a new one). */
export interface Transform {
  apply(batch: Batch): Batch | Promise<Batch>;
  /**
   * At shutdown, once every input has ended and every batch has been forwarded: the points the transform
   * still holds (aggregation's windows not yet closed), forwarded last. Not called when it is restarted.
   */
  flush?(): Batch | undefined | Promise<Batch | undefined>;
  finish?(): void | Promise<void>;
}

/**
 * An output: writes each batch, in order. Once `write` resolves the batch is done with.
 *
 * `create` only checks and acquires what can fail without harm (a port, a connection); whatever creates,
 * truncates or writes a file waits for `open`, which the agent calls once the whole pipeline has started,
 * so that a start-up failure anywhere leaves the user's files as they were.
 */
export interface Output {
  /**
   * Set by outputs that push to a server: the agent then keeps what arrives in the output's backlog at once
   * (so no source waits for the server), gathers it into writes of a size the server likes, and lets a write
   * ask to be tried again later. Without it, each batch is written as it comes and the pipeline waits.
   */
  readonly batching?: OutputBatching;
  open?(): void | Promise<void>;
  /**
   * Writes the batch. A destination that refuses some points for good (an HTTP 400, say) resolves with
   * how many: they are counted `dropped_rejected` instead of written, so the balance stays exact; likewise
   * `collapsed`, points the destination took but keeps as one with another (same series and timestamp). An
   * output with `batching` may instead resolve with `retryAfterMs`: the destination took none of the batch
   * (it is down, busy or failing), and the agent writes the same points again after that delay.
   */
  write(batch: Batch): void | WriteOutcome | Promise<void | WriteOutcome>;
  close?(): void | Promise<void>;
}

export interface OutputBatching {
  /** Points in one write at most: the agent splits bigger batches and joins smaller ones up to this. */
  readonly maxPoints: number;
  /** Longest time a point waits to be written while a write is not full. */
  readonly flushIntervalMs: number;
  /** Points the backlog holds while the destination is unavailable; beyond it the oldest are dropped (counted). */
  readonly backlogPoints: number;
}

export type WriteOutcome =
  /**
   * Points of the batch the destination refused for good, and points it took but stores as one with another
   * point of the same series and timestamp (so only one of them remains): neither is counted written.
   */
  | { readonly rejected: number; readonly collapsed?: number }
  /** Nothing of the batch was taken: write it again after this delay; `error` says why (shown by `status`). */
  | { readonly retryAfterMs: number; readonly error: string };

/** Thrown by `Source.poll` to say the thing it measured is gone (a process ended): flush and stop quietly. */
export class SourceEnded extends Error {
  override readonly name = 'SourceEnded';
}

export interface SourceModule<C> {
  readonly kind: 'source';
  create(config: C, ctx: ElementContext): Source | Promise<Source>;
}
export interface AutonomousSourceModule<C> {
  readonly kind: 'source';
  readonly autonomous: true;
  create(config: C, ctx: ElementContext): AutonomousSource | Promise<AutonomousSource>;
}
export interface TransformModule<C> {
  readonly kind: 'transform';
  create(config: C, ctx: ElementContext): Transform | Promise<Transform>;
}
export interface OutputModule<C> {
  readonly kind: 'output';
  create(config: C, ctx: ElementContext): Output | Promise<Output>;
}
export type ElementModule<C = unknown> = SourceModule<C> | AutonomousSourceModule<C> | TransformModule<C> | OutputModule<C>;

export function defineSource<C>(create: SourceModule<C>['create']): SourceModule<C> {
  return { kind: 'source', create };
}
export function defineAutonomousSource<C>(create: AutonomousSourceModule<C>['create']): AutonomousSourceModule<C> {
  return { kind: 'source', autonomous: true, create };
}
export function defineTransform<C>(create: TransformModule<C>['create']): TransformModule<C> {
  return { kind: 'transform', create };
}
export function defineOutput<C>(create: OutputModule<C>['create']): OutputModule<C> {
  return { kind: 'output', create };
}
