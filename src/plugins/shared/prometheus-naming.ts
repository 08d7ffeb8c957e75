// Prometheus names and labels of Alumet metrics, as the Rust agent's prometheus-exporter builds them: family
// names (`mem_total_alumet_bytes`), the unit words, the series labels, and the escaping of label values for
// the text formats. Pure functions, used in workers by the prometheus-exporter and prometheus-remote-write
// outputs.

import type { Attributes, MetricInfo, ResourceRef, Unit } from '../../protocol/element-api.js';
import { formatAttrValue } from './rust-format.js';

/**
 * Rust's `sanitize_name`, char by char (Unicode scalar values, not UTF-16 units): the first char is kept only
 * if it is ASCII alphabetic, every later one only if it is ASCII alphanumeric; any other char becomes `_`.
 * `"123avc"` → `"_23avc"`, `"cpu-time"` → `"cpu_time"`, `"é"` → `"_"`.
 */
export function sanitizeName(s: string): string {
  let out = '';
  let first = true;
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    const digit = c >= 48 && c <= 57;
    out += alpha || (!first && digit) ? ch : '_';
    first = false;
  }
  return out;
}

/** The word of each known base unit (by its unique name), as the Rust exporter writes it. */
const UNIT_WORDS: Readonly<Record<string, string>> = Object.freeze({
  '1': '',
  s: 'seconds',
  W: 'watts',
  J: 'joules',
  V: 'volts',
  A: 'amperes',
  Hz: 'hertz',
  Cel: 'celsius',
  '[degF]': 'fahrenheit',
  'W.h': 'watt_hours',
  By: 'bytes',
  '%': 'ratio', // the value is not rescaled, as in the Rust exporter
});

/**
 * The unit part of a family name, before sanitising: the prefix's unique name then the base unit's word
 * (`milliseconds`, `kilobytes`, `joules`); a custom unit gives its unique name; the unity `1` gives `''`
 * (with or without a prefix, as Rust: its word is empty, so a prefixed unity gives the prefix alone).
 */
export function unitWord(unit: Unit): string {
  const word = Object.prototype.hasOwnProperty.call(UNIT_WORDS, unit.base) ? UNIT_WORDS[unit.base]! : unit.base;
  return unit.prefix + word;
}

export interface NamingOptions {
  /** Written before the metric's name (`""` by default). */
  readonly prefix: string;
  /** Written after the metric's name and before the unit (`"_alumet"` by default). */
  readonly suffix: string;
}

/**
 * The family name: `sanitize(prefix + name + suffix)`, then `_` and the sanitised unit word when there is
 * one, as prometheus-client appends it: `mem_total` in bytes → `mem_total_alumet_bytes`,
 * `kernel_cpu_time` in ms → `kernel_cpu_time_alumet_milliseconds`, `kernel_new_forks` (unit `1`) →
 * `kernel_new_forks_alumet`.
 */
export function familyName(metricName: string, unit: Unit, options: NamingOptions): string {
  const base = sanitizeName(options.prefix + metricName + options.suffix);
  const word = unitWord(unit);
  return word === '' ? base : `${base}_${sanitizeName(word)}`;
}

/** The unit name of the OpenMetrics `# UNIT` line (the sanitised unit word), or `''` for none. */
export function unitLabel(unit: Unit): string {
  const word = unitWord(unit);
  return word === '' ? '' : sanitizeName(word);
}

/** What `seriesLabels` reads of a point: a `PointView` has it. */
export interface SeriesPoint {
  readonly resource: ResourceRef;
  readonly consumer: ResourceRef;
  readonly attributes: Attributes;
}

export interface LabelOptions {
  /** Add each attribute as a label, its key sanitised (`add_attributes_to_labels`, true by default). */
  readonly addAttributesToLabels: boolean;
}

/** A label: [name, value], the value not escaped. */
export type Label = readonly [string, string];

/**
 * The labels of a point's series, sorted by name (as the Rust exporter sorts them): `resource_kind`,
 * `resource_id`, `resource_consumer_kind`, `resource_consumer_id` (`""` for `local_machine`'s ids), then,
 * with `addAttributesToLabels`, each attribute as `(sanitizeName(key), value as text)`.
 *
 * Where the Rust exporter would write the same label name twice (an attribute named `resource_kind`, or two
 * keys that sanitise alike, `a-b` and `a.b`), which Prometheus rejects for the whole scrape, the first one
 * wins: the four resource labels, then the attributes in the point's order. `metric` is not used by the Rust
 * rules; it is taken so that a caller can pass what it has and the rules may depend on it later.
 */
export function seriesLabels(point: SeriesPoint, metric: MetricInfo | undefined, options: LabelOptions): Label[] {
  void metric;
  const labels: Label[] = [
    ['resource_kind', point.resource.kind],
    ['resource_id', point.resource.id],
    ['resource_consumer_kind', point.consumer.kind],
    ['resource_consumer_id', point.consumer.id],
  ];
  if (options.addAttributesToLabels && point.attributes.length > 0) {
    const seen = new Set<string>(['resource_kind', 'resource_id', 'resource_consumer_kind', 'resource_consumer_id']);
    for (const [key, value] of point.attributes) {
      const name = sanitizeName(key);
      if (seen.has(name)) continue;
      seen.add(name);
      labels.push([name, formatAttrValue(value)]);
    }
  }
  labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return labels;
}

const NEEDS_ESCAPE = /[\\"\n]/;

/**
 * A label value escaped for the Prometheus text format 0.0.4 and OpenMetrics 1.0 (the same three rules):
 * `\` → `\\`, `"` → `\"`, line feed → `\n`. (The Rust exporter writes values raw.)
 */
export function escapeLabelValue(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

/**
 * `{k="v",…}` for `labels` (already sorted), values escaped; `''` for no labels. Names must be valid
 * (sanitizeName makes them so).
 */
export function formatLabels(labels: readonly Label[]): string {
  if (labels.length === 0) return '';
  let out = '{';
  for (let i = 0; i < labels.length; i++) {
    const [name, value] = labels[i]!;
    if (i > 0) out += ',';
    out += `${name}="${escapeLabelValue(value)}"`;
  }
  return out + '}';
}

/**
 * Text of a `# HELP` line, escaped: `\` → `\\` and line feed → `\n` (both formats); OpenMetrics also
 * escapes `"`.
 */
export function escapeHelp(text: string, openMetrics: boolean): string {
  const re = openMetrics ? /[\\"\n]/g : /[\\\n]/g;
  return text.replace(re, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}
