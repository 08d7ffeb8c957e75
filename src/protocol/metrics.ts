// Metric descriptions shared by every thread: the registry lives on the main thread, and each element
// receives the table of metrics it needs (outputs and transforms get all of them).

import type { ValueType } from './batch.js';

/** A unit as Alumet writes it: a base unit's unique name (`W`, `J`, `By`, `1`, or a custom name) and a prefix. */
export interface Unit {
  /** Unique (UCUM-style) name of the base unit: `1`, `s`, `W`, `J`, `V`, `A`, `Hz`, `Cel`, `[degF]`, `W.h`, `By`, `%`, or a custom one. */
  readonly base: string;
  /** Unique prefix name: `''`, `nano`, `micro`, `milli`, `kilo`, `mega`, `giga`. */
  readonly prefix: string;
  /** Display name of a custom base unit (known units derive theirs). */
  readonly display?: string;
}

export interface MetricInfo {
  readonly id: number;
  readonly name: string;
  readonly description: string;
  readonly type: ValueType;
  readonly unit: Unit;
  /**
   * Each point is the change since the previous poll (the plugin's metric spec says `delta: true`); absent
   * otherwise. Outputs that keep counters (prometheus-exporter's `_total` families) read it.
   */
  readonly delta?: true;
}

/** What a plugin gets back when it registers a metric, and passes to its elements. */
export interface MetricHandle {
  readonly id: number;
  readonly name: string;
  readonly type: ValueType;
}

/** A metric to register while the agent runs (ElementContext.registerMetrics). */
export interface NewMetric {
  readonly name: string;
  readonly type: ValueType;
  readonly unit: Unit;
  readonly description: string;
}
