// Gzips a file into another, a few MiB at a time (csv output worker). Each chunk becomes one gzip member;
// gzip, zcat and Node's zlib read concatenated members as one stream, and memory stays bounded whatever the
// file's size, with no event-loop turn in between (the output's rotation is synchronous).

import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const CHUNK_BYTES = 4 << 20;

export function gzipFileSync(from: string, to: string): void {
  const input = openSync(from, 'r');
  try {
    const output = openSync(to, 'w');
    try {
      const buf = Buffer.allocUnsafe(CHUNK_BYTES);
      for (;;) {
        const n = readSync(input, buf, 0, CHUNK_BYTES, null);
        if (n === 0) break;
        const packed = gzipSync(buf.subarray(0, n));
        let done = 0;
        while (done < packed.length) done += writeSync(output, packed, done, packed.length - done);
      }
    } finally {
      closeSync(output);
    }
  } finally {
    closeSync(input);
  }
}
