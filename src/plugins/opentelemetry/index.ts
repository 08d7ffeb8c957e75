// The opentelemetry plugin (main thread): the checks of `[plugins.opentelemetry]` (its keys and defaults are
// in config.ts) and one output element (output.ts) that pushes every measurement to an OpenTelemetry
// collector over OTLP, as the Rust agent's plugin of the same name does. Disabled in a generated config: it
// needs a collector.

import { definePlugin, parseDuration, type Problems } from '../../agent/plugin-api.js';
import { openTelemetrySchema, type OpenTelemetryConfig } from './config.js';
import { PLUGIN_VERSION } from './version.js';

/** Headers the transports set themselves. */
const RESERVED_HEADERS = ['content-type', 'content-length', 'content-encoding', 'user-agent', 'te', 'host'];
/** Names that are valid both as HTTP headers and as gRPC ASCII metadata keys (which are lowercased). */
const HEADER_NAME = /^[A-Za-z0-9_.-]+$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function checkCollectorHost(cfg: OpenTelemetryConfig, problems: Problems): void {
  const example = cfg.protocol === 'grpc' ? '"http://localhost:4317"' : '"http://localhost:4318"';
  let url: URL;
  try {
    url = new URL(cfg.collector_host);
  } catch {
    problems.add('collector_host', `${JSON.stringify(cfg.collector_host)} is not a URL; expected e.g. ${example}`);
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.add('collector_host', `must be an http:// or https:// URL, got ${JSON.stringify(cfg.collector_host)}; expected e.g. ${example}`);
  else if (url.username !== '' || url.password !== '') problems.add('collector_host', 'must not hold credentials; send them in headers (e.g. headers = { Authorization = "Basic …" })');
  else if (url.search !== '' || url.hash !== '') problems.add('collector_host', `must not have a query or fragment, got ${JSON.stringify(cfg.collector_host)}`);
  else if (cfg.protocol === 'grpc' && url.pathname !== '/') problems.add('collector_host', `a gRPC collector is a host and port, without a path (got ${JSON.stringify(url.pathname)}); expected e.g. ${example}`);
}

export default definePlugin<OpenTelemetryConfig>({
  name: 'opentelemetry',
  version: PLUGIN_VERSION,
  config: openTelemetrySchema,
  enabledByDefault: false,
  check(cfg, problems) {
    checkCollectorHost(cfg, problems);
    if (parseDuration(cfg.max_backoff) < parseDuration(cfg.min_backoff)) problems.add('max_backoff', `${cfg.max_backoff} is shorter than min_backoff (${cfg.min_backoff})`);
    for (const [name, value] of Object.entries(cfg.headers)) {
      const lower = name.toLowerCase();
      if (!HEADER_NAME.test(name)) problems.add(`headers.${name}`, 'is not a valid header name: use letters, digits, "-", "_" and "."');
      else if (RESERVED_HEADERS.includes(lower) || lower.startsWith('grpc-')) problems.add(`headers.${name}`, 'is set by the transport (content type and length, User-Agent, and the grpc-* headers)');
      else if (lower.endsWith('-bin')) problems.add(`headers.${name}`, 'names a binary gRPC header, which takes no text value');
      else if (!PRINTABLE_ASCII.test(value)) problems.add(`headers.${name}`, 'the value must be printable ASCII, without line breaks');
    }
  },
  start(cfg, ctx) {
    ctx.output('out', new URL('./output.js', import.meta.url), cfg);
  },
});
