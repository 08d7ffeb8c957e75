// The opentelemetry output element (worker thread): each write is one OTLP ExportMetricsServiceRequest, over
// gRPC or as protobuf over HTTP. The agent gathers the points into writes of at most `max_points_per_write`
// (a smaller one once its oldest point has waited `flush_interval`) and keeps them in the output's backlog,
// up to `max_backlog_points`, while the collector is unavailable: the write then asks to be tried again after
// the exporter's backoff, and the sources go on measuring. A request refused for good is dropped (logged at
// most once a minute) and its points counted `dropped_rejected`, as are the points a partial success refuses.

import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { defineOutput, parseDuration, type Batch, type ElementContext, type Output, type OutputBatching, type WriteOutcome } from '../../protocol/element-api.js';
import { HttpSender, type SendOutcome } from '../shared/http-sender.js';
import { RareLog, type SenderStats } from '../shared/send-attempts.js';
import type { OpenTelemetryConfig } from './config.js';
import { RequestEncoder } from './encode.js';
import { GrpcExporter } from './grpc-exporter.js';
import { errorMessage } from './rpc-status.js';
import { PLUGIN_VERSION } from './version.js';

export const USER_AGENT = `alumet-ts-opentelemetry/${PLUGIN_VERSION}`;
/** Where OTLP/HTTP receivers take metrics, below the collector's base URL. */
export const HTTP_METRICS_PATH = '/v1/metrics';
/** OTLP/HTTP statuses worth another attempt; every other 4xx and 5xx is final. */
const HTTP_RETRYABLE = new Set([429, 502, 503, 504]);

/** One attempt at exporting an encoded request, whatever the transport. */
interface Exporter {
  send(body: Uint8Array): Promise<SendOutcome>;
  close(): void;
  readonly stats: SenderStats;
}

const ms = (d: string): number => Number(parseDuration(d) / 1_000_000n);

/** The URL OTLP/HTTP posts to: the collector's, without a trailing `/`, then `/v1/metrics`. */
export function httpMetricsUrl(collectorHost: string): string {
  return collectorHost.replace(/\/+$/, '') + HTTP_METRICS_PATH;
}

export class OpenTelemetryOutput implements Output {
  readonly batching: OutputBatching;
  readonly #exporter: Exporter;
  readonly #encoder: RequestEncoder;
  readonly #ctx: ElementContext;
  readonly #partialRefusals: RareLog;
  /** Points the collector accepted. */
  acceptedPoints = 0;
  /** Points the collector refused (a whole request, or part of one): dropped. */
  rejectedPoints = 0;

  constructor(config: OpenTelemetryConfig, ctx: ElementContext) {
    this.#ctx = ctx;
    this.batching = { maxPoints: config.max_points_per_write, flushIntervalMs: ms(config.flush_interval), backlogPoints: config.max_backlog_points };
    const common = {
      name: ctx.name,
      userAgent: USER_AGENT,
      timeoutMs: Math.max(1, ms(config.timeout)),
      minBackoffMs: Math.max(1, ms(config.min_backoff)),
      maxBackoffMs: Math.max(1, ms(config.max_backoff)),
      log: ctx.log,
    };
    if (config.protocol === 'grpc') this.#exporter = new GrpcExporter({ ...common, url: config.collector_host, headers: config.headers });
    else {
      if (new URL(config.collector_host).port === '4317') {
        ctx.log.warn(`${ctx.name}: protocol is http/protobuf but collector_host ${config.collector_host} has port 4317, the OTLP/gRPC port; an OTLP/HTTP receiver listens on 4318 by default`);
      }
      this.#exporter = new HttpSender({
        ...common,
        url: httpMetricsUrl(config.collector_host),
        headers: { ...config.headers, 'Content-Type': 'application/x-protobuf' },
        retryable: (status) => HTTP_RETRYABLE.has(status),
        errorMessage,
      });
    }
    this.#encoder = new RequestEncoder(
      {
        prefix: config.prefix,
        suffix: config.suffix,
        useUnitDisplayName: config.use_unit_display_name,
        addAttributesToLabels: config.add_attributes_to_labels,
        version: PLUGIN_VERSION,
      },
      ctx.metrics,
    );
    this.#partialRefusals = new RareLog(ctx.log);
  }

  get exporter(): Exporter {
    return this.#exporter;
  }

  /** Exports the batch's points (one data point each) in one request. */
  async write(batch: Batch): Promise<WriteOutcome> {
    const outcome = await this.#exporter.send(this.#encoder.encode(batch));
    if ('retryAfterMs' in outcome) return outcome;
    const rejected = outcome.accepted ? this.#partiallyRejected(outcome.response, batch.length) : batch.length;
    this.acceptedPoints += batch.length - rejected;
    this.rejectedPoints += rejected;
    return { rejected };
  }

  /**
   * The data points a successful answer says were refused (`partial_success.rejected_data_points`, at most the
   * request's), logged with the collector's message at most once a minute; a message alone (the collector's
   * warning) is logged the same way.
   */
  #partiallyRejected(response: Uint8Array, points: number): number {
    let rejected = 0;
    let message = '';
    try {
      const partial = ProtobufMetricsSerializer.deserializeResponse(response).partialSuccess;
      rejected = Math.min(points, Math.max(0, Number(partial?.rejectedDataPoints ?? 0)));
      message = partial?.errorMessage ?? '';
    } catch (e) {
      message = `the answer could not be read (${e instanceof Error ? e.message : String(e)}); its points are counted accepted`;
    }
    if (rejected > 0 || message !== '') {
      this.#partialRefusals.error(`${this.#ctx.name}: the collector refused ${rejected} of ${points} data points${message ? `: ${message}` : ''}`, 'partial successes');
    }
    return rejected;
  }

  /** Ends a request still in progress and logs what the collector did with the points. */
  close(): void {
    this.#exporter.close();
    const { accepted, rejected, retries } = this.#exporter.stats;
    this.#ctx.log.info(
      { accepted_points: this.acceptedPoints, rejected_points: this.rejectedPoints, accepted_requests: accepted, rejected_requests: rejected, retries },
      `${this.#ctx.name}: ${this.acceptedPoints} points accepted, ${this.rejectedPoints} refused (${rejected} whole requests), ${retries} attempts to retry`,
    );
  }
}

export default defineOutput<OpenTelemetryConfig>((config, ctx) => new OpenTelemetryOutput(config, ctx));
