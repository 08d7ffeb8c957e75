// The influxdb plugin (main thread): the checks of `[plugins.influxdb]` (its keys and defaults are in
// config.ts) and one output element (output.ts) that writes every measurement to InfluxDB as line protocol.

import { definePlugin, parseDuration } from '../../agent/plugin-api.js';
import { influxSchema, type InfluxConfig } from './config.js';

/** Keys that apply to one API only. */
const V2_KEYS = ['token', 'org', 'bucket'] as const;
const V1_KEYS = ['database', 'retention_policy', 'username', 'password'] as const;

export default definePlugin<InfluxConfig>({
  name: 'influxdb',
  version: '0.1.0',
  config: influxSchema,
  enabledByDefault: false,
  generatedValues: {
    attributes_as: {
      value: 'tag',
      why:
        'The Rust agent\'s default is "field": then points that differ only in an attribute (kernel_cpu_time\n' +
        'per cpu_state) have the same series and timestamp, and InfluxDB keeps only the last of them.',
    },
  },
  check(cfg, problems) {
    let url: URL | undefined;
    try {
      url = new URL(cfg.host);
    } catch {
      problems.add('host', `${JSON.stringify(cfg.host)} is not a URL; expected e.g. "http://localhost:8086"`);
    }
    if (url !== undefined && url.protocol !== 'http:' && url.protocol !== 'https:') problems.add('host', `must be an http:// or https:// URL, got ${JSON.stringify(cfg.host)}`);
    if (url?.search || url?.hash) problems.add('host', `must have no query or fragment, got ${JSON.stringify(cfg.host)}; the plugin adds the query of each API`);
    if (parseDuration(cfg.max_backoff) < parseDuration(cfg.min_backoff)) problems.add('max_backoff', `${cfg.max_backoff} is shorter than min_backoff (${cfg.min_backoff})`);
    if (cfg.api === 'v1') {
      if (cfg.database === undefined) problems.add('database', 'is needed with api = "v1" (the database the points go to)');
      // token, org and bucket have defaults: only a value other than the default shows the user set them.
      for (const key of V2_KEYS) if (cfg[key] !== 'FILL ME') problems.add(key, 'applies to api = "v2" only; with api = "v1" set database (and username and password)');
      if ((cfg.username === undefined) !== (cfg.password === undefined)) problems.add(cfg.username === undefined ? 'username' : 'password', 'username and password go together');
    } else {
      for (const key of V1_KEYS) if (cfg[key] !== undefined) problems.add(key, 'applies to api = "v1" only; with api = "v2" set token, org and bucket');
    }
  },
  start(cfg, ctx) {
    ctx.output('influxdb', new URL('./output.js', import.meta.url), cfg);
  },
});
