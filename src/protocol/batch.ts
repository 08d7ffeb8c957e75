// The measurement batch: the only thing that travels on the data path. Used by every thread.
//
// A batch is columnar. All numeric columns live in ONE ArrayBuffer that is transferred (not copied) from
// worker to worker; strings (resource/consumer kinds and ids, attribute keys and string values) are interned
// into a small per-batch table that is structured-cloned with it. Because the string table belongs to the
// batch, no thread needs to share an intern table with another, and a restarted worker starts clean.
//
// Layout of the buffer for capacity C (byte offsets, all 8-aligned):
//   value     Float64[C]  f64 value, or a u64 as two Uint32 words (lo, hi) in the same 8 bytes
//   tsSec     Float64[C]  whole seconds since the Unix epoch
//   tsNsec    Uint32[C]   nanoseconds within the second (0..999 999 999)
//   metric    Uint32[C]   metric id from the registry
//   resKind, resId, consKind, consId   Uint32[C]   indexes into `strings`
//   attrs     Uint32[C]   0 = no attributes, k = attribute set k-1 in `attrSets`
//   type      Uint8[C]    ValueType of the value slot

export const F64 = 0;
export const U64 = 1;
export type ValueType = typeof F64 | typeof U64;

/** An attribute value as Alumet types it. `bigint` is a u64; a plain number is an f64. */
export type AttrValue = string | number | bigint | boolean | bigint[];
/** Ordered attributes of a point: [key, value] pairs. */
export type Attributes = ReadonlyArray<readonly [string, AttrValue]>;

/** The serialisable form of a batch, as it crosses a MessagePort (`buffer` goes in the transfer list). */
export interface WireBatch {
  readonly type: 'batch';
  buffer: ArrayBuffer;
  length: number;
  capacity: number;
  strings: string[];
  attrSets: Attributes[];
}

const U32_COLUMNS = 7; // tsNsec, metric, resKind, resId, consKind, consId, attrs

function bytesFor(capacity: number): number {
  const c8 = Math.ceil(capacity / 8) * 8; // keeps every column 8-byte aligned
  return c8 * (8 + 8 + 4 * U32_COLUMNS + 1);
}

/**
 * Spare batch buffers of this thread (each thread has its own module instance, so its own pool). A fresh
 * ArrayBuffer of a big batch is mapped page by page as it is first written, and freed by another thread's
 * GC once transferred: both cost more than the data they carry. So an output gives each written batch's
 * buffer back (`Batch.release`), credits carry spare buffers upstream (src/workers/links.ts), and the
 * source's next batch reuses one. Only big buffers are pooled; small ones come cheaply from malloc.
 */
export class BufferPool {
  /** Smaller buffers are not pooled (about 1500 points). */
  static readonly MIN_BYTES = 64 * 1024;
  static readonly MAX_BUFFERS = 16;
  static readonly MAX_BYTES = 32 * 1024 * 1024;
  readonly #spare: ArrayBuffer[] = [];
  #bytes = 0;

  get size(): number {
    return this.#spare.length;
  }

  /** A spare buffer of exactly `bytes` bytes, zero-filled, if there is one. */
  take(bytes: number): ArrayBuffer | undefined {
    for (let i = this.#spare.length - 1; i >= 0; i--) {
      const b = this.#spare[i]!;
      if (b.byteLength !== bytes) continue;
      this.#spare.splice(i, 1);
      this.#bytes -= bytes;
      return b;
    }
    return undefined;
  }

  /** The most recently given spare buffer, whatever its size (to send upstream with a credit). */
  takeAny(): ArrayBuffer | undefined {
    const b = this.#spare.pop();
    if (b !== undefined) this.#bytes -= b.byteLength;
    return b;
  }

  /** Keeps `buffer` for reuse; the oldest spare buffers are dropped beyond the pool's limits. */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength < BufferPool.MIN_BYTES) return; // also skips detached buffers (0 bytes)
    this.#spare.push(buffer);
    this.#bytes += buffer.byteLength;
    while (this.#spare.length > BufferPool.MAX_BUFFERS || this.#bytes > BufferPool.MAX_BYTES) this.#bytes -= this.#spare.shift()!.byteLength;
  }
}

