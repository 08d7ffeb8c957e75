// The relay-client plugin (main thread): one output element, `output/relay-client/tcp_client` (output.ts),
// that sends every measurement to a relay server — another agent, Rust or ours — over TCP in Alumet's
// relay protocol (version 2). Disabled in a generated config: it needs a server.

import { hostname } from 'node:os';
import { definePlugin, parseDuration } from '../../agent/plugin-api.js';
import { parseSocketAddress } from '../shared/socket-address.js';
import { relayClientSchema, type RelayClientConfig, type RelayOutputConfig } from './config.js';

export default definePlugin<RelayClientConfig>({
  name: 'relay-client',
  version: '0.6.0',
  config: relayClientSchema,
  enabledByDefault: false,
  check(config, problems) {
    const address = parseSocketAddress(config.relay_server, 1);
    if (typeof address === 'string') problems.add('relay_server', `${JSON.stringify(config.relay_server)}: ${address}`);
    if (parseDuration(config.retry.max_delay) < parseDuration(config.retry.initial_delay)) {
      problems.add('retry.max_delay', `${config.retry.max_delay} is shorter than retry.initial_delay (${config.retry.initial_delay})`);
    }
  },
  start(config, ctx) {
    const element: RelayOutputConfig = { ...config, client_name: config.client_name ?? hostname() };
    ctx.output('tcp_client', new URL('./output.js', import.meta.url), element);
  },
});
