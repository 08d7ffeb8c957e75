// One HTTP sender for every push output (Prometheus remote write, InfluxDB, OTLP over HTTP). `send(body)`
// makes one attempt and says what became of it: accepted (2xx); refused for good (by default a 4xx other than
// 429: the points are dropped, the server's message logged at most once a minute); or to be tried again (by
// default 5xx and 429; no answer) after a delay that doubles with each failure in a row, honouring
// Retry-After. The counting, the backoff and the log lines are send-attempts.ts's, which other transports
// share. The output turns that into its write outcome and the agent keeps the points in the output's
// backlog meanwhile, so a sender never waits: the agent's backlog holds what an outage would otherwise
// cost. Worker thread (or any thread).
//
// Authentication (basic or bearer, each from the config or from a file read before every request, so a
// rotated secret is picked up), the caller's headers, gzip of the body, the timeout of each attempt and the
// User-Agent live here too, so every push output configures them alike. `probe` makes the same request once
// and only says what the server answered: an output's start-up check.

import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Log } from '../../protocol/element-api.js';
import { SendAttempts, type RetryLater, type SenderStats } from './send-attempts.js';

export interface HttpSenderOptions {
  /** Element name, for log lines. */
  readonly name: string;
  readonly url: string;
  readonly method?: 'POST' | 'PUT';
  /** Protocol headers and the user's, sent with every request. */
  readonly headers: Readonly<Record<string, string>>;
  readonly userAgent: string;
  /** Compress each body with gzip (`Content-Encoding: gzip`), in the thread pool of libuv. */
  readonly gzip?: boolean;
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
  /** Which non-2xx statuses are worth another attempt (default `isRetryable`); the others are refused for good. */
  readonly retryable?: (status: number) => boolean;
  /** The message of an error answer's body (default: the body as text), for a protocol that encodes it. */
  readonly errorMessage?: (body: Uint8Array, contentType: string | null) => string;
}

/** What became of one attempt. */
export type SendOutcome =
  /** `response` is the body of the answer (OTLP carries partial success there). */
  | { readonly accepted: true; readonly response: Uint8Array }
  /** Refused for good: its points are dropped. */
  | { readonly accepted: false; readonly status: number; readonly message: string }
  /** Not taken: send the same body again after `retryAfterMs`. */
  | RetryLater;

/** Statuses worth another attempt: server errors and 429 Too Many Requests. */
export function isRetryable(status: number): boolean {
  return status >= 500 || status === 429;
}

const MAX_MESSAGE = 512;
const gzipAsync = promisify(gzip);

/** What one request came to, before the sender decides what it means. */
type Answer = { readonly ok: true; readonly body: Uint8Array } | { readonly ok: false; readonly status: number; readonly message: string; readonly retryAfter: string | null } | { readonly ok: false; readonly error: string };

export class HttpSender {
  readonly #o: HttpSenderOptions;
  readonly #closing = new AbortController();
  readonly #attempts: SendAttempts;

  constructor(options: HttpSenderOptions) {
    this.#o = options;
    this.#attempts = new SendAttempts({ ...options, target: options.url });
  }

  get stats(): SenderStats {
    return this.#attempts.stats;
  }

  /** Aborts the request in progress, if any (its outcome is then a retry). */
  close(): void {
    this.#closing.abort();
  }

  /**
   * Makes one request with `body` and says what the server answered, without counting, logging or backoff:
   * undefined when it accepted it, else the status and message (`HTTP 401: unauthorized`) or why no answer
   * came (`ECONNREFUSED (…)`). Never rejects.
   */
  async probe(body: Uint8Array): Promise<string | undefined> {
    const answer = await this.#request(body);
    return answer.ok ? undefined : describeAnswer(answer);
  }

  /** Makes one attempt at POSTing `body`; never rejects. */
  async send(body: Uint8Array): Promise<SendOutcome> {
    const answer = await this.#request(body);
    if (answer.ok) {
      this.#attempts.accepted();
      return { accepted: true, response: answer.body };
    }
    const failure = describeAnswer(answer);
    let retryAfter = 0;
    if ('status' in answer) {
      if (!(this.#o.retryable ?? isRetryable)(answer.status)) {
        this.#attempts.refused(failure);
        return { accepted: false, status: answer.status, message: answer.message };
      }
      retryAfter = retryAfterMs(answer.retryAfter, this.#o.maxBackoffMs * 6);
    }
    return this.#attempts.retry(failure, retryAfter);
  }

  async #request(body: Uint8Array): Promise<Answer> {
    try {
      const headers = this.#headers();
      if (this.#o.gzip === true) {
        body = await gzipAsync(body);
        headers['Content-Encoding'] = 'gzip';
      }
      const res = await fetch(this.#o.url, {
        method: this.#o.method ?? 'POST',
        headers,
        body,
        signal: AbortSignal.any([this.#closing.signal, AbortSignal.timeout(this.#o.timeoutMs)]),
      });
      if (res.ok) return { ok: true, body: new Uint8Array(await res.arrayBuffer()) };
      return { ok: false, status: res.status, message: await readMessage(res, this.#o.errorMessage), retryAfter: res.headers.get('retry-after') };
    } catch (e) {
      return { ok: false, error: this.#closing.signal.aborted ? 'sender closed' : describeFetchError(e, this.#o.timeoutMs) };
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
}

/** A file holding a secret: its content without the trailing line break. */
function readSecret(path: string): string {
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

function describeAnswer(answer: Exclude<Answer, { ok: true }>): string {
  if ('error' in answer) return answer.error;
  return `HTTP ${answer.status}${answer.message ? `: ${answer.message}` : ''}`;
}

async function readMessage(res: Response, decode?: HttpSenderOptions['errorMessage']): Promise<string> {
  try {
    const text = (decode === undefined ? await res.text() : decode(new Uint8Array(await res.arrayBuffer()), res.headers.get('content-type'))).trim();
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
  // fetch's own refusals (a port browsers block, say) come as a cause with a message and no code.
  return cause?.message ?? err.message ?? String(e);
}