/** This thread's pool of spare batch buffers. */
export const bufferPool = new BufferPool();

/** A buffer for a new batch: a spare one from the pool (zero-filled if `zero`), or a fresh one. */
function allocate(bytes: number, zero: boolean): ArrayBuffer {
  const spare = bytes >= BufferPool.MIN_BYTES ? bufferPool.take(bytes) : undefined;
  if (spare === undefined) return new ArrayBuffer(bytes);
  if (zero) new Uint8Array(spare).fill(0);
  return spare;
}

/** A timestamp with exact nanoseconds. `sec` is an integer number of seconds since the Unix epoch. */
export interface Timestamp {
  readonly sec: number;
  readonly nsec: number;
}

export class Batch {
  length: number;
  readonly capacity: number;
  readonly buffer: ArrayBuffer;
  readonly strings: string[];
  readonly attrSets: Attributes[];

  readonly value: Float64Array;
  readonly valueWords: Uint32Array;
  readonly tsSec: Float64Array;
  readonly tsNsec: Uint32Array;
  readonly metric: Uint32Array;
  readonly resKind: Uint32Array;
  readonly resId: Uint32Array;
  readonly consKind: Uint32Array;
  readonly consId: Uint32Array;
  readonly attrs: Uint32Array;
  readonly type: Uint8Array;

  #stringIndex: Map<string, number> | undefined;
  #attrIndex: Map<Attributes, number> | undefined;
  #released = false;

  constructor(capacity: number, buffer?: ArrayBuffer, length = 0, strings: string[] = [], attrSets: Attributes[] = []) {
    this.capacity = Math.max(1, capacity);
    const c8 = Math.ceil(this.capacity / 8) * 8;
    this.buffer = buffer ?? allocate(bytesFor(this.capacity), true);
    this.length = length;
    this.strings = strings;
    this.attrSets = attrSets;
    let off = 0;
    this.value = new Float64Array(this.buffer, off, c8);
    this.valueWords = new Uint32Array(this.buffer, off, c8 * 2);
    off += 8 * c8;
    this.tsSec = new Float64Array(this.buffer, off, c8);
    off += 8 * c8;
    const u32 = (): Uint32Array => {
      const a = new Uint32Array(this.buffer, off, c8);
      off += 4 * c8;
      return a;
    };
    this.tsNsec = u32();
    this.metric = u32();
    this.resKind = u32();
    this.resId = u32();
    this.consKind = u32();
    this.consId = u32();
    this.attrs = u32();
    this.type = new Uint8Array(this.buffer, off, c8);
  }

  /**
   * An empty batch whose columns past `length` hold unspecified values (a reused buffer is not cleared), for
   * writers that set every column of every point they add, as BatchBuilder does. `new Batch` is all zeros.
   */
  static forWriting(capacity: number, strings: string[] = [], attrSets: Attributes[] = []): Batch {
    const c = Math.max(1, capacity);
    return new Batch(c, allocate(bytesFor(c), false), 0, strings, attrSets);
  }

  static fromWire(w: WireBatch): Batch {
    return new Batch(w.capacity, w.buffer, w.length, w.strings, w.attrSets);
  }

  /** Detaches the buffer into a message: after this call the batch must not be used (ownership moved). */
  toWire(): { message: WireBatch; transfer: ArrayBuffer[] } {
    return {
      message: { type: 'batch', buffer: this.buffer, length: this.length, capacity: this.capacity, strings: this.strings, attrSets: this.attrSets },
      transfer: [this.buffer],
    };
  }

  /** A deep copy, for fan-out: every receiver but the last gets a clone. */
  clone(): Batch {
    const bytes = this.buffer.byteLength;
    const spare = bytes >= BufferPool.MIN_BYTES ? bufferPool.take(bytes) : undefined;
    let buffer: ArrayBuffer;
    if (spare === undefined) buffer = this.buffer.slice(0);
    else {
      new Uint8Array(spare).set(new Uint8Array(this.buffer));
      buffer = spare;
    }
    return new Batch(this.capacity, buffer, this.length, this.strings.slice(), this.attrSets.slice());
  }

