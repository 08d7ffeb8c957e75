// The relay-server plugin (main thread): receives the points of relay clients — other agents, Rust or ours —
// over TCP in Alumet's relay protocol (version 2). One autonomous source, `tcp_server` (listener.ts), and
// one run-time source per connected client (client-source.ts). Disabled in a generated config.

import { definePlugin } from '../../agent/plugin-api.js';
import { parseSocketAddress } from '../shared/socket-address.js';
import { relayServerSchema, type RelayServerConfig } from './config.js';
import { RELAY_SERVER_METRICS } from './metrics.js';

export default definePlugin<RelayServerConfig>({
  name: 'relay-server',
  version: '0.6.0',
  config: relayServerSchema,
  enabledByDefault: false,
  metrics: RELAY_SERVER_METRICS,
  check(config, problems) {
    const address = parseSocketAddress(config.address, 0);
    if (typeof address === 'string') problems.add('address', `${JSON.stringify(config.address)}: ${address}`);
  },
  start(config, ctx) {
    ctx.autonomousSource('tcp_server', new URL('./listener.js', import.meta.url), config);
  },
});
