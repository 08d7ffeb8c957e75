// Tests of the synthetic plugin: config and start, and the source run in-process (real-worker and
// throughput runs live with the element host and the benchmark).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F64, U64 } from '../../protocol/batch.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import type { ElementContext } from '../../protocol/element.js';
import type { MetricHandle } from '../../protocol/metrics.js';
import { Problems } from '../../agent/config/schema.js';
import type { MetricSpec, PluginStartContext, SourceTrigger } from '../../agent/plugin-api.js';
import synthetic from './index.js';
import sourceModule, { type SyntheticSourceConfig } from './source.js';

const TS = { sec: 1_700_000_000, nsec: 42 };
const ctx = {
  name: 'source/synthetic/synthetic-0',
  log: { error() {}, warn() {}, info() {}, debug() {} },
  metrics: new Map(),
  isRestart: false,
} as unknown as ElementContext;

function handles(n: number, type: typeof F64 | typeof U64): MetricHandle[] {
  return Array.from({ length: n }, (_, m) => ({ id: 10 + m, name: `synthetic_${m}`, type }));
}

function parse(input: unknown): { config: ReturnType<typeof synthetic.config.defaultValue>; problems: string[] } {
  const problems = new Problems();
  const config = synthetic.config.parse(input, 'plugins.synthetic', problems);
  if (problems.empty) {
    const own = new Problems();
    synthetic.check?.(config, own);
    for (const line of own.list) problems.list.push(`plugins.synthetic.${line}`);
  }
  return { config, problems: problems.list };
}

function fakeStart() {
  const metrics = new Map<string, MetricSpec>();
  const sources: Array<{ name: string; module: URL; config: unknown; trigger: SourceTrigger }> = [];
  let id = 0;
  const ctx = {
    log: { error() {}, warn() {}, info() {}, debug() {} },
    metric(name: string, spec: MetricSpec): MetricHandle {
      metrics.set(name, spec);
      return { id: id++, name, type: spec.type === 'u64' ? U64 : F64 };
    },
    source(name: string, module: URL, config: unknown, trigger: SourceTrigger) {
      sources.push({ name, module, config, trigger });
    },
    transform() {
      throw new Error('synthetic has no transform');
    },
    output() {
      throw new Error('synthetic has no output');
    },
    serveControl() {
      throw new Error('synthetic serves no control socket');
    },
  };
  return { ctx: ctx as unknown as PluginStartContext, metrics, sources };
}

test('the default config passes check', () => {
  const { config, problems } = parse({});
  assert.deepEqual(problems, []);
  assert.deepEqual(config, {
    poll_interval: '1s',
    points_per_poll: 10,
    metrics: 1,
    attributes: 0,
    value_type: 'f64',
    fail_after_polls: 0,
    sources: 1,
  });
});

test('config problems name the key and what is valid', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ metrics: 5, points_per_poll: 3 }, /^plugins\.synthetic\.metrics: 5 metrics but only 3 points per poll: synthetic_3 and above would never get a point/],
    [{ value_type: 'f46' }, /^plugins\.synthetic\.value_type: expected one of "f64", "u64", got the string "f46"; did you mean "f64"\?/],
    [{ points_per_poll: 0 }, /^plugins\.synthetic\.points_per_poll: must be >= 1, got 0/],
    [{ sources: 1.5 }, /^plugins\.synthetic\.sources: expected an integer/],
    [{ fail_after_polls: -1 }, /^plugins\.synthetic\.fail_after_polls: must be >= 0/],
    [{ poll_interval: 'fast' }, /^plugins\.synthetic\.poll_interval: .*not a duration/],
    [{ point_per_poll: 3 }, /^plugins\.synthetic\.point_per_poll: unknown key; did you mean "points_per_poll"\?/],
  ];
  for (const [input, message] of cases) {
    const { problems } = parse(input);
    assert.equal(problems.length, 1, `${JSON.stringify(input)} → ${problems.join(' | ')}`);
    assert.match(problems[0]!, message);
  }
});

