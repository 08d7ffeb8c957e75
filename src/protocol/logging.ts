// Loggers for every thread: pino writing synchronously to stderr (fd 2) from the thread that logs, so no
// line is lost when a worker is terminated. The main thread decides pretty vs JSON (a worker cannot see
// the TTY) and passes the decision to workers.

import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export function createLogger(level: string, usePretty: boolean, base: Record<string, unknown> = {}): Logger {
  const options = { level, base };
  if (usePretty) {
    const stream = pretty({ sync: true, colorize: true, destination: 2, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' });
    return pino(options, stream);
  }
  return pino(options, pino.destination({ dest: 2, sync: true }));
}
