// The relay server's listening socket, `source/relay-server/tcp_server` (an autonomous source in its own
// worker). Every accepted connection is handled on this thread, where its socket lives (a socket cannot move
// to another thread), and once its client has greeted, gets a run-time source of its own on this thread,
// `source/relay-server/client-<name>` (client-source.ts), through which its points go out and which pauses,
// resumes or stops that client alone. Pausing the listener pauses every client. Worker thread.

import { createServer, type Server } from 'node:net';
import { defineAutonomousSource, parseDuration } from '../../protocol/element-api.js';
import { formatSocketAddress, parseSocketAddress, type SocketAddress } from '../shared/socket-address.js';
import type { ClientSourceConfig } from './client-source.js';
import type { RelayServerConfig } from './config.js';
import { RelayConnection, connections, type ConnectionOptions } from './connection.js';

const CLIENT_SOURCE = new URL('./client-source.js', import.meta.url).href;
/** Longest client name kept in an element name. */
const MAX_NAME = 64;

export default defineAutonomousSource<RelayServerConfig>(async (config, ctx) => {
  const address = parseSocketAddress(config.address, 0) as SocketAddress; // the plugin's check has refused anything else
  const server = createServer({ allowHalfOpen: true, noDelay: true });
  await listen(server, address, config.address);
  const bound = server.address();
  ctx.log.info(`${ctx.name} listening on ${typeof bound === 'object' && bound !== null ? formatSocketAddress({ host: bound.address, port: bound.port }) : config.address}`);

  const live = new Set<RelayConnection>();
  /** The element names of live clients: two clients of one name get `client-<name>` and `client-<name>-2`. */
  const names = new Set<string>();
  let started = false;
  let paused = false;
  const options: ConnectionOptions = {
    listenerName: ctx.name,
    log: ctx.log,
    frameTimeoutMs: Number(parseDuration(config.frame_timeout) / 1_000_000n),
    greeted(connection, clientName) {
      const base = `client-${clientName.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, MAX_NAME) || '_'}`;
      let element = base;
      for (let n = 2; names.has(element); n++) element = `${base}-${n}`;
      names.add(element);
      connection.element = element;
      connections.set(connection.id, connection);
      const spec: ClientSourceConfig = { connection: connection.id };
      ctx.runtime.add({ element, module: CLIENT_SOURCE, config: spec, sameThread: true });
      ctx.log.info(`${ctx.name}: client ${connection.peer} (${JSON.stringify(clientName)}) connected: its points come from source/relay-server/${element}`);
    },
    closed(connection) {
      live.delete(connection);
      if (connection.element !== undefined) names.delete(connection.element);
      connections.delete(connection.id);
    },
  };
  // Clients that connect before the pipeline runs wait, unread, until it does.
  server.on('connection', (socket) => live.add(new RelayConnection(socket, options, !started || paused)));
  const setPaused = (p: boolean): void => {
    paused = p;
    for (const c of live) c.setListenerPaused(!started || paused);
  };

  return {
    start(out) {
      server.on('error', (e) => out.fail(e));
      started = true;
      setPaused(paused);
    },
    pause: () => setPaused(true),
    resume: () => setPaused(false),
    async close() {
      server.close();
      await Promise.all([...live].map((c) => c.finish()));
    },
  };
});

function listen(server: Server, address: SocketAddress, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${text}: ${e.code ?? ''} ${e.message}`.replace('  ', ' '))));
    server.listen({ host: address.host, port: address.port }, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
}
