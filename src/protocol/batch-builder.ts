// Accumulates points into a Batch. Runs in worker threads (sources, and transforms that add points).

import { Batch, F64, LOCAL_MACHINE, type Attributes, type ResourceRef, type Timestamp } from './batch.js';
import type { MetricHandle } from './metrics.js';

export interface PointOptions {
  resource?: ResourceRef;
  consumer?: ResourceRef;
  attributes?: Attributes;
}

/** The push-only view a source gets on each poll (Alumet's MeasurementAccumulator). */
export class BatchBuilder {
  #batch: Batch;
  #initialCapacity: number;

  constructor(capacity = 256) {
    this.#initialCapacity = capacity;
    this.#batch = new Batch(capacity);
  }

  get length(): number {
    return this.#batch.length;
  }

  /** Appends one point; the value is stored as the metric's type (a u64 metric truncates like Rust's `as u64`). */
  push(metric: MetricHandle, ts: Timestamp, value: number | bigint, opts?: PointOptions): void {
    const b = this.#room(1);
    const i = b.length++;
    if (metric.type === F64) b.setF64(i, Number(value));
    else b.setU64(i, value);
    b.tsSec[i] = ts.sec;
    b.tsNsec[i] = ts.nsec;
    b.metric[i] = metric.id;
    const res = opts?.resource ?? LOCAL_MACHINE;
    const cons = opts?.consumer ?? LOCAL_MACHINE;
    b.resKind[i] = b.intern(res.kind);
    b.resId[i] = b.intern(res.id);
    b.consKind[i] = b.intern(cons.kind);
    b.consId[i] = b.intern(cons.id);
    b.attrs[i] = b.addAttrSet(opts?.attributes);
  }

  /**
   * Appends every point of `template` with timestamp `ts`: the bulk path for sources that emit the same
   * shape on every poll. `template` must come from this builder's own `detachTemplate` or share no tables.
   */
  appendAll(template: Batch, ts: Timestamp): void {
    const b = this.#room(template.length);
    const n = template.length;
    if (b.length === 0 && b.strings.length === 0 && b.attrSets.length === 0) {
      // Fresh batch: adopt the template's tables and copy its columns wholesale.
      b.strings.push(...template.strings);
      b.attrSets.push(...template.attrSets);
      b.valueWords.set(template.valueWords.subarray(0, 2 * n));
      b.type.set(template.type.subarray(0, n));
      b.metric.set(template.metric.subarray(0, n));
      b.resKind.set(template.resKind.subarray(0, n));
      b.resId.set(template.resId.subarray(0, n));
      b.consKind.set(template.consKind.subarray(0, n));
      b.consId.set(template.consId.subarray(0, n));
      b.attrs.set(template.attrs.subarray(0, n));
      b.length = n;
    } else {
      for (let i = 0; i < n; i++) b.copyPointFrom(template, i);
    }
    b.tsSec.fill(ts.sec, b.length - n, b.length);
    b.tsNsec.fill(ts.nsec, b.length - n, b.length);
  }

  /** The batch being built, for sources that write columns directly (values of the last `n` points, say). */
  get current(): Batch {
    return this.#batch;
  }

  /** Hands over the accumulated points and starts a new batch. */
  take(): Batch {
    const b = this.#batch;
    this.#batch = new Batch(Math.max(this.#initialCapacity, b.length));
    return b;
  }

  #room(n: number): Batch {
    const b = this.#batch;
    if (b.length + n <= b.capacity) return b;
    const grown = new Batch(Math.max(b.capacity * 2, b.length + n), undefined, 0, b.strings, b.attrSets);
    for (let i = 0; i < b.length; i++) grown.copyPointFrom(b, i);
    this.#batch = grown;
    return grown;
  }
}
