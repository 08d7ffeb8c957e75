// Test helper for the csv plugin's tests: a metric table with units of every kind, batches of chosen points,
// and the csv output run in the test's own thread on a real file (create, open, write, close), with an
// element context whose log the test reads. Main thread.

import type { TestContext } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { F64, U64, type Batch, type AttrValue, type ResourceRef, type ValueType } from '../../src/protocol/batch.js';
import { BatchBuilder } from '../../src/protocol/batch-builder.js';
import type { ElementContext, Output } from '../../src/protocol/element.js';
import type { MetricInfo } from '../../src/protocol/metrics.js';
import { parseUnit } from '../../src/protocol/units.js';
import type { CsvConfig } from '../../src/plugins/csv/config.js';
import plugin from '../../src/plugins/csv/index.js';
import outputModule from '../../src/plugins/csv/output.js';
import { fakeContext as fakeElementContext } from './element-context.js';

export const TS = { sec: 1745593733, nsec: 996365220 }; // 2025-04-25T15:08:53.99636522Z
export const TS_TEXT = '2025-04-25T15:08:53.99636522Z';
export const FIXED = 'metric;timestamp;value;resource_kind;resource_id;consumer_kind;consumer_id;';

export function metricTable(specs: [string, ValueType, string][]): Map<number, MetricInfo> {
  return new Map(specs.map(([name, type, unit], id) => [id, { id, name, type, unit: parseUnit(unit), description: '' }]));
}

export const METRICS = metricTable([
  ['cpu_time_delta', U64, 'ns'],
  ['cpu_percent', F64, '%'],
  ['kernel_context_switches', U64, '1'],
  ['temperature', F64, 'Cel'],
  ['memory_usage', U64, 'By'],
  ['power', F64, 'kW'],
  ['latency', F64, 'μs'],
]);

export interface Point {
  metric: number;
  value: number | bigint;
  ts?: { sec: number; nsec: number };
  resource?: ResourceRef;
  consumer?: ResourceRef;
  attributes?: [string, AttrValue][];
}

export function batchOf(points: Point[], metrics = METRICS): Batch {
  const b = new BatchBuilder(4);
  for (const p of points) {
    const info = metrics.get(p.metric);
    const handle = { id: p.metric, name: info?.name ?? '?', type: info?.type ?? U64 };
    b.push(handle, p.ts ?? TS, p.value, { resource: p.resource, consumer: p.consumer, attributes: p.attributes });
  }
  return b.take();
}

export interface LogRecord {
  level: string;
  msg: string | undefined;
}

export function fakeContext(metrics = METRICS, isRestart = false): { ctx: ElementContext; logs: LogRecord[] } {
  const logs: LogRecord[] = [];
  // As pino: the message is the second argument, or the first when it is alone.
  const record = (level: string) => (obj: unknown, msg?: string) => void logs.push({ level, msg: msg ?? (typeof obj === 'string' ? obj : undefined) });
  const log = { error: record('error'), warn: record('warn'), info: record('info'), debug: record('debug') };
  return { ctx: fakeElementContext({ name: 'output/csv/csv', log, metrics, isRestart }), logs };
}

export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'alumet-csv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function configFor(path: string, overrides: Partial<CsvConfig> = {}): CsvConfig {
  return { ...(plugin.config.defaultValue() as CsvConfig), output_path: path, ...overrides };
}

/** Creates the output and opens it, as the worker host does once the pipeline has started. */
export async function openOutput(config: CsvConfig, ctx: ElementContext): Promise<Output> {
  const out = await outputModule.create(config, ctx);
  await out.open?.();
  return out;
}

/** Runs the output in this thread: create, open, write each batch, close; returns the file's text. */
export async function writeAll(t: TestContext, batches: Batch[], overrides: Partial<CsvConfig> = {}, metrics = METRICS): Promise<string> {
  const path = join(tempDir(t), 'out.csv');
  const out = await openOutput(configFor(path, overrides), fakeContext(metrics).ctx);
  for (const b of batches) await out.write(b);
  await out.close?.();
  return readFileSync(path, 'utf8');
}
