// The plugin contract, main-thread side. A plugin is one folder under src/plugins and one line in
// src/plugins/index.ts: it declares its config schema, its metrics and whether a generated config enables
// it, checks its config, and in `start` registers metrics and elements.
//
// Plugin code imports from two entry points only, one per thread:
// - this module, in the definition (`index.ts`, `config.ts`, `metrics.ts` and other main-thread files):
//   `definePlugin`, the schema builder `t`, `Infer`, `Problems`, metric specs, `closest`;
// - src/protocol/element-api.ts, in the element modules, which run in worker threads: `defineSource`,
//   batches, metric handles. An element module may import its plugin's `config.ts` with `import type` only
//   (the type is erased), so no main-thread module is ever loaded into a worker.
// test/plugin-conformance.test.ts checks both rules.

import type { Schema, Problems } from './config/schema.js';
import type { MetricHandle, Unit } from '../protocol/metrics.js';
import type { Log } from '../protocol/element.js';

export { t, Problems, describeValue, type Infer, type Schema } from './config/schema.js';
export { closest } from '../protocol/suggest.js';
export { parseDuration } from '../protocol/duration.js';
export { userHz } from './clock-ticks.js';
export type { MetricHandle, Unit } from '../protocol/metrics.js';
export type { Log } from '../protocol/element.js';

/** What a plugin declares about one metric; `ctx.metric` registers it under a name. */
export interface MetricSpec {
  type: 'u64' | 'f64';
  /** A Unit, or a unit string Alumet can parse (`W`, `kW`, `ms`, `By`, `1`, …). */
  unit: Unit | string;
  description: string;
  /** Attribute keys its points may carry (`<k>` in a key stands for any text). */
  attributes?: readonly string[];
  /**
   * Each point is the change since the previous poll (`kernel_cpu_time`, `network_bytes`, `cpu_time_delta`),
   * not a reading: summing the points over time gives the total. Outputs that keep counters read this.
   */
  delta?: boolean;
}

/**
 * A family of metrics computed from other plugins' metrics (aggregation's `<metric>_sum`): each takes the
 * unit and value type of the metric it comes from, the one its placeholder names, so they are not declared.
 */
export interface DerivedMetricSpec {
  derived: true;
  description: string;
  attributes?: readonly string[];
}

/**
 * Metrics whose definitions come with the data from another agent (relay-server's): their names, units,
 * types and attributes are the sender's, so a family of them accepts any metric and any attribute.
 */
export interface ForeignMetricSpec {
  foreign: true;
  description: string;
  /** Attribute keys the plugin itself adds to their points. */
  attributes?: readonly string[];
}

/**
 * A plugin's metrics by name. A name with a `<placeholder>` is a family whose names depend on the config
 * (`synthetic_<m>`: synthetic_0, synthetic_1, …); any text may stand in for the placeholder.
 */
export type MetricSpecs = Readonly<Record<string, MetricSpec | DerivedMetricSpec | ForeignMetricSpec>>;

export function isDerived(spec: MetricSpec | DerivedMetricSpec | ForeignMetricSpec): spec is DerivedMetricSpec {
  return (spec as DerivedMetricSpec).derived === true;
}

export function isForeign(spec: MetricSpec | DerivedMetricSpec | ForeignMetricSpec): spec is ForeignMetricSpec {
  return (spec as ForeignMetricSpec).foreign === true;
}

/** A metric a plugin registered, as `registeredMetrics` lists it. */
export interface RegisteredMetric extends MetricHandle {
  readonly spec: MetricSpec & { readonly unit: Unit };
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
  /** The metrics registered so far, every plugin's; in `afterStart`, all those of every plugin's `start`. */
  registeredMetrics(): RegisteredMetric[];
  /** A managed source in its own worker, polled on `trigger`. `config` is structured-cloned to the worker. */
  source(name: string, module: URL, config: unknown, trigger: SourceTrigger): void;
  /** An autonomous source in its own worker: it produces when it likes (a server receiving points), unpolled. */
  autonomousSource(name: string, module: URL, config: unknown): void;
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
  /**
   * Whether the generated config enables the plugin (default true). False for plugins that need
   * hardware or a server, or that only make sense once configured: their table says `enabled = false`.
   */
  readonly enabledByDefault?: boolean;
  /**
   * Keys of `[plugins.NAME]` that a generated config writes with another value than their default, each
   * with why, written as a comment above the key: a default kept so that configs written for the Rust agent
   * read the same, but which a new config should not have (influxdb's `attributes_as`).
   */
  readonly generatedValues?: Readonly<Record<string, { readonly value: unknown; readonly why: string }>>;
  /**
   * Why a generated config disables the plugin, written as a comment above its table. Called when the
   * config is generated, so it may say what it found on the machine (rapl: whether it has RAPL).
   */
  readonly disabledNote?: () => string;
  /** Every metric `start` may register (none when absent); the plugin README's metrics table lists them. */
  readonly metrics?: MetricSpecs;
  /** Extra checks across keys (the schema already checked each key alone). Add every problem found. */
  check?(config: C, problems: Problems): void;
  start(config: C, ctx: PluginStartContext): void | Promise<void>;
  /**
   * Called once every enabled plugin has started, for a plugin whose metrics follow other plugins' (its
   * `<metric>_sum` takes the unit of `<metric>`): `ctx.registeredMetrics()` then lists them all. Elements it
   * adds keep the plugin's place in the order of the transforms.
   */
  afterStart?(config: C, ctx: PluginStartContext): void | Promise<void>;
  stop?(): void | Promise<void>;
}

export function definePlugin<C>(def: PluginDefinition<C>): PluginDefinition<C> {
  return def;
}

/** Any plugin, for lists where the config type does not matter. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPlugin = PluginDefinition<any>;

/** Whether a generated config enables `plugin`. */
export function isEnabledByDefault(plugin: AnyPlugin): boolean {
  return plugin.enabledByDefault !== false;
}
