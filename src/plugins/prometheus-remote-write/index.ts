// The prometheus-remote-write plugin (main thread): the checks of `[plugins.prometheus-remote-write]` (its
// keys and defaults are in config.ts) and one output element (output.ts) that pushes every measurement to a
// Prometheus remote-write receiver.

import { definePlugin, parseDuration } from '../../agent/plugin-api.js';
import { remoteWriteSchema, type RemoteWriteConfig } from './config.js';

/** Headers the protocol sets; Prometheus refuses them in its own remote_write `headers` too. */
const RESERVED_HEADERS = ['content-encoding', 'content-type', 'content-length', 'x-prometheus-remote-write-version', 'user-agent', 'authorization'];
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export default definePlugin<RemoteWriteConfig>({
  name: 'prometheus-remote-write',
  version: '0.1.0',
  config: remoteWriteSchema,
  enabledByDefault: false,
  check(cfg, problems) {
    let url: URL | undefined;
    try {
      url = new URL(cfg.url);
    } catch {
      problems.add('url', `${JSON.stringify(cfg.url)} is not a URL; expected e.g. "http://localhost:9090/api/v1/write"`);
    }
    if (url !== undefined && url.protocol !== 'http:' && url.protocol !== 'https:') problems.add('url', `must be an http:// or https:// URL, got ${JSON.stringify(cfg.url)}`);
    if (parseDuration(cfg.max_backoff) < parseDuration(cfg.min_backoff)) problems.add('max_backoff', `${cfg.max_backoff} is shorter than min_backoff (${cfg.min_backoff})`);
    for (const name of Object.keys(cfg.headers)) {
      if (RESERVED_HEADERS.includes(name.toLowerCase())) problems.add(`headers.${name}`, 'is set by the plugin (protocol headers, User-Agent, and Authorization from basic_auth or bearer_token)');
    }
    const auth = cfg.basic_auth;
    if (auth !== undefined) {
      if ((auth.password === undefined) === (auth.password_file === undefined)) problems.add('basic_auth', 'needs exactly one of password and password_file');
      if (cfg.bearer_token !== undefined || cfg.bearer_token_file !== undefined) problems.add('basic_auth', 'cannot be combined with bearer_token or bearer_token_file');
    }
    if (cfg.bearer_token !== undefined && cfg.bearer_token_file !== undefined) problems.add('bearer_token', 'set bearer_token or bearer_token_file, not both');
    for (const name of Object.keys(cfg.external_labels)) {
      if (!LABEL_NAME.test(name)) problems.add(`external_labels.${name}`, 'is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)');
      else if (name.startsWith('__')) problems.add(`external_labels.${name}`, 'label names starting with "__" are reserved by Prometheus');
    }
  },
  start(cfg, ctx) {
    ctx.output('remote-write', new URL('./output.js', import.meta.url), cfg);
  },
});
