// What became of a push sender's attempts, whatever carries them (HTTP, gRPC): the counts, the wait before the
// next attempt after a failure, and the log lines. The wait doubles with each failure in a row, from the
// minimum to the maximum backoff, or is what the server asked for when that is longer; a success starts it
// again from the minimum. One warning when failures start, one info line when they end, and refusals logged
// at most once per interval, so an outage or a misconfigured server never floods the log. Worker thread (or
// any thread).

import type { Log } from '../../protocol/element-api.js';

/** What a sender did so far, for tests and the close log line. */
export interface SenderStats {
  /** Requests the server accepted. */
  accepted: number;
  /** Requests the server refused for good. */
  rejected: number;
  /** Attempts that failed and are to be tried again. */
  retries: number;
  /** The last failure (to retry or refused), or undefined. */
  lastError: string | undefined;
}

export interface SendAttemptsOptions {
  /** Element name, for log lines. */
  readonly name: string;
  /** Where the requests go (a URL), for log lines and errors. */
  readonly target: string;
  /** First wait after a failed attempt, doubled after each one up to `maxBackoffMs`. */
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly log: Log;
  /** Minimum time between two log lines about refused requests (default one minute). */
  readonly rejectLogIntervalMs?: number;
  /** After this many failed attempts in a row, one error line says so; the attempts go on (default: none). */
  readonly errorAfterFailures?: number;
}

/** The outcome of an attempt to try again: the wait, and the error `status` shows. */
export interface RetryLater {
  readonly retryAfterMs: number;
  readonly error: string;
}

export class SendAttempts {
  readonly #o: SendAttemptsOptions;
  readonly stats: SenderStats = { accepted: 0, rejected: 0, retries: 0, lastError: undefined };
  readonly #refusals: RareLog;
  /** Failed attempts in a row (logged once when the streak starts, once when it ends); sets the backoff. */
  #failuresInARow = 0;

  constructor(options: SendAttemptsOptions) {
    this.#o = options;
    this.#refusals = new RareLog(options.log, options.rejectLogIntervalMs);
  }

  /** The server took the request. */
  accepted(): void {
    this.stats.accepted++;
    if (this.#failuresInARow > 0) {
      this.#o.log.info(`${this.#o.name}: ${this.#o.target} accepts requests again (after ${this.#failuresInARow} failed attempts)`);
      this.#failuresInARow = 0;
    }
  }

  /** The server refused the request for good: its points are dropped. */
  refused(failure: string): void {
    this.stats.rejected++;
    this.stats.lastError = failure;
    this.#refusals.error(`${this.#o.name}: ${this.#o.target} refused a request, its points are dropped: ${failure}`, 'refused requests');
  }

  /** The attempt failed and is to be made again: after the backoff, or after `serverDelayMs` if longer. */
  retry(failure: string, serverDelayMs = 0): RetryLater {
    this.stats.retries++;
    this.stats.lastError = failure;
    const backoff = Math.min(this.#o.minBackoffMs * 2 ** this.#failuresInARow, this.#o.maxBackoffMs);
    const wait = Math.max(backoff, serverDelayMs);
    if (this.#failuresInARow++ === 0) {
      this.#o.log.warn(`${this.#o.name}: ${this.#o.target}: ${failure}; the points are kept and sent again with backoff (up to ${this.#o.maxBackoffMs} ms between attempts)`);
    } else if (this.#failuresInARow === this.#o.errorAfterFailures) {
      this.#o.log.error(`${this.#o.name}: ${this.#o.target}: ${this.#failuresInARow} attempts in a row failed, the last: ${failure}; still trying, every ${this.#o.maxBackoffMs} ms`);
    } else this.#o.log.debug({ attempt: this.#failuresInARow, wait }, `${this.#o.name}: ${failure}; retrying`);
    return { retryAfterMs: wait, error: `${this.#o.target}: ${failure}` };
  }
}

/** Error lines at most once per interval; the next line that goes out says how many were held back. */
export class RareLog {
  readonly #log: Log;
  readonly #intervalMs: number;
  #lastAt = -Infinity;
  #notLogged = 0;

  constructor(log: Log, intervalMs = 60_000) {
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  /** Logs `message` unless a line went out less than the interval ago; `what` names the events counted meanwhile. */
  error(message: string, what: string): void {
    const now = performance.now();
    if (now - this.#lastAt < this.#intervalMs) {
      this.#notLogged++;
      return;
    }
    const more = this.#notLogged > 0 ? ` (and ${this.#notLogged} more ${what} since the last message)` : '';
    this.#log.error(`${message}${more}`);
    this.#lastAt = now;
    this.#notLogged = 0;
  }
}
