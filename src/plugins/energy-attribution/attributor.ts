// The state and algorithm of one attribution formula, as the Rust transform runs it: samples grouped by
// resource ("general" per_resource series) and by consumer of that resource (per_consumer series); for each
// consumer, every series interpolated at the reference series' new timestamps, the formula evaluated there;
// then what no later step needs is dropped. Pure code; runs in the transform's worker thread.

import type { Attributes, ResourceRef, Timestamp } from '../../protocol/element-api.js';
import type { Formula } from './formula.js';
import { compareTime, dropBefore, insertSample, interpolateAt, keepFrom, minus, type Sample } from './timeline.js';

export interface SeriesInfo {
  /** The formula's variable. */
  readonly name: string;
  /** Grouped per resource (per_resource) or per resource and consumer (per_consumer). */
  readonly perConsumer: boolean;
  readonly keepAttributes: boolean;
  /** Its metric holds u64 values: interpolations are rounded. */
  readonly integers: boolean;
}

export interface AttributorOptions {
  /** Every series, the per_resource ones first; index i is the formula's variable i. */
  readonly series: readonly SeriesInfo[];
  /** Index of the reference series (a per_resource one). */
  readonly ref: number;
  readonly retentionNs: bigint;
  readonly formula: Formula;
}

/** What a consumer's attribution produced at one reference timestamp. */
export interface Attributed {
  readonly timestamp: Timestamp;
  readonly resource: ResourceRef;
  readonly consumer: ResourceRef;
  readonly value: number;
  readonly attributes: Attributes;
}

interface ConsumerData {
  readonly consumer: ResourceRef;
  /** One series per per_consumer variable. */
  readonly series: Sample[][];
  /** The reference timestamp of its last attribution: later ones only are new. */
  last: Timestamp | undefined;
}

interface ResourceData {
  readonly resource: ResourceRef;
  /** One series per per_resource variable. */
  readonly general: Sample[][];
  readonly consumers: Map<string, ConsumerData>;
}

const keyOf = (r: ResourceRef): string => `${r.kind}\u0000${r.id}`;
const isEmpty = (s: readonly Sample[]): boolean => s.length === 0;

export class Attributor {
  readonly #opts: AttributorOptions;
  /** Series index → its slot in the general or the consumer arrays. */
  readonly #slot: number[];
  readonly #generalCount: number;
  readonly #consumerCount: number;
  readonly #resources = new Map<string, ResourceData>();
  readonly #values: Float64Array;
  /** Formula results that were not finite numbers (a division by zero), skipped. */
  skipped = 0;

  constructor(opts: AttributorOptions) {
    this.#opts = opts;
    let general = 0;
    let consumer = 0;
    this.#slot = opts.series.map((s) => (s.perConsumer ? consumer++ : general++));
    this.#generalCount = general;
    this.#consumerCount = consumer;
    this.#values = new Float64Array(opts.series.length);
  }

  /** Adds a sample of series `index` measured on `resource` for `consumer`. */
  add(index: number, resource: ResourceRef, consumer: ResourceRef, sample: Sample): void {
    const rkey = keyOf(resource);
    let r = this.#resources.get(rkey);
    if (r === undefined) {
      r = { resource, general: Array.from({ length: this.#generalCount }, () => []), consumers: new Map() };
      this.#resources.set(rkey, r);
    }
    const slot = this.#slot[index]!;
    if (!this.#opts.series[index]!.perConsumer) {
      insertSample(r.general[slot]!, sample);
      return;
    }
    const ckey = keyOf(consumer);
    let c = r.consumers.get(ckey);
    if (c === undefined) {
      c = { consumer, series: Array.from({ length: this.#consumerCount }, () => []), last: undefined };
      r.consumers.set(ckey, c);
    }
    insertSample(c.series[slot]!, sample);
  }

  /** Attributes every reference timestamp that all the series now cover, then forgets what is no longer needed. */
  attribute(emit: (a: Attributed) => void): void {
    for (const [rkey, r] of this.#resources) {
      const expired = this.#expiry(r);
      for (const [ckey, c] of r.consumers) {
        this.#attributeConsumer(r, c, emit);
        for (const s of c.series) {
          if (c.last !== undefined) keepFrom(s, c.last);
          if (expired !== undefined) dropBefore(s, expired);
        }
        if (c.series.every(isEmpty)) r.consumers.delete(ckey);
      }
      // The general series are needed back to the oldest last attribution of the consumers, unless too old.
      let cut: Timestamp | undefined;
      for (const c of r.consumers.values()) {
        if (c.last === undefined) {
          cut = undefined;
          break;
        }
        if (cut === undefined || compareTime(c.last, cut) < 0) cut = c.last;
      }
      for (const s of r.general) {
        if (cut !== undefined) keepFrom(s, cut);
        if (expired !== undefined) dropBefore(s, expired);
      }
      if (r.general.every(isEmpty) && r.consumers.size === 0) this.#resources.delete(rkey);
    }
  }

  /** Samples older than the resource's newest general sample minus the retention time expire. */
  #expiry(r: ResourceData): Timestamp | undefined {
    let newest: Timestamp | undefined;
    for (const s of r.general) {
      const last = s[s.length - 1];
      if (last !== undefined && (newest === undefined || compareTime(last, newest) > 0)) newest = last;
    }
    return newest === undefined ? undefined : minus(newest, this.#opts.retentionNs);
  }

  #attributeConsumer(r: ResourceData, c: ConsumerData, emit: (a: Attributed) => void): void {
    // Every variable is bound, per_resource ones included (the Rust transform binds only the reference).
    if (r.general.some(isEmpty) || c.series.some(isEmpty)) return;
    const { series, ref, formula } = this.#opts;
    const all = series.map((s, i) => (s.perConsumer ? c.series : r.general)[this.#slot[i]!]!);
    // Interpolation needs every series on both sides of a timestamp: [latest first sample, earliest last sample].
    let inf = all[0]![0]!;
    let sup = all[0]![all[0]!.length - 1]!;
    for (const s of all) {
      if (compareTime(s[0]!, inf) > 0) inf = s[0]!;
      const last = s[s.length - 1]!;
      if (compareTime(last, sup) < 0) sup = last;
    }
    const values = this.#values;
    for (const t of all[ref]!) {
      if (compareTime(t, sup) > 0) break;
      if (compareTime(t, inf) < 0 || (c.last !== undefined && compareTime(t, c.last) <= 0)) continue;
      const kept: Attributes[] = [];
      for (let i = 0; i < all.length; i++) {
        const at = i === ref ? t : interpolateAt(all[i]!, t, series[i]!.integers);
        values[i] = at.value;
        if (series[i]!.keepAttributes && at.attributes.length > 0) kept.push(at.attributes);
      }
      c.last = t;
      const value = formula.evaluate(values);
      if (!Number.isFinite(value)) {
        this.skipped++;
        continue;
      }
      emit({ timestamp: { sec: t.sec, nsec: t.nsec }, resource: r.resource, consumer: c.consumer, value, attributes: merged(kept) });
    }
  }
}

/** The attributes of the series that keep theirs, in series order; of a key given twice, the first. */
function merged(sets: Attributes[]): Attributes {
  if (sets.length <= 1) return sets[0] ?? [];
  const seen = new Set<string>();
  const out: Array<readonly [string, Attributes[number][1]]> = [];
  for (const set of sets) {
    for (const [k, v] of set) {
      if (seen.has(k)) continue;
      seen.add(k);
      out.push([k, v]);
    }
  }
  return out;
}