test('start registers synthetic_N metrics and one source per `sources`, named synthetic-i', async () => {
  const { config } = parse({ sources: 3, metrics: 2, value_type: 'u64', poll_interval: '10ms', flush_interval: '1s' });
  const { ctx, metrics, sources } = fakeStart();
  await synthetic.start(config, ctx);
  assert.deepEqual([...metrics.keys()], ['synthetic_0', 'synthetic_1']);
  assert.deepEqual(
    [...metrics.values()].map((s) => `${s.type} ${String(s.unit)}`),
    ['u64 1', 'u64 1'],
  );
  assert.deepEqual(
    sources.map((s) => s.name),
    ['synthetic-0', 'synthetic-1', 'synthetic-2'],
  );
  for (const s of sources) {
    assert.deepEqual(s.trigger, { poll_interval: '10ms', flush_interval: '1s' });
    assert.equal(s.module.pathname.split('/').pop(), 'source.js');
    assert.deepEqual(structuredClone(s.config), s.config);
  }
});

test('each poll emits points_per_poll points cycling through the metrics, with counting values', async () => {
  const metrics = handles(3, F64);
  const src = await sourceModule.create({ metrics, pointsPerPoll: 7, attributes: 2, failAfterPolls: 0 }, ctx);
  for (let poll = 0; poll < 2; poll++) {
    const b = new BatchBuilder(4);
    await src.poll(b, TS);
    const points = [...b.take().points()];
    assert.equal(points.length, 7);
    points.forEach((p, j) => {
      const m = j % 3;
      assert.equal(p.metric, 10 + m);
      assert.equal(p.value, poll * 7 + j);
      assert.deepEqual(p.timestamp, TS);
      assert.deepEqual(p.resource, { kind: 'local_machine', id: '' });
      assert.deepEqual(p.consumer, { kind: 'local_machine', id: '' });
      assert.deepEqual(p.attributes, [
        ['attr_0', `m${m}_0`],
        ['attr_1', `m${m}_1`],
      ]);
    });
  }
});

test('u64 values are exact u64 points', async () => {
  const src = await sourceModule.create({ metrics: handles(1, U64), pointsPerPoll: 5, attributes: 0, failAfterPolls: 0 }, ctx);
  const b = new BatchBuilder();
  await src.poll(b, TS);
  await src.poll(b, TS);
  const batch = b.take();
  assert.equal(batch.length, 10);
  assert.deepEqual(
    [...batch.points()].map((p) => p.value),
    [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n],
  );
  assert.ok(batch.isU64(9));
  assert.deepEqual(batch.attributesAt(0), []);
});

test('several polls into one batch (flush_interval) keep every point and value', async () => {
  const src = await sourceModule.create({ metrics: handles(2, F64), pointsPerPoll: 300, attributes: 1, failAfterPolls: 0 }, ctx);
  const b = new BatchBuilder(16);
  const stamps = [1, 2, 3].map((sec) => ({ sec, nsec: 0 }));
  for (const ts of stamps) await src.poll(b, ts);
  const batch = b.take();
  assert.equal(batch.length, 900);
  for (let i = 0; i < 900; i++) {
    assert.equal(batch.numberAt(i), i);
    assert.equal(batch.tsSec[i], 1 + Math.floor(i / 300));
    assert.equal(batch.metric[i], 10 + (i % 300) % 2);
    assert.deepEqual(batch.attributesAt(i), [['attr_0', `m${(i % 300) % 2}_0`]]);
  }
});

test('fail_after_polls makes exactly the Nth poll throw, emitting nothing', async () => {
  const config: SyntheticSourceConfig = { metrics: handles(1, F64), pointsPerPoll: 2, attributes: 0, failAfterPolls: 3 };
  const src = await sourceModule.create(config, ctx);
  const b = new BatchBuilder();
  await src.poll(b, TS);
  await src.poll(b, TS);
  assert.equal(b.length, 4);
  await assert.rejects(async () => src.poll(b, TS), { message: 'synthetic failure after 3 polls' });
  assert.equal(b.length, 4);
  await src.poll(b, TS);
  assert.equal(b.length, 6);
});
