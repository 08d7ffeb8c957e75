// The csv output's file (worker thread): writes whole rows; at `max_file_size` or `max_file_age` it becomes
// NAME.1.csv (newest is .1, as in logrotate; older ones move up, those beyond `max_files` go, gzip optional)
// and a fresh NAME.csv starts with the header. A row is never split between two files.

import { closeSync, existsSync, fstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { extname } from 'node:path';
import type { Log } from '../../protocol/element-api.js';
import { gzipFileSync } from './gzip-file.js';

export interface RotationPolicy {
  /** Bytes a file may hold before it is rotated; 0 = no limit. A single row larger than this gets a file of its own. */
  readonly maxBytes: number;
  /** Age (since the file was opened) at which it is rotated at the next write; undefined = no limit. */
  readonly maxAgeMs: number | undefined;
  /** Rotated files kept; the oldest beyond are deleted (their rows were written: they count as written). */
  readonly maxFiles: number;
  readonly compress: boolean;
}

/** How far a write got: the caller drops that many bytes from its buffer, even when the write threw. */
export interface WriteCursor {
  at: number;
}

/** `out.csv` → `out.3.csv` (`out.3.csv.gz` compressed); a path without extension gets `.3` appended. */
export function rotatedName(path: string, n: number, compressed: boolean): string {
  const ext = extname(path);
  const base = ext === '' ? path : path.slice(0, -ext.length);
  return `${base}.${n}${ext}${compressed ? '.gz' : ''}`;
}

export class RotatingFile {
  readonly #path: string;
  readonly #policy: RotationPolicy;
  readonly #headerLine: () => Buffer;
  readonly #log: Log;
  #fd: number | undefined;
  #bytes = 0;
  #openedAtMs = 0;
  /** The current file holds at least one row (a file is never rotated with its header alone). */
  #hasRows = false;
  /** A failed write stopped inside a row: its rest goes to the same file before any rotation. */
  #midRow = false;

  constructor(path: string, policy: RotationPolicy, headerLine: () => Buffer, log: Log) {
    this.#path = path;
    this.#policy = policy;
    this.#headerLine = headerLine;
    this.#log = log;
  }

  get isOpen(): boolean {
    return this.#fd !== undefined;
  }

  /** Opens the file: truncated (a fresh start) or appended to (a restart, under the header it has). */
  open(append: boolean): void {
    this.#fd = openSync(this.#path, append ? 'a' : 'w');
    this.#bytes = append ? fstatSync(this.#fd).size : 0;
    this.#hasRows = this.#bytes > 0;
    this.#openedAtMs = Date.now();
  }

  /**
   * Writes `buf[cursor.at, length)`, whole rows that end at the offsets `rowEnds` (ascending; the last one is
   * `length`), rotating between rows when the policy says so. `rowEnds` may be empty when no limit is set.
   * Moves `cursor.at` past every byte written, also when a write throws (a full disk), so a retry resumes there.
   */
  write(buf: Buffer, length: number, rowEnds: readonly number[], cursor: WriteCursor): void {
    const maxBytes = this.#policy.maxBytes;
    let r = 0;
    while (cursor.at < length) {
      while (r < rowEnds.length && rowEnds[r]! <= cursor.at) r++;
      let end = rowEnds[r] ?? length;
      if (!this.#midRow) {
        if (this.#hasRows && this.#due(end - cursor.at)) this.#rotate();
        // As many following rows as the file has room for.
        if (maxBytes > 0) while (r + 1 < rowEnds.length && this.#bytes + rowEnds[r + 1]! - cursor.at <= maxBytes) end = rowEnds[++r]!;
        else end = length;
      }
      this.#midRow = true;
      this.#writeAll(buf, cursor, end);
      this.#midRow = false;
      this.#hasRows = true;
    }
  }

  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    closeSync(fd);
  }

  #due(nextBytes: number): boolean {
    const { maxBytes, maxAgeMs } = this.#policy;
    if (maxBytes > 0 && this.#bytes + nextBytes > maxBytes) return true;
    return maxAgeMs !== undefined && Date.now() - this.#openedAtMs >= maxAgeMs;
  }

  #writeAll(buf: Buffer, cursor: WriteCursor, end: number): void {
    if (this.#fd === undefined) throw new Error(`csv: ${JSON.stringify(this.#path)} is not open for writing`);
    while (cursor.at < end) {
      const n = writeSync(this.#fd, buf, cursor.at, end - cursor.at);
      cursor.at += n;
      this.#bytes += n;
    }
  }

  #rotate(): void {
    const { maxFiles, compress } = this.#policy;
    this.close();
    const oldest = rotatedName(this.#path, maxFiles, compress);
    if (maxFiles === 0) {
      unlinkSync(this.#path);
      this.#log.info(`${this.#path}: full; deleted (max_files = 0)`);
    } else {
      if (existsSync(oldest)) {
        unlinkSync(oldest);
        this.#log.info(`${oldest}: deleted, the oldest of ${maxFiles} rotated files (max_files)`);
      }
      for (let n = maxFiles - 1; n >= 1; n--) {
        const from = rotatedName(this.#path, n, compress);
        if (existsSync(from)) renameSync(from, rotatedName(this.#path, n + 1, compress));
      }
      const newest = rotatedName(this.#path, 1, false);
      renameSync(this.#path, newest);
      if (compress) {
        gzipFileSync(newest, rotatedName(this.#path, 1, true));
        unlinkSync(newest);
      }
    }
    this.#fd = openSync(this.#path, 'w');
    this.#bytes = 0;
    this.#hasRows = false;
    this.#openedAtMs = Date.now();
    const header = this.#headerLine();
    this.#writeAll(header, { at: 0 }, header.length);
  }
}
