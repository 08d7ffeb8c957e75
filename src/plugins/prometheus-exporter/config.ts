// The prometheus-exporter plugin's `[plugins.prometheus-exporter]` keys and defaults: the Rust plugin's five,
// plus `series_ttl` and `path`. Imported by the definition (main thread) and, as a type only, by the output
// element (worker thread).

import { t, type Infer } from '../../agent/plugin-api.js';

export const exporterSchema = t.table({
  /** IP address to listen on (an IP literal, as the Rust plugin requires; IPv6 in brackets or bare). */
  host: t.string('0.0.0.0', { nonEmpty: true }),
  /** TCP port of the HTTP server. */
  port: t.int(9091, { min: 1, max: 65535 }),
  /** Written before every metric name. */
  prefix: t.string(''),
  /** Written after every metric name, before the unit. */
  suffix: t.string('_alumet'),
  /** Add each point's attributes as labels (their keys sanitised). */
  add_attributes_to_labels: t.bool(true),
  /** A series that gets no point for this long is no longer exposed. */
  series_ttl: t.duration('5m', { min: '1ms' }),
  /** The HTTP path that serves the metrics; every other path is 404. */
  path: t.string('/metrics', { nonEmpty: true }),
});

/** `[plugins.prometheus-exporter]` with its defaults filled in; the output element gets it as it is. */
export type ExporterConfig = Infer<typeof exporterSchema>;
