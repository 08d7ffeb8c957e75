// Splits a connection's byte stream into message bodies: a 4-byte big-endian length, then that many bytes.
// A header that announces more than MAX_BODY_BYTES is refused at once, before its body is waited for. Worker
// thread (the relay-server's connections, the relay-client's answer to its Greet).

import { DecodeError } from './postcard.js';
import { HEADER_BYTES, MAX_BODY_BYTES } from './relay-messages.js';

export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Length of the body being received, once its header is in; -1 before. */
  #bodyBytes = -1;

  /** Bytes received and not yet returned as a body. */
  get buffered(): number {
    return this.#buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** The next complete body, or undefined until its last byte has come. Throws DecodeError for an oversized body. */
  next(): Buffer | undefined {
    if (this.#bodyBytes < 0) {
      if (this.#buffered < HEADER_BYTES) return undefined;
      const length = this.#take(HEADER_BYTES).readUInt32BE(0);
      if (length > MAX_BODY_BYTES) throw new DecodeError(`a message body of ${length} bytes, over the limit of ${MAX_BODY_BYTES}`);
      this.#bodyBytes = length;
    }
    if (this.#buffered < this.#bodyBytes) return undefined;
    const body = this.#take(this.#bodyBytes);
    this.#bodyBytes = -1;
    return body;
  }

  /** The first `n` buffered bytes, removed (a view on the first chunk when it holds them all). */
  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0]!;
      const part = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}
