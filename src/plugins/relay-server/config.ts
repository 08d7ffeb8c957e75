// The relay-server plugin's `[plugins.relay-server]` keys and defaults, and the config type its elements
// receive. Imported by the definition (main thread) and, as a type only, by the elements (worker thread).

import { t, type Infer } from '../../agent/plugin-api.js';

export const relayServerSchema = t.table({
  /** Where to listen: `HOST:PORT` or `[IPv6]:PORT` (`[::]:50051`: every address, IPv4 included). */
  address: t.string('[::]:50051', { nonEmpty: true }),
  /**
   * Ours: a client that sends part of a message and then nothing for this long, or no Greet this long
   * after connecting, is disconnected (one warning).
   */
  frame_timeout: t.duration('10s', { min: '1ms', max: '24d' }),
});

/** `[plugins.relay-server]` with its defaults filled in. */
export type RelayServerConfig = Infer<typeof relayServerSchema>;
