// A one-line progress bar on stderr for reading a large file, redrawn at most five times a second. Only on a
// terminal: in a log or a pipe, carriage returns would be noise.

const BAR_WIDTH = 30;
const REDRAW_MS = 200;

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
}

export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #total: number;
  readonly #label: string;
  #lastDraw = 0;
  #drawn = false;

  private constructor(stream: NodeJS.WriteStream, total: number, label: string) {
    this.#stream = stream;
    this.#total = total;
    this.#label = label;
  }

  /** A bar for `stream` if it is a terminal, else undefined. */
  static forTerminal(stream: NodeJS.WriteStream, total: number, label: string): ProgressBar | undefined {
    return stream.isTTY === true ? new ProgressBar(stream, total, label) : undefined;
  }

  update(done: number): void {
    const now = Date.now();
    if (now - this.#lastDraw < REDRAW_MS) return;
    this.#lastDraw = now;
    const fraction = this.#total > 0 ? Math.min(1, done / this.#total) : 1;
    const filled = Math.round(fraction * BAR_WIDTH);
    this.#stream.write(`\r${this.#label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${Math.floor(fraction * 100)}% ${megabytes(done)} / ${megabytes(this.#total)}`);
    this.#drawn = true;
  }

  /** Clears the line, so what is printed next starts clean. */
  done(): void {
    if (this.#drawn) this.#stream.write('\r\x1b[K');
  }
}
