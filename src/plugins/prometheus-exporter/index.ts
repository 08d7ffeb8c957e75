// The prometheus-exporter plugin (main thread): the checks of `[plugins.prometheus-exporter]` (keys and
// defaults in config.ts) and one output element (output.ts) that serves every series over HTTP for
// Prometheus to scrape. Disabled in a generated config: it opens a port.

import { isIP } from 'node:net';
import { definePlugin } from '../../agent/plugin-api.js';
import { exporterSchema, type ExporterConfig } from './config.js';

export default definePlugin<ExporterConfig>({
  name: 'prometheus-exporter',
  version: '0.1.0',
  config: exporterSchema,
  enabledByDefault: false,
  check(cfg, problems) {
    const h = cfg.host;
    const bare = h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
    if (isIP(bare) === 0 || (h !== bare && isIP(bare) !== 6)) {
      problems.add('host', `${JSON.stringify(h)} is not an IP address; write one, such as "0.0.0.0" (every IPv4 interface), "127.0.0.1", "[::]" or "[::1]"`);
    }
    if (!cfg.path.startsWith('/') || /[?#\s]/.test(cfg.path)) problems.add('path', `${JSON.stringify(cfg.path)} is not an HTTP path; write one that starts with "/", such as "/metrics"`);
  },
  start(cfg, ctx) {
    ctx.output('prometheus-exporter', new URL('./output.js', import.meta.url), cfg);
  },
});
