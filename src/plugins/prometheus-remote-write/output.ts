// The prometheus-remote-write output element (worker thread): each write is one remote-write request. The
// agent gathers the points into writes of at most `max_samples_per_send` (a smaller one once its oldest
// point has waited `flush_interval`) and keeps them in the output's backlog, up to `max_backlog_points`,
// while the receiver is down or answers 5xx/429: the write then asks to be tried again after the sender's
// backoff, and the sources go on measuring. A request refused with another 4xx is dropped (logged at most
// once a minute) and its samples counted `dropped_rejected`.

import { defineOutput, parseDuration, type Batch, type ElementContext, type Output, type OutputBatching, type WriteOutcome } from '../../protocol/element-api.js';
import { HttpSender } from '../shared/http-sender.js';
import type { RemoteWriteConfig } from './config.js';
import { REMOTE_WRITE_HEADERS, SeriesEncoder, remoteWriteBody } from './encode.js';

export const USER_AGENT = 'alumet-ts-prometheus-remote-write/0.1.0';

const ms = (d: string): number => Number(parseDuration(d) / 1_000_000n);

export class RemoteWriteOutput implements Output {
  readonly batching: OutputBatching;
  readonly #sender: HttpSender;
  readonly #encoder: SeriesEncoder;
  readonly #ctx: ElementContext;
  /** Samples the receiver refused (4xx): dropped. */
  rejectedSamples = 0;
  /** Samples the receiver accepted. */
  acceptedSamples = 0;

  constructor(config: RemoteWriteConfig, ctx: ElementContext) {
    this.#ctx = ctx;
    this.batching = { maxPoints: config.max_samples_per_send, flushIntervalMs: ms(config.flush_interval), backlogPoints: config.max_backlog_points };
    const auth = config.basic_auth;
    this.#sender = new HttpSender({
      name: ctx.name,
      url: config.url,
      headers: { ...config.headers, ...REMOTE_WRITE_HEADERS },
      userAgent: USER_AGENT,
      timeoutMs: Math.max(1, ms(config.timeout)),
      minBackoffMs: Math.max(1, ms(config.min_backoff)),
      maxBackoffMs: Math.max(1, ms(config.max_backoff)),
      ...(auth === undefined
        ? {}
        : { basicAuth: { username: auth.username, ...(auth.password === undefined ? {} : { password: auth.password }), ...(auth.password_file === undefined ? {} : { passwordFile: auth.password_file }) } }),
      ...(config.bearer_token === undefined ? {} : { bearerToken: config.bearer_token }),
      ...(config.bearer_token_file === undefined ? {} : { bearerTokenFile: config.bearer_token_file }),
      log: ctx.log,
    });
    this.#encoder = new SeriesEncoder(
      { prefix: config.prefix, suffix: config.suffix, addAttributesToLabels: config.add_attributes_to_labels, externalLabels: config.external_labels },
      ctx.metrics,
    );
  }

  get sender(): HttpSender {
    return this.#sender;
  }

  /** Sends the batch's samples (one per point) in one request. */
  async write(batch: Batch): Promise<WriteOutcome> {
    const outcome = await this.#sender.send(remoteWriteBody(this.#encoder.series(batch)));
    if ('retryAfterMs' in outcome) return outcome;
    if (outcome.accepted) {
      this.acceptedSamples += batch.length;
      return { rejected: 0 };
    }
    this.rejectedSamples += batch.length;
    return { rejected: batch.length };
  }

  /** Ends a request still in progress and logs what the receiver did with the samples. */
  close(): void {
    this.#sender.close();
    const { accepted, rejected, retries } = this.#sender.stats;
    this.#ctx.log.info(
      { accepted_samples: this.acceptedSamples, rejected_samples: this.rejectedSamples, accepted_requests: accepted, rejected_requests: rejected, retries },
      `${this.#ctx.name}: ${this.acceptedSamples} samples accepted, ${this.rejectedSamples} refused (${rejected} requests), ${retries} attempts to retry`,
    );
  }
}

export default defineOutput<RemoteWriteConfig>((config, ctx) => new RemoteWriteOutput(config, ctx));
