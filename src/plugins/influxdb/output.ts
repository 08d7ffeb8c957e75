// The influxdb output element (worker thread): each write is one request of line protocol to InfluxDB's v2
// API (`/api/v2/write`, the Rust plugin's) or v1 API (`/write`). The agent gathers the points into writes of
// at most `max_points_per_write` (a smaller one once its oldest point has waited `flush_interval`) and keeps
// them in the output's backlog, up to `max_backlog_points`, while the server is down or answers 5xx/429: the
// write then asks to be tried again after the sender's backoff, and the sources go on measuring. At creation
// an empty write checks the address, the credentials and the bucket or database, and a failure says what the
// server answered.

import { defineOutput, parseDuration, type Batch, type ElementContext, type Output, type OutputBatching, type WriteOutcome } from '../../protocol/element-api.js';
import { HttpSender } from '../shared/http-sender.js';
import type { InfluxConfig } from './config.js';
import { LineEncoder, type NoteKind, type Written } from './line-protocol.js';

export const USER_AGENT = 'alumet-ts-influxdb/0.1.0';

const ms = (d: string): number => Number(parseDuration(d) / 1_000_000n);

/** What a warning adds, once per output, the first time a write meets each case. */
const CONSEQUENCE: Readonly<Record<NoteKind, string>> = {
  'not-finite': 'points with a NaN or infinite value are not written (counted dropped_rejected)',
  'beyond-i64': 'points with a u64 beyond 2^63 - 1 are not written (counted dropped_rejected)',
  'rewritten-name': 'a line break in a name is written as \\n and a final backslash is left out (line protocol cannot carry them)',
  collapsed: 'the points overwritten are counted collapsed',
};

/** The write URL and the headers of `config`'s API. */
export function endpoint(config: InfluxConfig): { url: string; headers: Record<string, string> } {
  const base = config.host.replace(/\/+$/, '');
  const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', Accept: 'application/json' };
  if (config.api === 'v1') {
    const query = new URLSearchParams({ db: config.database ?? '' });
    if (config.retention_policy !== undefined) query.set('rp', config.retention_policy);
    query.set('precision', 'ns');
    return { url: `${base}/write?${query}`, headers };
  }
  const query = new URLSearchParams({ org: config.org, bucket: config.bucket, precision: 'ns' });
  return { url: `${base}/api/v2/write?${query}`, headers: { ...headers, Authorization: `Token ${config.token}` } };
}

/**
 * How many points InfluxDB 1.x refused of a request it stored in part (its 400 `partial write: … dropped=N`,
 * which names each line it could not parse besides); undefined for any other answer.
 */
export function refusedOfPartialWrite(message: string): number | undefined {
  const dropped = /^\{"error":"partial write: .* dropped=(\d+)"\}$/s.exec(message);
  return dropped === null ? undefined : Number(dropped[1]) + (message.split('unable to parse').length - 1);
}

export class InfluxOutput implements Output {
  readonly batching: OutputBatching;
  readonly #config: InfluxConfig;
  readonly #sender: HttpSender;
  readonly #encoder: LineEncoder;
  readonly #ctx: ElementContext;
  readonly #warned = new Set<NoteKind>();
  /** What the last accepted request held: a later point of the same series and timestamp overwrites it. */
  #previous: Written | undefined;
  /** Points the server accepted (collapsed ones included), refused (4xx), and never sent (skipped). */
  acceptedPoints = 0;
  refusedPoints = 0;
  skippedPoints = 0;
  collapsedPoints = 0;

  constructor(config: InfluxConfig, ctx: ElementContext) {
    this.#config = config;
    this.#ctx = ctx;
    this.batching = { maxPoints: config.max_points_per_write, flushIntervalMs: ms(config.flush_interval), backlogPoints: config.max_backlog_points };
    const { url, headers } = endpoint(config);
    this.#sender = new HttpSender({
      name: ctx.name,
      url,
      headers,
      userAgent: USER_AGENT,
      gzip: config.gzip,
      timeoutMs: Math.max(1, ms(config.timeout)),
      minBackoffMs: Math.max(1, ms(config.min_backoff)),
      maxBackoffMs: Math.max(1, ms(config.max_backoff)),
      ...(config.api === 'v1' && config.username !== undefined ? { basicAuth: { username: config.username, password: config.password ?? '' } } : {}),
      log: ctx.log,
    });
    this.#encoder = new LineEncoder(
      {
        attributesAs: config.attributes_as,
        asTags: new Set(config.attributes_as_tags ?? []),
        asFields: new Set(config.attributes_as_fields ?? []),
        unsigned: config.api === 'v2',
      },
      ctx.metrics,
    );
  }

  get sender(): HttpSender {
    return this.#sender;
  }

  /**
   * An empty write, as the Rust plugin makes at start: InfluxDB answers it like a real one (401 for a bad
   * token or password, 404 for an unknown bucket or database) and stores nothing.
   */
  async check(): Promise<void> {
    const failure = await this.#sender.probe(new Uint8Array(0));
    if (failure === undefined) return;
    const { url } = endpoint(this.#config);
    const keys = /^HTTP 40[13]\b/.test(failure)
      ? this.#config.api === 'v1' ? 'username and password' : 'token'
      : /^HTTP 404\b/.test(failure)
        ? this.#config.api === 'v1' ? 'database and retention_policy' : 'org and bucket (and host, if something else answers there)'
        : 'host, and that the server is running';
    throw new Error(`${this.#ctx.name}: the start-up check (an empty write to ${url}) failed: ${failure}; check ${keys}`);
  }

  /** Sends the batch as one request of line protocol. */
  async write(batch: Batch): Promise<WriteOutcome> {
    const encoded = this.#encoder.encode(batch, this.#previous);
    for (const note of encoded.notes) {
      if (this.#warned.has(note.kind)) continue;
      this.#warned.add(note.kind);
      this.#ctx.log.warn(`${this.#ctx.name}: ${note.text}; ${CONSEQUENCE[note.kind]} (warned once)`);
    }
    if (encoded.lines === 0) {
      this.skippedPoints += encoded.skipped;
      return { rejected: encoded.skipped };
    }
    const outcome = await this.#sender.send(encoded.body);
    if ('retryAfterMs' in outcome) return outcome;
    this.skippedPoints += encoded.skipped;
    const refused = outcome.accepted ? 0 : (refusedOfPartialWrite(outcome.message) ?? encoded.lines);
    this.refusedPoints += refused;
    if (refused === encoded.lines) return { rejected: batch.length };
    this.#previous = encoded.written;
    this.acceptedPoints += encoded.lines - refused;
    this.collapsedPoints += encoded.collapsed;
    return { rejected: encoded.skipped + refused, collapsed: encoded.collapsed };
  }

  /** Ends a request still in progress and logs what became of the points. */
  close(): void {
    this.#sender.close();
    const { rejected, retries } = this.#sender.stats;
    this.#ctx.log.info(
      { accepted_points: this.acceptedPoints, collapsed_points: this.collapsedPoints, refused_points: this.refusedPoints, skipped_points: this.skippedPoints, rejected_requests: rejected, retries },
      `${this.#ctx.name}: ${this.acceptedPoints} points accepted (${this.collapsedPoints} of them stored as one with another), ` +
        `${this.refusedPoints} refused (${rejected} requests), ${this.skippedPoints} not sent (NaN, infinite or too large), ${retries} attempts to retry`,
    );
  }
}

export default defineOutput<InfluxConfig>(async (config, ctx) => {
  const output = new InfluxOutput(config, ctx);
  await output.check();
  return output;
});
