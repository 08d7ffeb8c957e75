// The plugin contract (main thread). A plugin is one folder under src/plugins and one line in
// src/plugins/index.ts: it declares its config schema, checks it, and in `start` registers metrics and
// elements. Elements are modules loaded by URL inside worker threads; they never run here.

import type { Schema, Problems } from './config/schema.js';
import type { MetricHandle, Unit } from '../protocol/metrics.js';
import type { Log } from '../protocol/element.js';

export interface MetricSpec {
  type: 'u64' | 'f64';
  /** A Unit, or a unit string Alumet can parse (`W`, `kW`, `ms`, `By`, `1`, …). */
  unit: Unit | string;
  description: string;
}

export interface SourceTrigger {
  /** Humantime duration between polls. */
  poll_interval: string;
  /** Humantime duration between flushes (groups several polls into one batch); default: every poll. */
  flush_interval?: string;
}

export interface PluginStartContext {
  readonly log: Log;
  /** Registers a metric (or returns the id of a compatible one already registered). */
  metric(name: string, spec: MetricSpec): MetricHandle;
  /** A managed source in its own worker, polled on `trigger`. `config` is structured-cloned to the worker. */
  source(name: string, module: URL, config: unknown, trigger: SourceTrigger): void;
  transform(name: string, module: URL, config: unknown): void;
  output(name: string, module: URL, config: unknown): void;
  /**
   * Claims a file an output of this plugin will write: checks that its directory exists and is writable and
   * takes a lock that keeps any other agent from writing it (throws a clear error otherwise). `key` names
   * the config key in messages. Released when the agent stops.
   */
  claimOutputFile(path: string, key: string): void;
  /** Serves the control protocol on a Unix socket (the socket-control plugin); started before "agent is ready". */
  serveControl(options: ControlSocketOptions): void;
}

export interface ControlSocketOptions {
  socketPath: string;
  /** Permission bits of the socket file, e.g. 0o600. */
  socketMode: number;
}

export interface PluginDefinition<C> {
  readonly name: string;
  readonly version: string;
  /** Keys, types and defaults of `[plugins.NAME]` (without `enabled`, which the agent handles). */
  readonly config: Schema<C>;
  /** Extra checks across keys (the schema already checked each key alone). Add every problem found. */
  check?(config: C, problems: Problems): void;
  start(config: C, ctx: PluginStartContext): void | Promise<void>;
  stop?(): void | Promise<void>;
}

export function definePlugin<C>(def: PluginDefinition<C>): PluginDefinition<C> {
  return def;
}

/** Any plugin, for lists where the config type does not matter. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPlugin = PluginDefinition<any>;
