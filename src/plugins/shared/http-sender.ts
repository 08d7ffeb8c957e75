// One retrying HTTP sender for every push output (Prometheus remote write today; InfluxDB and OTLP later).
// `send(body)` POSTs one request and settles only when the server has accepted it (2xx) or refused it for
// good (a 4xx other than 429): server errors (5xx), 429 and network errors are retried with exponential
// backoff (honouring Retry-After), for as long as it takes, until `close()`. Worker thread (or any thread).
//
// Authentication (basic or bearer, each from the config or from a file read before every request, so a
// rotated secret is picked up), the caller's headers, the timeout of each attempt and the User-Agent live
// here too, so every push output configures them alike.

import { readFileSync } from 'node:fs';
import type { Log } from '../../protocol/element-api.js';

export interface HttpSenderOptions {
  /** Element name, for log lines. */
  readonly name: string;
  readonly url: string;
  readonly method?: 'POST' | 'PUT';
  /** Protocol headers and the user's, sent with every request. */
  readonly headers: Readonly<Record<string, string>>;
  readonly userAgent: string;
  /** Limit of one attempt (connect, send, answer), ms. */
  readonly timeoutMs: number;
  /** First wait after a failed attempt, doubled after each one up to `maxBackoffMs`. */
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly basicAuth?: { readonly username: string; readonly password?: string; readonly passwordFile?: string };
  readonly bearerToken?: string;
  readonly bearerTokenFile?: string;
  readonly log: Log;
  /** Minimum time between two log lines about refused requests (default one minute). */
  readonly rejectLogIntervalMs?: number;
}

/** How a request ended: accepted, or refused by the server for good (its samples are dropped). */
export type SendOutcome =
  | { readonly accepted: true; readonly attempts: number }
  | { readonly accepted: false; readonly attempts: number; readonly status: number; readonly message: string };

/** What the sender did so far, for tests and status. */
export interface SenderStats {
  /** Requests the server accepted. */
  accepted: number;
  /** Requests the server refused for good. */
  rejected: number;
  /** Attempts that failed and were tried again. */
  retries: number;
  /** The last failure (retried or refused), or undefined. */
  lastError: string | undefined;
}

/** Thrown by `send` once the sender is closed: the request was not accepted. */
export class SenderClosed extends Error {
  override readonly name = 'SenderClosed';
}

/** Statuses worth another attempt: server errors and 429 Too Many Requests. */
export function isRetryable(status: number): boolean {
  return status >= 500 || status === 429;
}

const MAX_MESSAGE = 512;

export class HttpSender {
  readonly #o: HttpSenderOptions;
  readonly #closing = new AbortController();
  readonly stats: SenderStats = { accepted: 0, rejected: 0, retries: 0, lastError: undefined };
  #lastRejectLog = -Infinity;
  #rejectsNotLogged = 0;
  /** The streak of failed attempts being retried (logged once when it starts, once when it ends). */
  #failing = false;

  constructor(options: HttpSenderOptions) {
    this.#o = options;
  }

  get closed(): boolean {
    return this.#closing.signal.aborted;
  }

  /** Stops every retry: a `send` in progress rejects with SenderClosed. */
  close(): void {
    this.#closing.abort();
  }

  /** POSTs `body` until the server accepts it or refuses it for good; rejects only with SenderClosed. */
  async send(body: Uint8Array): Promise<SendOutcome> {
    let backoff = this.#o.minBackoffMs;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new SenderClosed(`${this.#o.name}: sender closed before ${this.#o.url} accepted the request`);
      let failure: string;
      let wait = backoff;
      try {
        const res = await fetch(this.#o.url, {
          method: this.#o.method ?? 'POST',
          headers: this.#headers(),
          body,
          signal: AbortSignal.any([this.#closing.signal, AbortSignal.timeout(this.#o.timeoutMs)]),
        });
        const text = res.ok ? (await res.arrayBuffer(), '') : await readMessage(res);
        if (res.ok) {
          this.stats.accepted++;
          if (this.#failing) {
            this.#failing = false;
            this.#o.log.info(`${this.#o.name}: ${this.#o.url} accepts requests again (after ${attempt} attempts)`);
          }
          return { accepted: true, attempts: attempt };
        }
        failure = `HTTP ${res.status}${text ? `: ${text}` : ''}`;
        if (!isRetryable(res.status)) {
          this.stats.rejected++;
          this.stats.lastError = failure;
          this.#logRejection(failure);
          return { accepted: false, attempts: attempt, status: res.status, message: text };
        }
        wait = Math.max(backoff, retryAfterMs(res.headers.get('retry-after'), this.#o.maxBackoffMs * 6));
      } catch (e) {
        if (this.closed) continue; // reported at the top of the loop
        failure = describeFetchError(e, this.#o.timeoutMs);
      }
      this.stats.retries++;
      this.stats.lastError = failure;
      if (!this.#failing) {
        this.#failing = true;
        this.#o.log.warn(`${this.#o.name}: ${this.#o.url}: ${failure}; retrying with backoff (up to ${this.#o.maxBackoffMs} ms between attempts)`);
      } else this.#o.log.debug({ attempt, wait }, `${this.#o.name}: ${failure}; retrying`);
      await sleep(wait, this.#closing.signal);
      backoff = Math.min(backoff * 2, this.#o.maxBackoffMs);
    }
  }

  #headers(): Record<string, string> {
    const h: Record<string, string> = { ...this.#o.headers, 'User-Agent': this.#o.userAgent };
    const basic = this.#o.basicAuth;
    if (basic !== undefined) {
      const password = basic.passwordFile !== undefined ? readSecret(basic.passwordFile) : (basic.password ?? '');
      h['Authorization'] = `Basic ${Buffer.from(`${basic.username}:${password}`).toString('base64')}`;
    } else if (this.#o.bearerTokenFile !== undefined) h['Authorization'] = `Bearer ${readSecret(this.#o.bearerTokenFile)}`;
    else if (this.#o.bearerToken !== undefined) h['Authorization'] = `Bearer ${this.#o.bearerToken}`;
    return h;
  }

  #logRejection(failure: string): void {
    const now = performance.now();
    if (now - this.#lastRejectLog < (this.#o.rejectLogIntervalMs ?? 60_000)) {
      this.#rejectsNotLogged++;
      return;
    }
    const more = this.#rejectsNotLogged > 0 ? ` (and ${this.#rejectsNotLogged} more refused requests since the last message)` : '';
    this.#o.log.error(`${this.#o.name}: ${this.#o.url} refused a request, its points are dropped: ${failure}${more}`);
    this.#lastRejectLog = now;
    this.#rejectsNotLogged = 0;
  }
}

/** A file holding a secret: its content without the trailing line break. */
function readSecret(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

async function readMessage(res: Response): Promise<string> {
  try {
    const text = (await res.text()).trim();
    return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
  } catch {
    return '';
  }
}

/** Retry-After as seconds or an HTTP date, in ms, at most `cap`; 0 when absent or unreadable. */
export function retryAfterMs(value: string | null, cap: number): number {
  if (value === null) return 0;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, cap) : 0;
}

function describeFetchError(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const cause = err.cause;
  if (cause?.code !== undefined) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return err.message ?? String(e);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
