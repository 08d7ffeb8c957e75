// Restarts with backoff (main thread): an element that failed, or the elements of a worker that died, are
// restarted after `restart_backoff`, doubled at each further restart up to `restart_backoff_max`; after
// `restart_max` restarts they are left `failed`. No restart begins once the agent shuts down.

import type { Logger } from '../protocol/logging.js';
import type { ElementRecord } from './element-record.js';

export interface RestartLimits {
  readonly max: number;
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
}

export class RestartPolicy {
  readonly #limits: RestartLimits;
  readonly #log: Logger;
  readonly #shuttingDown: () => boolean;

  constructor(limits: RestartLimits, log: Logger, shuttingDown: () => boolean) {
    this.#limits = limits;
    this.#log = log;
    this.#shuttingDown = shuttingDown;
  }

  /**
   * Marks `all` (`r` and the elements that share its fate: those of one worker) failed, and calls `restart`
   * after the backoff of `r`'s restart count, again after each failure, until `r` reaches `max` restarts.
   */
  schedule(r: ElementRecord, restart: () => Promise<unknown>, all: ElementRecord[] = [r]): void {
    if (this.#shuttingDown()) return;
    for (const e of all) e.state = 'failed';
    const { max, backoffMs, backoffMaxMs } = this.#limits;
    if (r.restarts >= max) {
      this.#log.error(`${r.name} failed ${r.restarts + 1} times; giving up (restart_max = ${max}): ${r.lastError}`);
      return;
    }
    const delay = Math.min(backoffMs * 2 ** r.restarts, backoffMaxMs);
    this.#log.warn(`${r.name} failed (${r.lastError}); restarting in ${delay} ms`);
    clearTimeout(r.restartTimer);
    r.restartTimer = setTimeout(() => {
      if (this.#shuttingDown()) return;
      // Counted when it begins: the restarted element may fail again (its report racing the restart's
      // reply), and that failure must see this restart to give up at restart_max.
      for (const e of all) {
        e.state = 'restarting';
        e.restarts++;
        e.counters.add('restarts', 1);
      }
      restart().then(
        () => {
          // An element that failed again meanwhile stays `failed` (given up on, or waiting for its next restart).
          for (const e of all) if (e.state === 'restarting') e.state = e.desired === 'paused' ? 'paused' : 'running';
          this.#log.info(`${r.name} restarted`);
        },
        (e: Error) => {
          r.lastError = e.message;
          this.schedule(r, restart, all);
        },
      );
    }, delay);
    r.restartTimer.unref();
  }
}
