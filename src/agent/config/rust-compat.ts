// What a configuration or command line written for the Rust agent holds beyond this agent's own keys: its
// plugins that this build lacks, its top-level keys and its extra command-line options. Each is accepted:
// applied where it means something here, otherwise named in one info line saying why it has no effect.
// Pure data and checks, used by cli-args.ts and loader.ts. Main thread.

import { parseDuration, DurationError } from '../../protocol/duration.js';
import { t, type Schema } from './schema.js';

/** Config names (`[plugins.NAME]`) of every plugin of the Rust agent. */
export const RUST_AGENT_PLUGINS: readonly string[] = [
  'aggregation',
  'amd-gpu',
  'cgroups',
  'csv',
  'elasticsearch',
  'energy-attribution',
  'energy-estimation-tdp',
  'energy-to-carbon',
  'filter',
  'grace-hopper',
  'influxdb',
  'jetson',
  'k8s',
  'kwollect-input',
  'kwollect-output',
  'mongodb',
  'nvml',
  'oar',
  'opentelemetry',
  'perf',
  'process-to-cgroup-bridge',
  'procfs',
  'prometheus-exporter',
  'quarch',
  'rapl',
  'relay-client',
  'relay-server',
  'slurm',
  'socket-control',
];

/** True when `name` is a plugin of the Rust agent that is not among `available`. */
export function isRustOnlyPlugin(name: string, available: readonly string[]): boolean {
  return RUST_AGENT_PLUGINS.includes(name) && !available.includes(name);
}

/** The Rust agent's top-level keys (its "general config"). */
export type GeneralKey = 'max_update_interval' | 'source_channel_size';

export const GENERAL_KEYS: Readonly<Record<GeneralKey, Schema<unknown>>> = {
  /** Rust: the longest a source may go without reading the control commands sent to it. */
  max_update_interval: t.duration('2s'),
  /** Rust: capacity, in buffers, of the one channel from all the sources to the transforms. */
  source_channel_size: t.int(2048, { min: 1 }),
};

/** Why each top-level key has no effect here: the end of "KEY has no meaning in alumet-ts because …". */
const GENERAL_WHY: Readonly<Record<GeneralKey, string>> = {
  max_update_interval:
    'control commands reach every source at once, whatever its poll interval (the Rust agent makes each source read them at least this often); sources flush on their own flush_interval',
  source_channel_size:
    'no channel is shared by all the sources here: each link between two elements holds at most [pipeline] batch_window batches (set that instead)',
};

/** The info line for a top-level key of the Rust agent; `from` is the file or the option that set it. */
export function generalKeyNote(key: GeneralKey, value: unknown, from: string): string {
  return `${key} has no meaning in alumet-ts because ${GENERAL_WHY[key]}; the value ${JSON.stringify(value)} from ${from} is ignored`;
}

export type RustFlagName =
  | '--max-update-interval'
  | '--source-channel-size'
  | '--normal-worker-threads'
  | '--priority-worker-threads'
  | '--relay-out'
  | '--relay-in';

/** One of the Rust agent's options as given: its value, and the option or environment variable it came from. */
export interface RustFlag {
  name: RustFlagName;
  value: string | number;
  from: string;
}

export interface RustFlagSpec {
  /** Name of the value in messages and in the help. */
  value: string;
  /** The environment variable that gives the value when the option is absent (the option wins). */
  env?: string;
  /** The config key it sets (after the file and the overrides, so it wins), as a path of table keys. */
  key?: readonly string[];
  /** Why the option has no effect here, for options that set no key. */
  why?: string;
  /** Checks the text and returns the value, or throws an Error whose message says what is wrong. */
  parse(text: string): string | number;
}

function positiveInt(min: number): (text: string) => number {
  return (text) => {
    const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`expected an integer >= ${min}, got ${JSON.stringify(text)}`);
    return n;
  };
}

function duration(text: string): string {
  try {
    parseDuration(text);
  } catch (e) {
    throw new Error(e instanceof DurationError ? e.message : String(e));
  }
  return text;
}

function address(text: string): string {
  if (text.trim() === '') throw new Error('expected an address such as "[::1]:50051", got an empty string');
  return text;
}

export const RUST_FLAGS: Readonly<Record<RustFlagName, RustFlagSpec>> = {
  '--max-update-interval': { value: 'DURATION', key: ['max_update_interval'], parse: duration },
  '--source-channel-size': { value: 'N', key: ['source_channel_size'], parse: positiveInt(1) },
  // Rust: the threads of the pool that runs the (non-realtime) sources; here, the shared pool of threads
  // that runs the sources created while the agent runs (one per process, one per cgroup).
  '--normal-worker-threads': { value: 'N', env: 'ALUMET_NORMAL_THREADS', key: ['pipeline', 'pool_threads'], parse: positiveInt(1) },
  '--priority-worker-threads': {
    value: 'N',
    env: 'ALUMET_PRIORITY_THREADS',
    why: 'each source of the config runs on a worker thread of its own, and Node.js cannot give a thread realtime priority',
    parse: positiveInt(0),
  },
  '--relay-out': { value: 'ADDR', key: ['plugins', 'relay-client', 'relay_server'], parse: address },
  '--relay-in': { value: 'ADDR', key: ['plugins', 'relay-server', 'address'], parse: address },
};

/** The info line for an option that sets no key. */
export function flagNote(flag: RustFlag, why: string): string {
  return `${flag.from} has no meaning in alumet-ts because ${why}; the value ${JSON.stringify(flag.value)} is ignored`;
}
