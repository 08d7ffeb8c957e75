// Tests of the filter plugin: config checks; the plugin run by the agent behind synthetic sources in real
// worker threads (plugin harness); and, in this thread, what only a direct call shows: the batch object
// forwarded untouched, ids resolved as the metric table grows, warnings, exact values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F64, U64, type Batch } from '../../protocol/batch.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import type { ElementContext } from '../../protocol/element.js';
import type { MetricHandle, MetricInfo } from '../../protocol/metrics.js';
import { configProblems } from '../../../test/helpers/plugin-config.js';
import { startPlugin, type RecordedPoint } from '../../../test/helpers/plugin-harness.js';
import synthetic from '../synthetic/index.js';
import filter from './index.js';
import transformModule from './transform.js';

const TS = { sec: 1_700_000_000, nsec: 0 };

function info(id: number, name: string): MetricInfo {
  return { id, name, description: '', type: U64, unit: { base: '1', prefix: '' } };
}

function fakeCtx(metrics: Map<number, MetricInfo>) {
  const warnings: string[] = [];
  const ctx = {
    name: 'transform/filter/filter',
    log: { error() {}, warn: (_o: unknown, msg?: string) => warnings.push(msg ?? ''), info() {}, debug() {} },
    metrics,
    isRestart: false,
  } as unknown as ElementContext;
  return { ctx, warnings };
}

const table = () =>
  new Map([
    [0, info(0, 'kernel_cpu_time')],
    [1, info(1, 'mem_total')],
    [2, info(2, 'network_bytes')],
  ]);

/** One point per metric id in `ids`, valued by position. */
function batchOf(ids: number[]): Batch {
  const b = new BatchBuilder(4);
  ids.forEach((id, i) => {
    const h: MetricHandle = { id, name: `m${id}`, type: U64 };
    b.push(h, TS, i, { attributes: [['n', BigInt(i)]] });
  });
  return b.take();
}

const idsOf = (b: Batch) => [...b.points()].map((p) => p.metric);

const check = (input: unknown): string[] => configProblems(filter, input);

test('config: exactly one of include and exclude', () => {
  const cases: Array<[unknown, RegExp | null]> = [
    [{ include: ['mem_total'] }, null],
    [{ exclude: ['mem_total', 'kernel_cpu_time'] }, null],
    [{ include: [] }, null],
    [{}, /^plugins\.filter: set include or exclude/],
    [{ include: ['a'], exclude: ['b'] }, /^plugins\.filter: set include or exclude, not both/],
    [{ include: 'mem_total' }, /^plugins\.filter\.include: expected an array of a string, got the string "mem_total"/],
    [{ include: [''] }, /^plugins\.filter\.include\[0\]: must not be empty/],
    [{ exclud: ['a'] }, /^plugins\.filter\.exclud: unknown key; did you mean "exclude"\?/],
  ];
  for (const [input, message] of cases) {
    const problems = check(input);
    if (message === null) assert.deepEqual(problems, [], JSON.stringify(input));
    else {
      assert.ok(problems.length >= 1, JSON.stringify(input));
      assert.match(problems[0]!, message);
    }
  }
});

test('the generated default is a filter that drops nothing, and passes check', () => {
  const def = filter.config.defaultValue();
  assert.deepEqual(def, { exclude: [] });
  assert.deepEqual(check(def), []);
});

/** Three synthetic metrics, six points per poll (two each, in turn), one attribute; polled once at start. */
const SOURCE = { plugin: synthetic, config: { metrics: 3, points_per_poll: 6, attributes: 1, poll_interval: '1h' } };
const shown = (points: RecordedPoint[]) => points.map((p) => [p.metric, p.value, p.attributes['attr_0']]);

