// The `[pipeline]` table: settings of the pipeline as a whole (links, thread pool, shutdown, restarts,
// control). Main thread only; the supervisor passes what each worker needs.

import { t, type Problems, type Schema } from './schema.js';
import { parseDuration } from '../../protocol/duration.js';

export interface PipelineSettings {
  /**
   * Credit window of each link between two elements, in batches: how many batches a sender may have in
   * flight before the receiver grants more. Bounds memory per link; a slow output slows its senders.
   */
  batch_window: number;
  /** Threads of the shared pool that runs run-time sources (one per process, cgroup, …); 0 = one per CPU core. */
  pool_threads: number;
  /** How long sources, transforms and outputs together get to flush and close after a shutdown request. */
  shutdown_timeout: string;
  /** Restarts of a failing element before it is left `failed`; 0 never restarts. */
  restart_max: number;
  /** Wait before the first restart of a failing element; doubled at each further restart. */
  restart_backoff: string;
  /** Upper bound of the doubled restart wait. */
  restart_backoff_max: string;
  /** Points a paused output keeps for its resume; beyond that the oldest are dropped (counted and logged). */
  output_backlog: number;
  /** How long the supervisor waits for a worker to answer one control request (pause, set-period, …). */
  control_timeout: string;
}

/** Node timers cannot wait longer than 2^31 - 1 ms (a longer one fires after 1 ms): about 24.8 days. */
const MAX_TIMER = '24d';

const fields = {
  batch_window: t.int(16, { min: 1 }),
  pool_threads: t.int(0, { min: 0 }),
  shutdown_timeout: t.duration('10s', { max: MAX_TIMER }),
  restart_max: t.int(5, { min: 0 }),
  restart_backoff: t.duration('200ms', { max: MAX_TIMER }),
  restart_backoff_max: t.duration('10s', { max: MAX_TIMER }),
  output_backlog: t.int(1_000_000, { min: 0 }),
  control_timeout: t.duration('5s', { max: MAX_TIMER }),
};

/** One line per key, written above it in generated config files (the TSDoc above says more). */
export const PIPELINE_KEY_NOTES: Readonly<Record<keyof PipelineSettings, string>> = {
  batch_window: 'batches in flight per link before the sender waits for credit (min 1)',
  pool_threads: 'threads running run-time sources (one per process or cgroup); 0 = one per CPU core',
  shutdown_timeout: 'time allowed to flush and close everything at shutdown',
  restart_max: 'restarts of a failing element before it is left failed',
  restart_backoff: 'wait before the first restart, doubled at each further one',
  restart_backoff_max: 'upper bound of the restart wait',
  output_backlog: 'points a paused output keeps; the oldest are dropped beyond that',
  control_timeout: 'time a worker has to answer one control request',
};

const table: Schema<PipelineSettings> = t.table(fields);

/** Schema of `[pipeline]`; besides each key alone it checks that `restart_backoff <= restart_backoff_max`. */
export const pipelineSchema: Schema<PipelineSettings> = {
  expected: table.expected,
  defaultValue: () => table.defaultValue(),
  parse(value: unknown, path: string, problems: Problems): PipelineSettings {
    const before = problems.list.length;
    const settings = table.parse(value, path, problems);
    // Only cross-check values the user got right: a rejected key was replaced by its default.
    if (problems.list.length === before && parseDuration(settings.restart_backoff) > parseDuration(settings.restart_backoff_max)) {
      problems.add(
        `${path}.restart_backoff`,
        `${JSON.stringify(settings.restart_backoff)} is longer than restart_backoff_max (${JSON.stringify(settings.restart_backoff_max)}); make it shorter or raise restart_backoff_max`,
      );
    }
    return settings;
  },
};
