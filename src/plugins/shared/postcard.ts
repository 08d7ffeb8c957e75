// The postcard 1.x encoding the Rust relay uses (serde's data model, as postcard writes it): unsigned LEB128
// varints for u16/u32/u64 and enum variant indexes, a raw byte for u8 and bool, f64 as its 8 bits little-
// endian, strings and sequences as a varint length then their content, structs and tuples as their fields in
// order. Written from the format's rules (reference/alumet-wire.md §1), not from postcard's code. Any thread.

import { isUtf8 } from 'node:buffer';

/** A body that does not follow the rules: where, and what was wrong. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

const TWO_32 = 4294967296;

/** Appends postcard values to a growing buffer. */
export class PostcardWriter {
  #buf: Buffer;
  #view: DataView;
  length = 0;

  constructor(capacity = 256) {
    this.#buf = Buffer.allocUnsafe(capacity);
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }

  /** The bytes written so far (a view on the writer's buffer: copy it before writing more). */
  bytes(): Buffer {
    return this.#buf.subarray(0, this.length);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.length + n));
    this.#buf.copy(grown, 0, 0, this.length);
    this.#buf = grown;
    this.#view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  u8(v: number): void {
    this.reserve(1);
    this.#buf[this.length++] = v;
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }

  /** A varint of a non-negative integer below 2^53 (u32 fields, lengths, variant indexes, ids, seconds). */
  varint(v: number): void {
    this.reserve(10);
    const buf = this.#buf;
    let n = this.length;
    if (v <= 0xffffffff) {
      // 32-bit operations for what fits them (ids, lengths, nanoseconds, seconds until 2106).
      while (v > 0x7f) {
        buf[n++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      while (v >= 0x80) {
        buf[n++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
    }
    buf[n++] = v;
    this.length = n;
  }

  /** A varint of the u64 whose low and high 32-bit words are `lo` and `hi` (exact over the whole range). */
  varintWords(lo: number, hi: number): void {
    if (hi === 0) return this.varint(lo);
    this.reserve(10);
    const buf = this.#buf;
    let n = this.length;
    // 7 bits at a time from the 64: the low word gives the first 4 groups (28 bits), then the words mix.
    for (let i = 0; i < 4; i++) {
      buf[n++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    // lo has 4 bits left; hi's 32 follow them.
    let rest = lo | ((hi & 0x07) << 4); // 7 bits: 4 of lo, 3 of hi
    hi >>>= 3;
    while (hi !== 0) {
      buf[n++] = rest | 0x80;
      rest = hi & 0x7f;
      hi >>>= 7;
    }
    buf[n++] = rest;
    this.length = n;
  }

  varintBig(v: bigint): void {
    this.varintWords(Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn));
  }

  f64(v: number): void {
    this.reserve(8);
    this.#view.setFloat64(this.length, v, true);
    this.length += 8;
  }

  /** The 8 bytes of an f64 slot as two 32-bit words (low first), little-endian: a NaN keeps its bits. */
  f64Words(lo: number, hi: number): void {
    this.reserve(8);
    this.#view.setUint32(this.length, lo, true);
    this.#view.setUint32(this.length + 4, hi, true);
    this.length += 8;
  }

  str(s: string): void {
    this.reserve(Buffer.byteLength(s) + 10);
    const len = Buffer.byteLength(s);
    this.varint(len);
    this.#buf.write(s, this.length, 'utf8');
    this.length += len;
  }

  /** Bytes written as they are (an encoded string or value kept from before). */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.reserve(n);
    // A loop beats TypedArray.set for the few bytes of a string or an id.
    if (n <= 32) {
      const buf = this.#buf;
      for (let i = 0, at = this.length; i < n; i++, at++) buf[at] = bytes[i]!;
    } else this.#buf.set(bytes, this.length);
    this.length += n;
  }
}

/** The encoding of one string (its varint length, then its UTF-8 bytes), to copy wherever it repeats. */
export function encodedStr(s: string): Buffer {
  const w = new PostcardWriter(Buffer.byteLength(s) + 5);
  w.str(s);
  return Buffer.from(w.bytes());
}

/** Reads postcard values from one message body; every read checks its bounds and its rules. */
export class PostcardReader {
  readonly buf: Buffer;
  #view: DataView;
  offset: number;
  readonly end: number;
  /** The u64 the last `varintWords` read, as 32-bit words. */
  lo = 0;
  hi = 0;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    this.buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  #need(n: number, what: string): void {
    if (this.offset + n > this.end) throw new DecodeError(`the message ends inside ${what} (byte ${this.offset} of ${this.end})`);
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.buf[this.offset++]!;
  }

  bool(what: string): boolean {
    const b = this.u8(what);
    if (b > 1) throw new DecodeError(`${what}: ${b} is not a bool (0 or 1) at byte ${this.offset - 1}`);
    return b === 1;
  }

  /** A varint u32 (postcard refuses more than 5 bytes or a value over 2^32-1). */
  u32(what: string): number {
    const first = this.buf[this.offset]!;
    if (first < 0x80 && this.offset < this.end) {
      this.offset++;
      return first;
    }
    let v = 0;
    for (let i = 0, mul = 1; i < 5; i++, mul *= 128) {
      const b = this.u8(what);
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (v >= TWO_32) break;
        return v;
      }
    }
    throw new DecodeError(`${what}: not a u32 varint at byte ${this.offset}`);
  }

  /** A varint u64, into `lo` and `hi` (postcard refuses more than 10 bytes or a value over 2^64-1). */
  varintWords(what: string): void {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.u8(what);
      const bits = b & 0x7f;
      const shift = 7 * i;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi = bits >>> 4;
      } else if (i === 9 && bits > 1) break;
      else hi |= bits << (shift - 32);
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    throw new DecodeError(`${what}: not a u64 varint at byte ${this.offset}`);
  }

  /** A varint u64 as a number: exact below 2^53, the nearest double above. */
  u64Number(what: string): number {
    const first = this.buf[this.offset]!;
    if (first < 0x80 && this.offset < this.end) {
      this.offset++;
      return first;
    }
    this.varintWords(what);
    return this.hi * TWO_32 + this.lo;
  }

  u64Big(what: string): bigint {
    this.varintWords(what);
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  f64(what: string): number {
    this.#need(8, what);
    const v = this.#view.getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }

  /** A length (of a string or a sequence) that must fit in what is left, each element taking `minBytes` or more. */
  length(what: string, minBytes = 1): number {
    const n = this.u64Number(`the length of ${what}`);
    if (n * minBytes > this.remaining) throw new DecodeError(`${what}: a length of ${n} is more than the message holds (byte ${this.offset} of ${this.end})`);
    return n;
  }

  /** Start and end of a string's bytes, skipped (for callers that look them up before decoding). */
  strRange(what: string): number {
    const n = this.length(what);
    const start = this.offset;
    this.offset += n;
    return start;
  }

  str(what: string): string {
    const start = this.strRange(what);
    return this.utf8(start, this.offset, what);
  }

  /** The text of bytes `start`…`end`, which must be valid UTF-8 (as Rust's str). */
  utf8(start: number, end: number, what: string): string {
    const buf = this.buf;
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return buf.toString('latin1', start, end);
    if (!isUtf8(buf.subarray(start, end))) throw new DecodeError(`${what}: invalid UTF-8 at byte ${start}`);
    return buf.toString('utf8', start, end);
  }
}
