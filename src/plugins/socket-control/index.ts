// socket-control: the Unix-socket control server (main thread). A thin plugin: it declares the config and
// asks the agent to serve the control protocol; the server itself lives in src/control.

import { Buffer } from 'node:buffer';
import { definePlugin, t, type Schema } from '../../agent/plugin-api.js';

/** Linux's sun_path holds 108 bytes with the terminating NUL; longer paths are silently truncated. */
const MAX_SOCKET_PATH_BYTES = 107;

/** Permission bits: an octal string ("600") or a TOML octal integer (0o600). */
const mode: Schema<string> = {
  expected: 'a file mode',
  defaultValue: () => '600',
  parse(value, path, problems) {
    const text = typeof value === 'number' && Number.isInteger(value) ? value.toString(8) : value;
    if (typeof text === 'string' && parseMode(text) !== undefined) return text;
    // String(): JSON.stringify throws on the bigint a huge TOML integer becomes.
    const shown = typeof value === 'string' ? JSON.stringify(value) : value instanceof Date ? value.toISOString() : typeof value === 'object' ? 'a table or array' : String(value);
    problems.add(path, `${shown} is not a file mode; write an octal string such as "600" or "660", or 0o600`);
    return '600';
  },
};

const config = t.table({
  /** Path of the socket file; relative paths are relative to the working directory. */
  socket_path: t.string('alumet-control.sock', { nonEmpty: true }),
  /** Permission bits of the socket file. */
  socket_mode: mode,
});

function parseMode(text: string): number | undefined {
  return /^0?[0-7]{3}$/.test(text) ? parseInt(text, 8) : undefined;
}

export default definePlugin({
  name: 'socket-control',
  version: '0.3.0',
  config,
  enabledByDefault: true,
  check(cfg, problems) {
    const bytes = Buffer.byteLength(cfg.socket_path);
    if (bytes > MAX_SOCKET_PATH_BYTES) {
      problems.add('socket_path', `${bytes} bytes is too long for a Unix socket (at most ${MAX_SOCKET_PATH_BYTES}); use a shorter or relative path`);
    }
  },
  start(cfg, ctx) {
    ctx.serveControl({ socketPath: cfg.socket_path, socketMode: parseMode(cfg.socket_mode)! });
  },
});
