// The prometheus-remote-write plugin's `[plugins.prometheus-remote-write]` keys and defaults, and the config
// type its output element receives. Imported by the definition (main thread) and, as a type only, by the
// output element (worker thread).

import { t, type Infer } from '../../agent/plugin-api.js';

export const remoteWriteSchema = t.table({
  /** The receiver's remote-write endpoint. */
  url: t.string('http://localhost:9090/api/v1/write', { nonEmpty: true }),
  /** Limit of one request (connect, send, answer); a request that takes longer is retried. */
  timeout: t.duration('30s', { min: '1ms' }),
  /** Samples per request at most; the agent gathers points into requests of this size. */
  max_samples_per_send: t.int(2000, { min: 1, max: 1_000_000 }),
  /** Longest a point waits for its request to fill up before a smaller request is sent. */
  flush_interval: t.duration('1s', { min: '1ms', max: '24d' }),
  /** Points kept while the receiver is unavailable; beyond it the oldest are dropped (`dropped_backlog`). */
  max_backlog_points: t.int(1_000_000, { min: 1 }),
  /** First wait after a failed request, doubled after each failure… */
  min_backoff: t.duration('100ms', { min: '1ms' }),
  /** …up to this. */
  max_backoff: t.duration('5s', { min: '1ms' }),
  /** Extra HTTP headers of every request. */
  headers: t.map(t.string(''), {}),
  /** HTTP basic authentication: `username`, and `password` or `password_file`. */
  basic_auth: t.optional(
    t.table({
      username: t.string('', { nonEmpty: true }),
      password: t.optional(t.string('')),
      password_file: t.optional(t.string('', { nonEmpty: true })),
    }),
  ),
  /** `Authorization: Bearer …`. */
  bearer_token: t.optional(t.string('', { nonEmpty: true })),
  /** A file holding the bearer token, read before every request. */
  bearer_token_file: t.optional(t.string('', { nonEmpty: true })),
  /** Labels added to every series (`instance`, `job`, …) unless it has one of that name. */
  external_labels: t.map(t.string(''), {}),
  /** Written before each metric name. */
  prefix: t.string(''),
  /** Written after each metric name, before the unit. */
  suffix: t.string('_alumet'),
  /** Each attribute of a point becomes a label. */
  add_attributes_to_labels: t.bool(true),
});

/** `[plugins.prometheus-remote-write]` with its defaults filled in; the output element gets it as it is. */
export type RemoteWriteConfig = Infer<typeof remoteWriteSchema>;
