// Which points of the file a plot shows: the command's filters (`--metric`, `--resource`, `--consumer`,
// `--attribute`, `--since`, `--until`) as one predicate. Times are resolved against the file's first point
// when given as durations (`--since 30s` = from 30 s after the first point).

import { parseDuration, DurationError } from '../protocol/duration.js';
import { parseTimestamp, type CsvPoint } from './alumet-rows.js';
import { splitMetricUnit } from './metric-unit.js';

export interface PlotFilters {
  /** Metric cells (`cpu_time_delta_ns`) or bare names (`cpu_time_delta`); empty = chosen by the plot. */
  metrics: string[];
  /** `KIND` or `KIND:ID`. */
  resource?: string;
  consumer?: string;
  /** `KEY=VALUE` pairs; a point must have all of them. */
  attributes: string[];
  since?: string;
  until?: string;
}

/** A bound that is wrong whatever the file holds: told to the user before the file is read. */
export class FilterError extends Error {
  override readonly name = 'FilterError';
  readonly exitCode = 2;
}

type Bound = { at: number } | { afterFirst: number };

function parseBound(option: string, text: string): Bound {
  const at = parseTimestamp(text);
  if (at !== undefined) return { at };
  try {
    return { afterFirst: Number(parseDuration(text)) / 1e6 };
  } catch (e) {
    if (!(e instanceof DurationError)) throw e;
    throw new FilterError(`${option}: ${JSON.stringify(text)} is neither an RFC 3339 time (2025-04-25T15:08:53Z) nor a duration after the first point (30s, 5m)`);
  }
}

/** True if `wanted` (given to --metric) names the metric cell `cell`, with or without its unit suffix. */
export function metricMatches(wanted: string, cell: string): boolean {
  return wanted === cell || wanted === splitMetricUnit(cell).name;
}

function matchesTarget(filter: string | undefined, value: string): boolean {
  if (filter === undefined) return true;
  // `--resource cpu_core` takes every core; `--resource cpu_core:1` one of them.
  return filter.includes(':') ? value === filter : value === filter || value.startsWith(`${filter}:`);
}

/** Decides, point by point, whether the plot shows it. */
export class PointFilter {
  readonly #metrics: string[];
  readonly #filters: PlotFilters;
  readonly #attributes: Array<[string, string]>;
  readonly #since: Bound | undefined;
  readonly #until: Bound | undefined;
  #first: number | undefined;

  constructor(filters: PlotFilters) {
    this.#filters = filters;
    this.#metrics = filters.metrics;
    this.#attributes = filters.attributes.map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new FilterError(`--attribute: expected KEY=VALUE, got ${JSON.stringify(pair)}`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    });
    this.#since = filters.since === undefined ? undefined : parseBound('--since', filters.since);
    this.#until = filters.until === undefined ? undefined : parseBound('--until', filters.until);
  }

  /** True if `metric` is one that `--metric` asked for (or no --metric was given). */
  wantsMetric(metric: string): boolean {
    return this.#metrics.length === 0 || this.#metrics.some((wanted) => metricMatches(wanted, metric));
  }

  accepts(p: CsvPoint): boolean {
    this.#first ??= p.time;
    if (!this.wantsMetric(p.metric)) return false;
    if (!matchesTarget(this.#filters.resource, p.resource) || !matchesTarget(this.#filters.consumer, p.consumer)) return false;
    for (const [k, v] of this.#attributes) {
      if (!p.attributes.some(([key, value]) => key === k && value === v)) return false;
    }
    if (this.#since !== undefined && p.time < this.#resolve(this.#since)) return false;
    if (this.#until !== undefined && p.time > this.#resolve(this.#until)) return false;
    return true;
  }

  #resolve(bound: Bound): number {
    return 'at' in bound ? bound.at : this.#first! + bound.afterFirst;
  }
}
