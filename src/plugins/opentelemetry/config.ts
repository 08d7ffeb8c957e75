// The opentelemetry plugin's `[plugins.opentelemetry]` keys and defaults: the Rust plugin's five, then ours
// (transport, headers, batching, backoff). Imported by the definition (main thread) and, as a type only, by
// the output element (worker thread).

import { t, type Infer } from '../../agent/plugin-api.js';

export const PROTOCOLS = ['grpc', 'http/protobuf'] as const;

export const openTelemetrySchema = t.table({
  /** The collector: `http://host:port` (or `https://`). gRPC calls go to it; HTTP posts to it + `/v1/metrics`. */
  collector_host: t.string('http://localhost:4317', { nonEmpty: true }),
  /** Written before each metric name. */
  prefix: t.string(''),
  /** Written after each metric name. */
  suffix: t.string('_alumet'),
  /** The unit of each metric as its display name (`ms`, `°C`) rather than its unique name (`millis`, `Cel`). */
  use_unit_display_name: t.bool(true),
  /** Each attribute of a point becomes a data-point attribute. */
  add_attributes_to_labels: t.bool(true),
  /** OTLP transport: gRPC (the Rust plugin's) or protobuf over HTTP. */
  protocol: t.oneOf(PROTOCOLS, 'grpc'),
  /** Extra headers of every request (gRPC metadata with `grpc`). */
  headers: t.map(t.string(''), {}),
  /** Limit of one export call (connect, send, answer); a call that takes longer is retried. */
  timeout: t.duration('10s', { min: '1ms', max: '24d' }),
  /** Points per export request at most; the agent gathers points into requests of this size. */
  max_points_per_write: t.int(5000, { min: 1, max: 1_000_000 }),
  /** Longest a point waits for its request to fill up before a smaller request is sent. */
  flush_interval: t.duration('1s', { min: '1ms', max: '24d' }),
  /** Points kept while the collector is unavailable; beyond it the oldest are dropped (`dropped_backlog`). */
  max_backlog_points: t.int(1_000_000, { min: 1 }),
  /** First wait after a failed export, doubled after each failure… */
  min_backoff: t.duration('100ms', { min: '1ms', max: '24d' }),
  /** …up to this. */
  max_backoff: t.duration('5s', { min: '1ms', max: '24d' }),
});

/** `[plugins.opentelemetry]` with its defaults filled in; the output element gets it as it is. */
export type OpenTelemetryConfig = Infer<typeof openTelemetrySchema>;
