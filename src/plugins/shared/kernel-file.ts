// A kernel file (/proc, /sys) kept open and read again from offset 0 on every poll, into one reused buffer.
// Runs in source workers (procfs' system sources, rapl). Opening the file once matters at high poll rates: a
// read is two syscalls, not four.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const INITIAL_BUFFER_BYTES = 16 * 1024;

function describeOpenError(path: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new Error(`${path} does not exist (it vanished or was never there); the source cannot read without it`);
  if (code === 'EACCES' || code === 'EPERM') return new Error(`${path}: permission denied; the agent's user must be able to read it`);
  return new Error(`${path}: cannot open: ${(e as Error).message}`);
}

export class KernelFile {
  readonly path: string;
  #fd: number;
  #buf: Buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
  #reopenEachRead = false;
  #onFallback: ((cause: Error) => void) | undefined;
  #readSync: typeof readSync;

  /**
   * Opens `path` now, so a missing file is reported when the source is created. `onFallback` hears of the
   * switch to reopening on every read; `read` replaces fs.readSync (tests simulate the broken kernels).
   */
  constructor(path: string, onFallback?: (cause: Error) => void, read: typeof readSync = readSync) {
    this.path = path;
    this.#onFallback = onFallback;
    this.#readSync = read;
    this.#fd = this.#open();
  }

  /** The whole file as text (the /proc files read here are ASCII). */
  read(): string {
    if (this.#reopenEachRead) {
      this.#reopen();
      return this.#readAll(false);
    }
    // A regular file (a test tree) that was deleted or replaced stays readable through the old descriptor:
    // a link count of 0 says so, and the path is opened again (or reported missing).
    if (fstatSync(this.#fd).nlink === 0) this.#reopen();
    try {
      return this.#readAll(true);
    } catch (e) {
      // Kernel 6.14 broke seeking in some /proc files (alumet#336): from then on, read a fresh descriptor
      // from its start on every poll, as Alumet does.
      this.#reopen();
      const text = this.#readAll(false);
      this.#reopenEachRead = true;
      this.#onFallback?.(e as Error);
      return text;
    }
  }

  close(): void {
    if (this.#fd === -1) return;
    try {
      closeSync(this.#fd);
    } catch {
      // already closed: nothing to release
    }
    this.#fd = -1;
  }

  #open(): number {
    try {
      return openSync(this.path, 'r');
    } catch (e) {
      throw describeOpenError(this.path, e);
    }
  }

  #reopen(): void {
    this.close();
    this.#fd = this.#open();
  }

  #readAll(positional: boolean): string {
    let total = 0;
    for (;;) {
      if (total === this.#buf.length) {
        const bigger = Buffer.allocUnsafe(this.#buf.length * 2);
        this.#buf.copy(bigger, 0, 0, total);
        this.#buf = bigger;
      }
      const n = this.#readSync(this.#fd, this.#buf, total, this.#buf.length - total, positional ? total : null);
      if (n === 0) break;
      total += n;
    }
    return this.#buf.toString('latin1', 0, total);
  }
}
