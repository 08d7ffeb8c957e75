// Values decoded from message bytes, remembered by those bytes (worker thread of the relay-server): a string
// or an attribute list that repeats from point to point is decoded and checked once, then found again by
// hashing and comparing its bytes, which costs neither a string nor garbage. (A hash of a few bytes only
// was tried: series whose attributes differ in one character then all collide.) Bounded: past its limit it
// starts afresh, so a client that sends ever new values cannot grow it.

interface Entry<T> {
  readonly bytes: Uint8Array;
  readonly value: T;
  readonly next: Entry<T> | undefined;
}

export class ByteCache<T> {
  readonly #limit: number;
  #buckets = new Map<number, Entry<T>>();
  #size = 0;
  /** The hash of the bytes of the last `get`, for the `set` that follows a miss. */
  #hash = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The value stored for bytes `start`…`end` of `buf`, or undefined. */
  get(buf: Uint8Array, start: number, end: number): T | undefined {
    const n = end - start;
    let h = 0x811c9dc5; // FNV-1a
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    this.#hash = h;
    for (let e = this.#buckets.get(h); e !== undefined; e = e.next) {
      const bytes = e.bytes;
      if (bytes.length !== n) continue;
      let same = true;
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return e.value;
    }
    return undefined;
  }

  /** Stores `value` for the bytes the last `get` missed. */
  set(buf: Uint8Array, start: number, end: number, value: T): void {
    if (this.#size >= this.#limit) {
      this.#buckets = new Map();
      this.#size = 0;
    }
    const h = this.#hash;
    this.#buckets.set(h, { bytes: buf.slice(start, end), value, next: this.#buckets.get(h) });
    this.#size++;
  }
}
