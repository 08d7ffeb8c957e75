// Test helpers: a Supervisor with real worker threads, fixture and plugin elements, a log that the test can
// read, and readers for the fixture output files. Main thread.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { pino } from 'pino';
import { Supervisor } from '../../src/agent/supervisor.js';
import type { PipelineSettings } from '../../src/agent/config/pipeline-settings.js';
import type { ElementDecl } from '../../src/agent/element-record.js';
import { MetricRegistry } from '../../src/agent/metric-registry.js';
import { F64, U64 } from '../../src/protocol/batch.js';
import type { MetricHandle } from '../../src/protocol/metrics.js';
import type { Logger } from '../../src/protocol/logging.js';

export const fixture = (name: string): string => new URL(`../fixtures/${name}.js`, import.meta.url).href;
export const pluginModule = (path: string): string => new URL(`../../src/plugins/${path}.js`, import.meta.url).href;

export interface TestPipeline {
  supervisor: Supervisor;
  registry: MetricRegistry;
  /** A u64 metric for the counting fixture source. */
  metric: MetricHandle;
  /** An f64 metric for the synthetic source. */
  f64: MetricHandle;
  /** Every log line, as parsed pino JSON objects. */
  logs: Array<{ level: number; msg: string }>;
  logText(): string;
}

/** The `[pipeline]` settings of the tests: small windows and quick restarts, so that faults show fast. */
const TEST_SETTINGS: PipelineSettings = {
  batch_window: 4,
  pool_threads: 2,
  shutdown_timeout: '20s',
  restart_max: 3,
  restart_backoff: '20ms',
  restart_backoff_max: '100ms',
  output_backlog: 1_000_000,
  control_timeout: '10s',
};

export interface PipelineLogging {
  /** Where the supervisor logs; by default into `logs`, at level info. */
  log?: Logger;
  /** The workers' log level; by default silent. */
  logLevel?: string;
}

/** A Supervisor with `settings` over the test settings, not started yet. */
export function pipeline(settings: Partial<PipelineSettings> = {}, logging: PipelineLogging = {}): TestPipeline {
  const registry = new MetricRegistry();
  const u = registry.register('fixture_points', U64, { base: '1', prefix: '' }, 'test points');
  const f = registry.register('synthetic_0', F64, { base: '1', prefix: '' }, 'synthetic points');
  const logs: Array<{ level: number; msg: string }> = [];
  const log = logging.log ?? pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) });
  const supervisor = new Supervisor({ log, logLevel: logging.logLevel ?? 'silent', pretty: false, pipeline: { ...TEST_SETTINGS, ...settings }, registry });
  return {
    supervisor,
    registry,
    metric: { id: u.id, name: u.name, type: u.type },
    f64: { id: f.id, name: f.name, type: f.type },
    logs,
    logText: () => logs.map((l) => l.msg).join('\n'),
  };
}

/** The counting fixture source: `points` points per poll, every `pollMs`. */
export function countingSource(element: string, config: object, pollMs = 5): ElementDecl {
  return { kind: 'source', plugin: 'fixture', element, moduleUrl: fixture('counting-source'), config, pollNs: BigInt(Math.round(pollMs * 1e6)) };
}

/** The real synthetic source module: `points` f64 points per poll of `metric`, every `pollUs` microseconds. */
export function syntheticSource(element: string, metric: MetricHandle, points: number, pollUs: number): ElementDecl {
  return {
    kind: 'source',
    plugin: 'synthetic',
    element,
    moduleUrl: pluginModule('synthetic/source'),
    config: { metrics: [metric], pointsPerPoll: points, attributes: 0, failAfterPolls: 0 },
    pollNs: BigInt(pollUs) * 1000n,
  };
}

export function fileOutput(element: string, config: object): ElementDecl {
  return { kind: 'output', plugin: 'fixture', element, moduleUrl: fixture('file-output'), config };
}

export function faultyTransform(element: string, config: object): ElementDecl {
  return { kind: 'transform', plugin: 'fixture', element, moduleUrl: fixture('faulty-transform'), config };
}

/** The numbers a fixture wrote, one per line ([] while the file is missing). */
export function lines(path: string): number[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}

export const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

export function element(s: Supervisor, name: string) {
  const e = s.elements().find((x) => x.name === name);
  assert.ok(e, `element ${name} exists (have ${s.elements().map((x) => x.name).join(', ')})`);
  return e;
}

export function counters(s: Supervisor, name: string): Record<string, number> {
  return element(s, name).counters;
}

/** The balance entry of output `name`. */
export function outputBalance(s: Supervisor, name: string) {
  const o = s.pointBalance().outputs.find((x) => x.name === name);
  assert.ok(o, `${name} is in the point balance`);
  return o;
}
