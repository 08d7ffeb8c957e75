// The relay-client plugin's `[plugins.relay-client]` keys and defaults (the Rust plugin's, and ours marked
// so), and the config type its output element receives. Imported by the definition (main thread) and, as a
// type only, by the output element (worker thread).

import { t, type Infer } from '../../agent/plugin-api.js';

export const relayClientSchema = t.table({
  /** The name this agent gives itself in every message (the server's `relay_client` attribute); default: the hostname. */
  client_name: t.optional(t.string('', { nonEmpty: true })),
  /** The relay server: `HOST:PORT` or `[IPv6]:PORT`. */
  relay_server: t.string('[::1]:50051', { nonEmpty: true }),
  /** Points per SendMeasurements message at most. */
  buffer_max_length: t.int(4096, { min: 1, max: 1_000_000 }),
  /** Longest a point waits for its message to fill up. */
  buffer_timeout: t.duration('30s', { min: '1ms', max: '24d' }),
  retry: t.table({
    /** Retries after a failed attempt: once they have all failed too, one error line, and attempts go on every max_delay. */
    max_times: t.int(8, { min: 0, max: 65535 }),
    /** Wait after the first failed attempt, doubled after each one… */
    initial_delay: t.duration('500ms', { min: '1ms' }),
    /** …up to this. */
    max_delay: t.duration('4s', { min: '1ms' }),
  }),
  /** Ours: points kept while the server is unreachable; beyond it the oldest are dropped (`dropped_backlog`). */
  max_backlog_points: t.int(1_000_000, { min: 1 }),
  /** Ours: limit of connecting and of the server's answer to the Greet. */
  handshake_timeout: t.duration('10s', { min: '1ms', max: '24d' }),
});

/** `[plugins.relay-client]` with its defaults filled in. */
export type RelayClientConfig = Infer<typeof relayClientSchema>;

/** What the output element gets: the config with the client name worked out. */
export type RelayOutputConfig = RelayClientConfig & { readonly client_name: string };
