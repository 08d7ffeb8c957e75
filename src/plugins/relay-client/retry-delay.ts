// The relay client's wait between failed attempts (worker thread): `initial_delay`, doubled after each
// failure in a row up to `max_delay`, as the Rust client's. Where the Rust client gives up after
// `max_times` retries and its output fails, this one says so once and goes on every `max_delay`: the
// agent's bounded backlog holds the points meanwhile. One warning when failures start, one info line when
// they end. (Minimal on purpose: the push outputs' shared backoff may replace it.)

import type { Log, WriteOutcome } from '../../protocol/element-api.js';

export interface RetryDelayOptions {
  /** Element name, for log lines. */
  readonly name: string;
  readonly initialMs: number;
  readonly maxMs: number;
  readonly maxTimes: number;
  readonly log: Log;
}

export class RetryDelay {
  readonly #o: RetryDelayOptions;
  #failuresInARow = 0;

  constructor(options: RetryDelayOptions) {
    this.#o = options;
  }

  /** An attempt failed: the write outcome that asks the agent to try again after the delay. */
  failed(error: string): WriteOutcome {
    const n = this.#failuresInARow++;
    const wait = Math.min(this.#o.initialMs * 2 ** Math.min(n, 52), this.#o.maxMs);
    if (n === 0) this.#o.log.warn(`${this.#o.name}: ${error}; the points are kept and sent again (retry.initial_delay ${this.#o.initialMs} ms, doubled up to retry.max_delay ${this.#o.maxMs} ms)`);
    else if (n === this.#o.maxTimes) {
      this.#o.log.error(`${this.#o.name}: ${n + 1} attempts in a row failed (retry.max_times = ${this.#o.maxTimes}), the last: ${error}; trying again every ${this.#o.maxMs} ms, the backlog holding the points`);
    } else this.#o.log.debug({ attempt: n + 1, wait }, `${this.#o.name}: ${error}; retrying`);
    return { retryAfterMs: wait, error };
  }

  /** An attempt succeeded: the next failure starts from the initial delay again. */
  succeeded(server: string): void {
    if (this.#failuresInARow > 0) this.#o.log.info(`${this.#o.name}: sending to ${server} again (after ${this.#failuresInARow} failed attempts)`);
    this.#failuresInARow = 0;
  }
}
