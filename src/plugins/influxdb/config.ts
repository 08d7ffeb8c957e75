// The influxdb plugin's `[plugins.influxdb]` keys and defaults, and the config type its output element
// receives. The first seven keys are the Rust plugin's, with its defaults; the others are ours. Imported by
// the definition (main thread) and, as a type only, by the output element (worker thread).

import { t, type Infer } from '../../agent/plugin-api.js';

export const influxSchema = t.table({
  /** The server's base URL; `/api/v2/write` (or `/write` for `api = "v1"`) is appended. */
  host: t.string('http://localhost:8086', { nonEmpty: true }),
  /** API token, sent as `Authorization: Token …` (v2). */
  token: t.string('FILL ME'),
  /** Organisation of the bucket (v2). */
  org: t.string('FILL ME'),
  /** Bucket the points go to (v2). */
  bucket: t.string('FILL ME'),
  /** Where attributes go by default: fields (the Rust default) or tags. */
  attributes_as: t.oneOf(['field', 'tag'], 'field'),
  /** Attributes written as tags although `attributes_as = "field"`. */
  attributes_as_tags: t.optional(t.list(t.string(''), [])),
  /** Attributes written as fields although `attributes_as = "tag"`. */
  attributes_as_fields: t.optional(t.list(t.string(''), [])),
  /** `"v2"`: `/api/v2/write` with org, bucket and token (InfluxDB 2, 3, 1.8+); `"v1"`: `/write` with database (InfluxDB 1.x). */
  api: t.oneOf(['v2', 'v1'], 'v2'),
  /** Database of the points (v1). */
  database: t.optional(t.string('', { nonEmpty: true })),
  /** Retention policy of the points (v1; the database's default one when absent). */
  retention_policy: t.optional(t.string('', { nonEmpty: true })),
  /** User of HTTP basic authentication (v1). */
  username: t.optional(t.string('', { nonEmpty: true })),
  /** Its password (v1). */
  password: t.optional(t.string('')),
  /** Compress each request with gzip. */
  gzip: t.bool(false),
  /** Limit of one request (connect, send, answer); a request that takes longer is retried. */
  timeout: t.duration('30s', { min: '1ms' }),
  /** Points per request at most (lines of line protocol); the agent gathers points into requests of this size. */
  max_points_per_write: t.int(5000, { min: 1, max: 1_000_000 }),
  /** Longest a point waits for its request to fill up before a smaller request is sent. */
  flush_interval: t.duration('1s', { min: '1ms', max: '24d' }),
  /** Points kept while the server is unavailable; beyond it the oldest are dropped (`dropped_backlog`). */
  max_backlog_points: t.int(1_000_000, { min: 1 }),
  /** First wait after a failed request, doubled after each failure… */
  min_backoff: t.duration('100ms', { min: '1ms' }),
  /** …up to this. */
  max_backoff: t.duration('5s', { min: '1ms' }),
});

/** `[plugins.influxdb]` with its defaults filled in; the output element gets it as it is. */
export type InfluxConfig = Infer<typeof influxSchema>;