test('start adds one transform named filter, which keeps only the included metrics, in order, with their values and attributes', async (t) => {
  const run = await startPlugin(t, filter, { config: { include: ['synthetic_1', 'synthetic_2'] }, with: [SOURCE] });
  assert.deepEqual(
    run.elements().filter((e) => e.kind === 'transform').map((e) => e.name),
    ['transform/filter/filter'],
  );
  await run.waitForElement('output/recorder/recorder', 'the first poll', (e) => e.counters['points_in'] === 4);
  const points = await run.stop();
  assert.deepEqual(shown(points), [
    ['synthetic_1', 1, 'm1_0'],
    ['synthetic_2', 2, 'm2_0'],
    ['synthetic_1', 4, 'm1_0'],
    ['synthetic_2', 5, 'm2_0'],
  ]);
  assert.equal(run.element('transform/filter/filter').counters['points_in'], 6);
  assert.equal(run.element('transform/filter/filter').counters['points_out'], 4);
});

test('exclude drops the listed metrics', async (t) => {
  const run = await startPlugin(t, filter, { config: { exclude: ['synthetic_0'] }, with: [SOURCE] });
  await run.waitForElement('output/recorder/recorder', 'the first poll', (e) => e.counters['points_in'] === 4);
  await run.trigger('source/synthetic/synthetic-0');
  await run.waitForElement('output/recorder/recorder', 'the second poll', (e) => e.counters['points_in'] === 8);
  const points = await run.stop();
  assert.deepEqual(
    points.map((p) => p.value),
    [1, 2, 4, 5, 7, 8, 10, 11],
  );
  assert.ok(points.every((p) => p.metric !== 'synthetic_0'));
});

test('a batch with nothing to drop is forwarded as the same object', async () => {
  const { ctx } = fakeCtx(table());
  const tr = await transformModule.create({ mode: 'exclude', names: ['kernel_cpu_time'] }, ctx);
  for (const batch of [batchOf([1, 2, 1]), batchOf([])]) assert.equal(await tr.apply(batch), batch);
});

test('metrics registered after start are resolved when their points first arrive', async () => {
  const metrics = table();
  const { ctx } = fakeCtx(metrics);
  const tr = await transformModule.create({ mode: 'include', names: ['pid_cpu'] }, ctx);
  // Id 7 is not in the table yet (its registration has not reached this worker): dropped, not cached.
  assert.deepEqual(idsOf(await tr.apply(batchOf([7, 1]))), []);
  metrics.set(7, info(7, 'pid_cpu'));
  metrics.set(300, info(300, 'other'));
  assert.deepEqual(idsOf(await tr.apply(batchOf([7, 1, 300, 7]))), [7, 7]);
});

test('a listed name that no plugin registered is warned about, with the closest one', async () => {
  const { ctx, warnings } = fakeCtx(table());
  await transformModule.create({ mode: 'include', names: ['mem_totl', 'kernel_cpu_time', 'zzz'] }, ctx);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /include lists "mem_totl", which no plugin has registered \(yet\); did you mean "mem_total"\?/);
  assert.match(warnings[1]!, /"zzz", which no plugin has registered \(yet\)$/);
});

test('dropping points keeps the exact values of the others, f64 and u64', async () => {
  const metrics = new Map<number, MetricInfo>([
    [0, info(0, 'a')],
    [1, { ...info(1, 'b'), type: F64 }],
  ]);
  const { ctx } = fakeCtx(metrics);
  const b = new BatchBuilder();
  b.push({ id: 0, name: 'a', type: U64 }, TS, 18446744073709551615n);
  b.push({ id: 1, name: 'b', type: F64 }, TS, 0.1);
  b.push({ id: 0, name: 'a', type: U64 }, TS, 9007199254740993n);
  const batch = b.take();
  const onlyA = await (await transformModule.create({ mode: 'include', names: ['a'] }, ctx)).apply(batch);
  assert.deepEqual(
    [...onlyA.points()].map((p) => p.value),
    [18446744073709551615n, 9007199254740993n],
  );
  const onlyB = await (await transformModule.create({ mode: 'exclude', names: ['a'] }, ctx)).apply(batch);
  assert.deepEqual(
    [...onlyB.points()].map((p) => p.value),
    [0.1],
  );
});
