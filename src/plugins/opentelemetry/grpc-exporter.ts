// OTLP/gRPC transport (worker thread): each `send(body)` is one unary call of
// `opentelemetry.proto.collector.metrics.v1.MetricsService/Export` carrying an already encoded
// ExportMetricsServiceRequest, and says what became of it as the HTTP sender does: accepted (with the
// response's bytes, which may report a partial success), refused for good, or to be tried again after a
// backoff. Which gRPC codes are retried follows the OTLP specification; the channel connects lazily and
// reconnects on its own, with the output's backoff bounds.

import { Client, Metadata, credentials, status, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import type { Log } from '../../protocol/element-api.js';
import type { SendOutcome } from '../shared/http-sender.js';
import { SendAttempts, type SenderStats } from '../shared/send-attempts.js';
import { retryDelayMs } from './rpc-status.js';

export const EXPORT_METHOD = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

/** Codes after which the same request may succeed later (OTLP/gRPC "Failures"); the others are final. */
const RETRYABLE = new Set<number>([status.CANCELLED, status.DEADLINE_EXCEEDED, status.ABORTED, status.OUT_OF_RANGE, status.UNAVAILABLE, status.DATA_LOSS]);

export interface GrpcExporterOptions {
  /** Element name, for log lines. */
  readonly name: string;
  /** `http://host:port` (plaintext) or `https://host:port` (TLS with the system's certificate authorities). */
  readonly url: string;
  /** The user's metadata, sent with every call. */
  readonly headers: Readonly<Record<string, string>>;
  readonly userAgent: string;
  /** Deadline of one call, ms. */
  readonly timeoutMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly log: Log;
}

/** `host:port` of a collector URL, the port defaulting to the scheme's (an IPv6 host keeps its brackets). */
export function grpcTarget(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
}

export class GrpcExporter {
  readonly #o: GrpcExporterOptions;
  readonly #client: Client;
  readonly #metadata = new Metadata();
  readonly #attempts: SendAttempts;
  /** The call in progress, cancelled by close (closing the channel alone would let it run to its deadline). */
  #inFlight: ClientUnaryCall | undefined;
  #closed = false;

  constructor(options: GrpcExporterOptions) {
    this.#o = options;
    const url = new URL(options.url);
    this.#client = new Client(grpcTarget(url), url.protocol === 'https:' ? credentials.createSsl() : credentials.createInsecure(), {
      'grpc.primary_user_agent': options.userAgent,
      // The channel's own reconnection waits follow the output's backoff, so a collector that comes back is
      // reached within max_backoff (grpc-js waits up to 2 minutes by default).
      'grpc.initial_reconnect_backoff_ms': options.minBackoffMs,
      'grpc.max_reconnect_backoff_ms': options.maxBackoffMs,
    });
    for (const [key, value] of Object.entries(options.headers)) this.#metadata.set(key, value);
    this.#attempts = new SendAttempts({ ...options, target: options.url });
  }

  get stats(): SenderStats {
    return this.#attempts.stats;
  }

  /** Closes the channel; a call in progress ends, to be retried. */
  close(): void {
    this.#closed = true;
    this.#inFlight?.cancel();
    this.#client.close();
  }

  /** Makes one Export call with `body` as the request; never rejects. */
  send(body: Uint8Array): Promise<SendOutcome> {
    return new Promise((resolve) => {
      const request = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      const callback = (error: ServiceError | null, response?: Buffer): void => {
        this.#inFlight = undefined;
        resolve(this.#outcome(error, response));
      };
      try {
        this.#inFlight = this.#client.makeUnaryRequest(EXPORT_METHOD, (b: Buffer) => b, (b: Buffer) => b, request, this.#metadata, { deadline: Date.now() + this.#o.timeoutMs }, callback);
      } catch (e) {
        // A closed channel throws instead of calling back.
        resolve(this.#attempts.retry(this.#closed ? 'exporter closed' : String(e)));
      }
    });
  }

  #outcome(error: ServiceError | null, response: Buffer | undefined): SendOutcome {
    if (error === null) {
      this.#attempts.accepted();
      return { accepted: true, response: response ?? new Uint8Array() };
    }
    const failure = `gRPC ${status[error.code] ?? error.code}${error.details ? `: ${error.details}` : ''}`;
    if (RETRYABLE.has(error.code)) return this.#attempts.retry(this.#closed ? 'exporter closed' : failure);
    // RESOURCE_EXHAUSTED is a throttle to wait out only when the server says how long (RetryInfo);
    // otherwise the request itself is too much for it, and is refused like INVALID_ARGUMENT.
    if (error.code === status.RESOURCE_EXHAUSTED) {
      const details = error.metadata?.get('grpc-status-details-bin')[0];
      const delay = details instanceof Buffer ? retryDelayMs(details) : undefined;
      // Capped as the HTTP sender caps Retry-After.
      if (delay !== undefined) return this.#attempts.retry(`${failure} (retry in ${Math.round(delay)} ms)`, Math.min(delay, this.#o.maxBackoffMs * 6));
    }
    this.#attempts.refused(failure);
    return { accepted: false, status: error.code, message: error.details };
  }
}
