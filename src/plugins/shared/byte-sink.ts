// A growable byte buffer that CSV rows and InfluxDB lines are written into directly (worker thread, or any
// thread in tests).
// Building rows as JS strings costs a rope, a flatten and a UTF-8 encode per batch; writing the bytes of
// each cell in place is about twice as fast and leaves almost nothing for the garbage collector.

const DIGITS = 48; // '0'

export class ByteSink {
  buf: Buffer;
  length = 0;

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  /** Forgets the content; shrinks back if one huge batch made the buffer grow far beyond `keepBytes`. */
  clear(keepBytes = 1 << 21): void {
    this.length = 0;
    if (this.buf.length > 4 * keepBytes) this.buf = Buffer.allocUnsafe(keepBytes);
  }

  /** Drops the first `n` bytes (those written out), keeping the rest. */
  consume(n: number, keepBytes?: number): void {
    if (n >= this.length) {
      this.clear(keepBytes);
      return;
    }
    this.buf.copyWithin(0, n, this.length);
    this.length -= n;
  }

  byte(c: number): void {
    if (this.length >= this.buf.length) this.reserve(1);
    this.buf[this.length++] = c;
  }

  /** Bytes already encoded (cells reused for many rows). */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.reserve(n);
    const buf = this.buf;
    let p = this.length;
    // A loop beats TypedArray.set for the short cells of a CSV row.
    if (n < 48) for (let i = 0; i < n; i++) buf[p++] = b[i]!;
    else {
      buf.set(b, p);
      p += n;
    }
    this.length = p;
  }

  /** Any string, as UTF-8. */
  text(s: string): void {
    const n = s.length;
    this.reserve(3 * n);
    const buf = this.buf;
    const start = this.length;
    let p = start;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.length = start + buf.write(s, start, 'utf8');
        return;
      }
      buf[p++] = c;
    }
    this.length = p;
  }

  /** A non-negative integer below 2^53, in decimal. */
  uint(v: number): void {
    this.reserve(16);
    const buf = this.buf;
    if (v < 10) {
      buf[this.length++] = DIGITS + v;
      return;
    }
    let digits = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
    let p = this.length + digits;
    this.length = p;
    let x = v;
    while (x >= 10) {
      const q = Math.floor(x / 10);
      buf[--p] = DIGITS + (x - q * 10);
      x = q;
    }
    buf[--p] = DIGITS + x;
  }

  /** Exactly `width` decimal digits of the non-negative integer `v` (below 10^width), with leading zeros. */
  padded(v: number, width: number): void {
    this.reserve(width);
    const buf = this.buf;
    let p = this.length + width;
    this.length = p;
    let x = v;
    for (let i = 0; i < width; i++) {
      const q = Math.floor(x / 10);
      buf[--p] = DIGITS + (x - q * 10);
      x = q;
    }
  }

  /** `width` decimal digits of `v` with leading zeros, dropping trailing zeros (the fraction of a timestamp). */
  fraction(v: number, width: number): void {
    let x = v;
    let w = width;
    while (x % 10 === 0 && w > 0) {
      x /= 10;
      w--;
    }
    this.reserve(w);
    const buf = this.buf;
    let p = this.length + w;
    this.length = p;
    for (let i = 0; i < w; i++) {
      const q = Math.floor(x / 10);
      buf[--p] = DIGITS + (x - q * 10);
      x = q;
    }
  }

  toString(): string {
    return this.buf.toString('utf8', 0, this.length);
  }
}
