// Tests of the synthetic plugin: config checks, and its sources run by the agent in real worker threads
// through the plugin harness (throughput runs live with the benchmark).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Problems } from '../../agent/config/schema.js';
import { U64 } from '../../protocol/batch.js';
import { unitUniqueName } from '../../protocol/units.js';
import { startPlugin, type RecordedPoint } from '../../../test/helpers/plugin-harness.js';
import synthetic from './index.js';

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

const values = (points: RecordedPoint[]) => points.map((p) => p.value);

test('the default config passes check', () => {
  const { config, problems } = parse({});
  assert.deepEqual(problems, []);
  assert.deepEqual(config, {
    poll_interval: '1s',
    points_per_poll: 10,
    metrics: 1,
    attributes: 0,
    series_per_metric: 1,
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
    [{ series_per_metric: 2, points_per_poll: 2 }, /^plugins\.synthetic\.series_per_metric: 2 series per metric need attributes to tell them apart; set attributes >= 1$/],
    [{ series_per_metric: 3, metrics: 2, attributes: 1, points_per_poll: 5 }, /^plugins\.synthetic\.series_per_metric: 2 metrics × 3 series but only 5 points per poll: some series would never get a point/],
    [{ series_per_metric: 0 }, /^plugins\.synthetic\.series_per_metric: must be >= 1, got 0/],
  ];
  for (const [input, message] of cases) {
    const { problems } = parse(input);
    assert.equal(problems.length, 1, `${JSON.stringify(input)} → ${problems.join(' | ')}`);
    assert.match(problems[0]!, message);
  }
});

test('start registers synthetic_N metrics and one source per `sources`, named synthetic-i, on the poll and flush intervals', async (t) => {
  const run = await startPlugin(t, synthetic, { config: { sources: 3, metrics: 2, points_per_poll: 2, value_type: 'u64', poll_interval: '10ms', flush_interval: '1h' } });
  const registered = run.agent.registry.all().map((m) => `${m.name} ${m.type === U64 ? 'u64' : 'f64'} ${unitUniqueName(m.unit)}`);
  assert.deepEqual(registered, ['synthetic_0 u64 1', 'synthetic_1 u64 1']);
  const sources = ['source/synthetic/synthetic-0', 'source/synthetic/synthetic-1', 'source/synthetic/synthetic-2'];
  assert.deepEqual(
    run.elements().filter((e) => e.kind === 'source').map((e) => [e.name, e.period]),
    sources.map((name) => [name, '10ms']),
  );
  // Polled every 10ms but flushed once an hour: nothing reaches the output until a flush is asked for.
  for (const name of sources) {
    await run.waitForElement(name, '3 polls', (e) => (e.counters['polls'] ?? 0) >= 3);
  }
  assert.equal(run.points().length, 0);
  await run.trigger(...sources);
  await run.waitForPoints('the points of every source', (points) => points.length >= 3 * 2 * 4);
  await run.stop();
});

test('each poll emits points_per_poll points cycling through the metrics, with counting values', async (t) => {
  const run = await startPlugin(t, synthetic, { config: { points_per_poll: 7, metrics: 3, attributes: 2, poll_interval: '1h' } });
  await run.waitForPoints('the first poll', (points) => points.length === 7);
  await run.trigger('source/synthetic/synthetic-0');
  const points = await run.waitForPoints('the second poll', (p) => p.length === 14);
  assert.deepEqual(values(points), Array.from({ length: 14 }, (_, i) => i));
  points.forEach((p, i) => {
    const j = i % 7;
    const m = j % 3;
    assert.equal(p.metric, `synthetic_${m}`);
    assert.equal(p.type, 'f64');
    assert.deepEqual(p.timestamp, points[i - j]!.timestamp, 'one timestamp per poll');
    assert.deepEqual(p.resource, { kind: 'local_machine', id: '' });
    assert.deepEqual(p.consumer, { kind: 'local_machine', id: '' });
    assert.deepEqual(p.attributes, { attr_0: `m${m}_0`, attr_1: `m${m}_1` });
  });
  await run.stop();
});

test('series_per_metric spreads the points of each metric over that many series, by their attribute values', async (t) => {
  const run = await startPlugin(t, synthetic, { config: { points_per_poll: 13, metrics: 2, series_per_metric: 3, attributes: 2, poll_interval: '1h' } });
  const points = await run.waitForPoints('the first poll', (p) => p.length === 13);
  points.forEach((p, j) => {
    const m = j % 2;
    const series = Math.floor(j / 2) % 3;
    assert.equal(p.metric, `synthetic_${m}`);
    assert.deepEqual(p.attributes, { attr_0: `m${m}_0_s${series}`, attr_1: `m${m}_1_s${series}` }, `point ${j}`);
  });
  assert.equal(new Set(points.map((p) => `${p.metric} ${JSON.stringify(p.attributes)}`)).size, 6, '2 metrics × 3 series');
  await run.stop();
});

test('u64 values are exact u64 points', async (t) => {
  const run = await startPlugin(t, synthetic, { config: { points_per_poll: 5, value_type: 'u64', poll_interval: '1h' } });
  await run.waitForPoints('the first poll', (points) => points.length === 5);
  await run.trigger('source/synthetic/synthetic-0');
  const points = await run.waitForPoints('two polls', (p) => p.length === 10);
  assert.deepEqual(values(points), [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
  assert.ok(points.every((p) => p.type === 'u64' && Object.keys(p.attributes).length === 0));
  await run.stop();
});

test('several polls into one batch (flush_interval) keep every point and value', async (t) => {
  const run = await startPlugin(t, synthetic, { config: { points_per_poll: 300, metrics: 2, attributes: 1, poll_interval: '5ms', flush_interval: '15ms' } });
  await run.waitForPoints('six polls', (points) => points.length >= 1800);
  const points = await run.stop();
  const counters = run.element('source/synthetic/synthetic-0').counters;
  assert.ok(counters['batches_out']! < counters['polls']!, `polls are grouped into batches: ${JSON.stringify(counters)}`);
  assert.equal(points.length, counters['polls']! * 300);
  points.forEach((p, i) => {
    assert.equal(p.value, i);
    assert.deepEqual(p.timestamp, points[i - (i % 300)]!.timestamp);
    assert.equal(p.metric, `synthetic_${(i % 300) % 2}`);
    assert.deepEqual(p.attributes, { attr_0: `m${(i % 300) % 2}_0` });
  });
});

test('fail_after_polls makes exactly the Nth poll throw, emitting nothing; the restarted source counts from 1 again', async (t) => {
  const run = await startPlugin(t, synthetic, { config: { points_per_poll: 2, fail_after_polls: 3, poll_interval: '1h' } });
  const name = 'source/synthetic/synthetic-0';
  await run.waitForPoints('the first poll', (points) => points.length === 2);
  await run.trigger(name);
  await run.waitForPoints('the second poll', (points) => points.length === 4);
  await run.trigger(name);
  await run.waitForElement(name, 'the third poll fails and the source restarts', (e) => (e.counters['restarts'] ?? 0) >= 1 && e.state === 'running');
  assert.equal(run.element(name).counters['errors'], 1);
  assert.equal(run.points().length, 4, 'the failing poll emitted nothing');
  // The restarted source is a new instance: its values start from 0 again.
  await run.trigger(name);
  await run.waitForPoints('the restarted source to poll', (points) => points.length >= 6);
  await run.trigger(name);
  const points = await run.waitForPoints('its second poll', (p) => p.length >= 8);
  assert.deepEqual(values(points).slice(0, 8), [0, 1, 2, 3, 0, 1, 2, 3]);
  await run.stop();
});
