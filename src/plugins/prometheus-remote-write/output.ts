// The prometheus-remote-write output element (worker thread): turns each batch into remote-write series and
// pushes them, at most `max_samples_per_send` samples per request, through the shared retrying sender.
//
// `write(batch)` resolves once the server has answered every request of the batch for good, so the agent
// counts a batch written (`points_out`) only when the receiver has it: while the receiver is down or
// answers 5xx/429 the write retries with backoff and the pipeline waits behind it (the output's inbox, then
// the sources' credit window). A request refused with another 4xx is dropped (logged at most once a minute)
// and the write goes on with the rest.

import { defineOutput, parseDuration, type Batch, type ElementContext, type Output, type WriteOutcome } from '../../protocol/element-api.js';
import { HttpSender } from '../shared/http-sender.js';
import type { RemoteWriteConfig } from './config.js';
import { REMOTE_WRITE_HEADERS, SeriesBuffer, remoteWriteBody, sampleCount } from './encode.js';

export const USER_AGENT = 'alumet-ts-prometheus-remote-write/0.1.0';

const ms = (d: string): number => Number(parseDuration(d) / 1_000_000n);

export class RemoteWriteOutput implements Output {
  readonly #config: RemoteWriteConfig;
  readonly #sender: HttpSender;
  readonly #buffer: SeriesBuffer;
  readonly #ctx: ElementContext;
  /** Samples the receiver refused (4xx): dropped. */
  rejectedSamples = 0;
  /** Samples the receiver accepted. */
  acceptedSamples = 0;

  constructor(config: RemoteWriteConfig, ctx: ElementContext) {
    this.#config = config;
    this.#ctx = ctx;
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
    this.#buffer = new SeriesBuffer(
      { prefix: config.prefix, suffix: config.suffix, addAttributesToLabels: config.add_attributes_to_labels, externalLabels: config.external_labels },
      ctx.metrics,
    );
  }

  get sender(): HttpSender {
    return this.#sender;
  }

  /** Sends the batch's samples (one per point); resolves with those the receiver refused (they are not written). */
  async write(batch: Batch): Promise<WriteOutcome> {
    this.#buffer.add(batch);
    let rejected = 0;
    while (this.#buffer.size > 0) {
      const series = this.#buffer.take(this.#config.max_samples_per_send);
      const n = sampleCount(series);
      const outcome = await this.#sender.send(remoteWriteBody(series));
      if (outcome.accepted) this.acceptedSamples += n;
      else rejected += n;
    }
    this.rejectedSamples += rejected;
    return { rejected };
  }

  /** Stops any retry still running and logs what the receiver did with the samples. */
  close(): void {
    this.#sender.close();
    const { accepted, rejected, retries } = this.#sender.stats;
    this.#ctx.log.info(
      { accepted_samples: this.acceptedSamples, rejected_samples: this.rejectedSamples, accepted_requests: accepted, rejected_requests: rejected, retries },
      `${this.#ctx.name}: ${this.acceptedSamples} samples accepted, ${this.rejectedSamples} refused (${rejected} requests), ${retries} retried attempts`,
    );
  }
}

export default defineOutput<RemoteWriteConfig>((config, ctx) => new RemoteWriteOutput(config, ctx));
