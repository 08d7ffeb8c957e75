// Tests of the filter plugin: config checks, start, and the transform run in-process on batches.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F64, U64, type Batch } from '../../protocol/batch.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import type { ElementContext } from '../../protocol/element.js';
import type { MetricHandle, MetricInfo } from '../../protocol/metrics.js';
import { Problems } from '../../agent/config/schema.js';
import type { PluginStartContext } from '../../agent/plugin-api.js';
import filter from './index.js';
import type { FilterConfig } from './config.js';
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

/** Files check() problems under plugins.filter, as the config loader does. */
class Prefixed extends Problems {
  readonly #target: Problems;
  constructor(target: Problems) {
    super();
    this.#target = target;
  }
  override add(path: string, message: string): void {
    this.#target.add(path ? `plugins.filter.${path}` : 'plugins.filter', message);
  }
}

function check(input: unknown): string[] {
  const problems = new Problems();
  const config = filter.config.parse(input, 'plugins.filter', problems);
  if (problems.empty) filter.check?.(config, new Prefixed(problems));
  return problems.list;
}

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

test('start adds one transform named filter with the mode and names', async () => {
  const added: Array<{ name: string; module: URL; config: unknown }> = [];
  const ctx = {
    log: { error() {}, warn() {}, info() {}, debug() {} },
    transform: (name: string, module: URL, config: unknown) => added.push({ name, module, config }),
  } as unknown as PluginStartContext;
  const cases: Array<[FilterConfig, unknown]> = [
    [{ include: ['a', 'b'] }, { mode: 'include', names: ['a', 'b'] }],
    [{ exclude: ['c'] }, { mode: 'exclude', names: ['c'] }],
  ];
  for (const [config, element] of cases) {
    added.length = 0;
    await filter.start(config, ctx);
    assert.equal(added.length, 1);
    assert.equal(added[0]!.name, 'filter');
    assert.equal(added[0]!.module.pathname.split('/').pop(), 'transform.js');
    assert.deepEqual(added[0]!.config, element);
  }
});

test('include keeps only the listed metrics, in order, with their values and attributes', async () => {
  const { ctx } = fakeCtx(table());
  const tr = await transformModule.create({ mode: 'include', names: ['mem_total', 'network_bytes'] }, ctx);
  const out = await tr.apply(batchOf([0, 1, 2, 0, 2, 1]));
  assert.deepEqual(idsOf(out), [1, 2, 2, 1]);
  assert.deepEqual(
    [...out.points()].map((p) => [p.value, p.attributes]),
    [
      [1n, [['n', 1n]]],
      [2n, [['n', 2n]]],
      [4n, [['n', 4n]]],
      [5n, [['n', 5n]]],
    ],
  );
});

test('exclude drops the listed metrics', async () => {
  const { ctx } = fakeCtx(table());
  const tr = await transformModule.create({ mode: 'exclude', names: ['kernel_cpu_time'] }, ctx);
  assert.deepEqual(idsOf(await tr.apply(batchOf([0, 1, 2, 0]))), [1, 2]);
  assert.deepEqual(idsOf(await tr.apply(batchOf([0, 0]))), []);
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
