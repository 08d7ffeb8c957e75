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
  /** The template whose tables the current batch adopted (see `appendAll`), and their sizes then. */
  #adopted: { template: Batch; strings: number; attrSets: number } | undefined;

  /** Most sources push a few dozen points per flush; a batch that needs more grows, and the next is sized like it. */
  constructor(capacity = 32) {
    this.#initialCapacity = capacity;
    this.#batch = Batch.forWriting(capacity);
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
   * shape on every poll. `template` must share no tables with this builder's batch, and the entries its
   * `strings` and `attrSets` already hold must not change between polls (new entries may be appended).
   */
  appendAll(template: Batch, ts: Timestamp): void {
    const b = this.#room(template.length);
    const n = template.length;
    const start = b.length;
    if (start === 0 && b.strings.length === 0 && b.attrSets.length === 0) {
      // Fresh batch: adopt the template's tables and copy its columns wholesale.
      b.strings.push(...template.strings);
      b.attrSets.push(...template.attrSets);
      b.copyRangeFrom(template, 0, n, false);
      this.#adopted = { template, strings: template.strings.length, attrSets: template.attrSets.length };
    } else if (this.#adopted?.template === template && this.#adopted.strings === template.strings.length && this.#adopted.attrSets === template.attrSets.length) {
      // The batch's tables began as copies of the template's and only grow at the end, so the template's
      // indexes still hold: the columns copy wholesale for every poll of a flush, not only the first.
      b.copyRangeFrom(template, 0, n, false);
    } else {
      for (let i = 0; i < n; i++) b.copyPointFrom(template, i);
    }
    b.tsSec.fill(ts.sec, start, start + n);
    b.tsNsec.fill(ts.nsec, start, start + n);
  }

  /**
   * The batch being built, for sources that write columns directly (values of the last `n` points, say).
   * Only its first `length` points are defined: columns past them may hold a reused buffer's old values.
   */
  get current(): Batch {
    return this.#batch;
  }

  /** Hands over the accumulated points and starts a new batch. */
  take(): Batch {
    const b = this.#batch;
    this.#batch = Batch.forWriting(Math.max(this.#initialCapacity, b.length));
    this.#adopted = undefined;
    return b;
  }

  #room(n: number): Batch {
    const b = this.#batch;
    if (b.length + n <= b.capacity) return b;
    const grown = Batch.forWriting(Math.max(b.capacity * 2, b.length + n), b.strings, b.attrSets);
    grown.copyRangeFrom(b, 0, b.length);
    this.#batch = grown;
    return grown;
  }
}
