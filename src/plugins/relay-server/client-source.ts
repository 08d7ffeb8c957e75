// One relay client's element, `source/relay-server/client-<name>`: a run-time autonomous source on the
// listener's thread, created once the client has greeted. Its points are those of the client's connection
// (connection.ts), which it attaches to; pausing it stops reading that client's socket (the client waits,
// nothing is lost); stopping it closes that connection in order. It ends, and is removed, when its client
// disconnects. Worker thread (the listener's).

import { defineAutonomousSource } from '../../protocol/element-api.js';
import { connections } from './connection.js';

export interface ClientSourceConfig {
  /** The connection's id on this thread. */
  readonly connection: number;
}

export default defineAutonomousSource<ClientSourceConfig>((config, ctx) => {
  const connection = connections.get(config.connection);
  return {
    start(out) {
      if (connection === undefined) out.end('its client disconnected before the element started');
      else connection.attach(out, ctx);
    },
    pause: () => connection?.setPaused(true),
    resume: () => connection?.setPaused(false),
    close: () => connection?.finish(),
  };
});