  /**
   * Gives this batch's buffer back to the thread's pool, to carry a later batch: call it once the batch is
   * done with (an output, at the end of a successful write). Its columns must not be read afterwards (its
   * `length` stays, for the counters); a second call does nothing.
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    bufferPool.give(this.buffer);
  }

  /** Index of `s` in this batch's string table, adding it if needed. */
  intern(s: string): number {
    let index = this.#stringIndex;
    if (index === undefined) {
      index = new Map();
      for (let i = 0; i < this.strings.length; i++) index.set(this.strings[i]!, i);
      this.#stringIndex = index;
    }
    let id = index.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      index.set(s, id);
    }
    return id;
  }

  /**
   * Registers an attribute set and returns the value for the `attrs` column. The same array object (a
   * source's constant attributes for a series) is stored once per batch, so the batch clones faster and an
   * output formats each set once.
   */
  addAttrSet(attrs: Attributes | undefined): number {
    if (attrs === undefined || attrs.length === 0) return 0;
    let index = this.#attrIndex;
    if (index === undefined) {
      index = new Map();
      for (let i = 0; i < this.attrSets.length; i++) index.set(this.attrSets[i]!, i + 1);
      this.#attrIndex = index;
    }
    let id = index.get(attrs);
    if (id === undefined) {
      this.attrSets.push(attrs);
      id = this.attrSets.length;
      index.set(attrs, id);
    }
    return id;
  }

  isU64(i: number): boolean {
    return this.type[i] === U64;
  }

  /** The value as a JS number (u64 above 2^53 loses precision: use `u64At` where exactness matters). */
  numberAt(i: number): number {
    if (this.type[i] === U64) return this.valueWords[2 * i + 1]! * 4294967296 + this.valueWords[2 * i]!;
    return this.value[i]!;
  }

  /** The exact u64 value of point `i` (which must be a u64 point). */
  u64At(i: number): bigint {
    return (BigInt(this.valueWords[2 * i + 1]!) << 32n) | BigInt(this.valueWords[2 * i]!);
  }

  setU64(i: number, v: number | bigint): void {
    this.type[i] = U64;
    if (typeof v === 'bigint') {
      this.valueWords[2 * i] = Number(v & 0xffffffffn);
      this.valueWords[2 * i + 1] = Number((v >> 32n) & 0xffffffffn);
    } else if (v >= 18446744073709551616) {
      // `as u64` saturates (1e20, Infinity); the word split below would give 0xffffffff_00000000.
      this.valueWords[2 * i] = 0xffffffff;
      this.valueWords[2 * i + 1] = 0xffffffff;
    } else {
      const x = v > 0 ? Math.floor(v) : 0; // Alumet's `as u64`: negatives and NaN become 0
      this.valueWords[2 * i] = x % 4294967296;
      this.valueWords[2 * i + 1] = Math.min(Math.floor(x / 4294967296), 0xffffffff);
    }
  }

  setF64(i: number, v: number): void {
    this.type[i] = F64;
    this.value[i] = v;
  }

  attributesAt(i: number): Attributes {
    const a = this.attrs[i]!;
    return a === 0 ? EMPTY_ATTRS : this.attrSets[a - 1]!;
  }

  /** Copies point `i` of `src` (another batch) to the end of this one. The caller ensures capacity. */
  copyPointFrom(src: Batch, i: number): number {
    const j = this.length++;
    // Copy the raw words, not the Float64: a u64 bit pattern may read as a NaN, which need not round-trip.
    this.valueWords[2 * j] = src.valueWords[2 * i]!;
    this.valueWords[2 * j + 1] = src.valueWords[2 * i + 1]!;
    this.type[j] = src.type[i]!;
    this.tsSec[j] = src.tsSec[i]!;
    this.tsNsec[j] = src.tsNsec[i]!;
    this.metric[j] = src.metric[i]!;
    if (src.strings === this.strings) {
      this.resKind[j] = src.resKind[i]!;
      this.resId[j] = src.resId[i]!;
      this.consKind[j] = src.consKind[i]!;
      this.consId[j] = src.consId[i]!;
    } else {
      this.resKind[j] = this.intern(src.strings[src.resKind[i]!]!);
      this.resId[j] = this.intern(src.strings[src.resId[i]!]!);
      this.consKind[j] = this.intern(src.strings[src.consKind[i]!]!);
      this.consId[j] = this.intern(src.strings[src.consId[i]!]!);
    }
    const a = src.attrs[i]!;
    this.attrs[j] = a === 0 ? 0 : src.attrSets === this.attrSets ? a : this.addAttrSet(src.attrSets[a - 1]);
    return j;
  }

  /**
   * Appends points `start` … `start + n - 1` of `src`, a batch that shares this batch's `strings` and
   * `attrSets` (or whose tables are a prefix of this batch's), column by column. The caller ensures capacity.
   * Without `timestamps`, the copied points keep whatever timestamps this batch had (the caller sets them).
   */
  copyRangeFrom(src: Batch, start: number, n: number, timestamps = true): void {
    const j = this.length;
    const end = start + n;
    this.valueWords.set(src.valueWords.subarray(2 * start, 2 * end), 2 * j);
    this.type.set(src.type.subarray(start, end), j);
    if (timestamps) {
      this.tsSec.set(src.tsSec.subarray(start, end), j);
      this.tsNsec.set(src.tsNsec.subarray(start, end), j);
    }
    this.metric.set(src.metric.subarray(start, end), j);
    this.resKind.set(src.resKind.subarray(start, end), j);
    this.resId.set(src.resId.subarray(start, end), j);
    this.consKind.set(src.consKind.subarray(start, end), j);
    this.consId.set(src.consId.subarray(start, end), j);
    this.attrs.set(src.attrs.subarray(start, end), j);
    this.length = j + n;
  }

  /** A new batch holding the points for which `keep(i)` is true, sharing this batch's tables. */
  filter(keep: (i: number) => boolean): Batch {
    const out = new Batch(Math.max(1, this.length), undefined, 0, this.strings, this.attrSets);
    for (let i = 0; i < this.length; i++) if (keep(i)) out.copyPointFrom(this, i);
    return out;
  }

  /** A batch with room for `extra` more points, holding this batch's points (this batch if it has room). */
  withRoom(extra: number): Batch {
    if (this.length + extra <= this.capacity) return this;
    // Grows geometrically: a batch that many small ones are appended to is copied O(log n) times, not n.
    const out = new Batch(Math.max(this.length + extra, this.capacity * 2), undefined, 0, this.strings, this.attrSets);
    out.copyRangeFrom(this, 0, this.length);
    return out;
  }

  timestampAt(i: number): Timestamp {
    return { sec: this.tsSec[i]!, nsec: this.tsNsec[i]! };
  }

  /** Convenience view for plugin authors and tests; not for the hot path. */
  *points(): IterableIterator<PointView> {
    for (let i = 0; i < this.length; i++) yield this.pointAt(i);
  }

  pointAt(i: number): PointView {
    return {
      metric: this.metric[i]!,
      timestamp: this.timestampAt(i),
      value: this.type[i] === U64 ? this.u64At(i) : this.value[i]!,
      resource: { kind: this.strings[this.resKind[i]!]!, id: this.strings[this.resId[i]!]! },
      consumer: { kind: this.strings[this.consKind[i]!]!, id: this.strings[this.consId[i]!]! },
      attributes: this.attributesAt(i),
    };
  }
}

const EMPTY_ATTRS: Attributes = Object.freeze([]) as Attributes;

export interface ResourceRef {
  readonly kind: string;
  readonly id: string;
}

export const LOCAL_MACHINE: ResourceRef = Object.freeze({ kind: 'local_machine', id: '' });

export interface PointView {
  metric: number;
  timestamp: Timestamp;
  /** bigint for u64 points, number for f64 points */
  value: number | bigint;
  resource: ResourceRef;
  consumer: ResourceRef;
  attributes: Attributes;
}
