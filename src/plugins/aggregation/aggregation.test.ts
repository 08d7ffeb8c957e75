// Tests of the aggregation plugin: its keys and checks; the plugin run by the agent in real workers behind
// the rapl source on a fake powercap tree (windows closed while it runs, the open ones at shutdown, a start
// error for a metric nobody registered); and, in this thread, the transform on batches with chosen
// timestamps: windows, series keys, sums and means of u64 and f64, keep_inputs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F64, U64, type Batch, type PointView } from '../../protocol/batch.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import type { MetricHandle } from '../../protocol/metrics.js';
import { unitUniqueName } from '../../protocol/units.js';
import { Problems } from '../../agent/config/schema.js';
import { fakeContext } from '../../../test/helpers/element-context.js';
import { fakePowercap } from '../../../test/helpers/fake-powercap.js';
import { startPlugin, type RecordedPoint } from '../../../test/helpers/plugin-harness.js';
import rapl from '../rapl/index.js';
import aggregation from './index.js';
import transformModule, { type AggregationTransformConfig } from './transform.js';

// ---------------------------------------------------------------------------------------------------------
// config

function check(input: unknown): string[] {
  const problems = new Problems();
  const config = aggregation.config.parse(input, 'plugins.aggregation', problems);
  if (problems.empty) aggregation.check?.(config, problems);
  return problems.list;
}

test("aggregation config: Alumet's keys and defaults plus keep_inputs; both spellings of the function; problems name the key", () => {
  assert.deepEqual(aggregation.config.defaultValue(), { interval: '60s', function: 'Sum', metrics: [], keep_inputs: false });
  // As the Rust agent's `config regen` writes it (humantime prints 60 s as "1m").
  for (const ok of [{ interval: '1m', function: 'Sum', metrics: [] }, { function: 'Mean' }, { function: 'sum' }, { function: 'mean', metrics: ['a', 'b'] }]) {
    assert.deepEqual(check(ok), [], JSON.stringify(ok));
  }
  const cases: Array<[unknown, string]> = [
    [{ function: 'Summ' }, 'plugins.aggregation.function: expected one of "Sum", "Mean", "sum", "mean", got the string "Summ"; did you mean "Sum"?'],
    [{ function: 'average' }, 'plugins.aggregation.function: expected one of "Sum", "Mean", "sum", "mean", got the string "average"'],
    [{ interval: 60 }, 'plugins.aggregation.interval: expected a duration string such as "10ms" or "1m30s", got the number 60'],
    [{ metrics: 'rapl_consumed_energy' }, 'plugins.aggregation.metrics: expected an array of a string, got the string "rapl_consumed_energy"'],
    [{ metrics: ['a', 'b', 'a'] }, 'metrics[2]: "a" is listed twice (first at metrics[0])'],
    [{ keep_input: true }, 'plugins.aggregation.keep_input: unknown key; did you mean "keep_inputs"? (valid keys: interval, function, metrics, keep_inputs)'],
  ];
  for (const [input, message] of cases) assert.deepEqual(check(input), [message], JSON.stringify(input));
});

// ---------------------------------------------------------------------------------------------------------
// the plugin, behind rapl on a fake powercap tree

const ONE_PACKAGE = [{ path: 'intel-rapl:0', name: 'package-0', maxEnergyUj: 262143328850n, energyUj: 5_000_000n }];
const SOURCE = 'source/rapl/in';

/** rapl on a one-package tree polled on trigger; after the baseline, one poll per entry of `joules`. */
async function raplPolls(t: Parameters<typeof startPlugin>[0], config: Record<string, unknown>, joules: number[], expectedPoints: number): Promise<RecordedPoint[]> {
  const powercap = fakePowercap(t, ONE_PACKAGE);
  const run = await startPlugin(t, aggregation, { config, with: [{ plugin: rapl, config: { poll_interval: '1h', no_perf_events: true, powercap_root: powercap.root } }] });
  await run.waitForElement(SOURCE, 'the first poll', (e) => e.counters['polls'] === 1);
  for (const [k, j] of joules.entries()) {
    powercap.advance('intel-rapl:0', BigInt(j * 1_000_000));
    await run.trigger(SOURCE);
    await run.waitForElement(SOURCE, `poll ${k + 2}`, (e) => e.counters['polls'] === k + 2);
  }
  await run.waitForElement('transform/aggregation/plugin-aggregation', 'every point of the polls', (e) => e.counters['points_in'] === 2 * joules.length);
  const points = await run.stop();
  assert.equal(points.length, expectedPoints, JSON.stringify(points, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v)));
  return points;
}

const floorToMicros = (ts: { sec: number; nsec: number }) => ({ sec: ts.sec, nsec: ts.nsec - (ts.nsec % 1000) });

test('a window closes when a later point of its series arrives: its sum, stamped with its start; inputs kept with keep_inputs', async (t) => {
  // 1 µs windows: each poll closes the windows of the previous one; shutdown emits those of the last.
  const points = await raplPolls(t, { interval: '1us', function: 'sum', metrics: ['rapl_consumed_energy'], keep_inputs: true }, [2, 3], 8);
  const [p2, total2, p3, total3, sum2, sumTotal2, sum3, sumTotal3] = points as [RecordedPoint, RecordedPoint, RecordedPoint, RecordedPoint, RecordedPoint, RecordedPoint, RecordedPoint, RecordedPoint];
  assert.deepEqual(
    points.map((p) => [p.metric, p.attributes['domain'], p.value]),
    [
      ['rapl_consumed_energy', 'package', 2],
      ['rapl_consumed_energy', 'package_total', 2],
      ['rapl_consumed_energy', 'package', 3],
      ['rapl_consumed_energy', 'package_total', 3],
      ['rapl_consumed_energy_sum', 'package', 2],
      ['rapl_consumed_energy_sum', 'package_total', 2],
      ['rapl_consumed_energy_sum', 'package', 3],
      ['rapl_consumed_energy_sum', 'package_total', 3],
    ],
  );
  for (const [sum, input] of [[sum2, p2], [sumTotal2, total2], [sum3, p3], [sumTotal3, total3]] as const) {
    assert.deepEqual([sum.timestamp, sum.resource, sum.consumer, sum.type], [floorToMicros(input.timestamp), input.resource, input.consumer, 'f64']);
  }
});

test('at shutdown the open windows are emitted with what they hold; by default the inputs are dropped', async (t) => {
  // Windows of a million hours: the one open now started at the epoch and ends in 2084.
  const points = await raplPolls(t, { interval: '1000000h', function: 'Mean', metrics: ['rapl_consumed_energy'] }, [2, 4, 9], 2);
  assert.deepEqual(
    points.map((p) => [p.metric, p.attributes['domain'], p.value, p.timestamp, p.resource.kind]),
    [
      ['rapl_consumed_energy_mean', 'package', 5, { sec: 0, nsec: 0 }, 'cpu_package'],
      ['rapl_consumed_energy_mean', 'package_total', 5, { sec: 0, nsec: 0 }, 'local_machine'],
    ],
  );
});

test('afterStart registers <name>_sum with the unit, type and description of <name>, whatever the order of the tables', async (t) => {
  const powercap = fakePowercap(t, ONE_PACKAGE);
  // The aggregation table first: rapl registers its metric after aggregation's start.
  const run = await startPlugin(t, rapl, {
    config: { poll_interval: '1h', powercap_root: powercap.root },
    with: [{ plugin: aggregation, config: { metrics: ['rapl_consumed_energy'] } }],
  });
  const sum = run.agent.registry.byName('rapl_consumed_energy_sum');
  assert.ok(sum);
  assert.deepEqual([sum.type, unitUniqueName(sum.unit), sum.description, sum.delta], [F64, 'J', 'Energy consumed since the previous measurement, as reported by RAPL.', true]);
  assert.deepEqual(
    run.elements().map((e) => e.name),
    [SOURCE, 'transform/aggregation/plugin-aggregation', 'output/recorder/recorder'],
  );
  await run.stop();
});

test('a metric that no plugin registered stops the start, naming it with the closest registered one', async (t) => {
  const powercap = fakePowercap(t, ONE_PACKAGE);
  await assert.rejects(
    startPlugin(t, aggregation, {
      config: { metrics: ['rapl_consumed_energy', 'rapl_consumed_enrgy', 'zzz'] },
      with: [{ plugin: rapl, config: { powercap_root: powercap.root } }],
    }),
    {
      message:
        'plugin aggregation v0.1.0 failed to start: plugins.aggregation.metrics[1]: no plugin registered the metric "rapl_consumed_enrgy"; did you mean "rapl_consumed_energy"?; ' +
        'plugins.aggregation.metrics[2]: no plugin registered the metric "zzz" (registered metrics: rapl_consumed_energy)',
    },
  );
});

// ---------------------------------------------------------------------------------------------------------
// the transform, on batches with chosen timestamps

const ENERGY: MetricHandle = { id: 0, name: 'energy', type: F64 };
const BYTES: MetricHandle = { id: 1, name: 'bytes', type: U64 };
const OTHER: MetricHandle = { id: 2, name: 'other', type: F64 };
const ENERGY_OUT: MetricHandle = { id: 10, name: 'energy_sum', type: F64 };
const BYTES_OUT: MetricHandle = { id: 11, name: 'bytes_sum', type: U64 };

function transform(opts: Partial<AggregationTransformConfig> = {}) {
  const config: AggregationTransformConfig = {
    intervalNs: 10_000_000_000n,
    mean: false,
    keepInputs: false,
    series: [
      { input: ENERGY.id, output: ENERGY_OUT },
      { input: BYTES.id, output: BYTES_OUT },
    ],
    ...opts,
  };
  return transformModule.create(config, fakeContext({ name: 'transform/aggregation/plugin-aggregation' }));
}

const BASE_SEC = 1_700_000_000;
type Push = [MetricHandle, string, number | bigint, Parameters<BatchBuilder['push']>[3]?];
/** A batch of points given as [metric, seconds after BASE_SEC ("109.999999999", exact), value, options]. */
function batchOf(points: Push[]): Batch {
  const b = new BatchBuilder(2);
  for (const [metric, at, value, opts] of points) {
    const [whole, fraction = ''] = at.split('.');
    b.push(metric, { sec: BASE_SEC + Number(whole), nsec: Number(fraction.padEnd(9, '0')) }, value, opts);
  }
  return b.take();
}

/** metric, seconds after BASE_SEC, value. */
const shown = (points: Iterable<PointView>) => [...points].map((p) => [p.metric, p.timestamp.sec - BASE_SEC + p.timestamp.nsec / 1e9, p.value]);

test('windows start at multiples of the interval; a point at or past the end closes one; flush emits the open ones', async () => {
  const tr = await transform();
  const first = await tr.apply(
    batchOf([
      [ENERGY, '100.5', 1],
      [OTHER, '101', 7],
      [ENERGY, '103', 2],
      [ENERGY, '109.999999999', 3],
    ]),
  );
  assert.deepEqual(shown(first.points()), [[OTHER.id, 101, 7]], 'only the other metric passes; no window has closed');
  const second = await tr.apply(
    batchOf([
      [ENERGY, '110', 4],
      [ENERGY, '125', 5],
    ]),
  );
  assert.deepEqual(shown(second.points()), [
    [ENERGY_OUT.id, 100, 6],
    [ENERGY_OUT.id, 110, 4],
  ]);
  const held = await tr.flush!();
  assert.ok(held);
  assert.deepEqual(shown(held.points()), [[ENERGY_OUT.id, 120, 5]]);
  assert.equal(await tr.flush!(), undefined, 'flushed windows are gone');
});

test('a series is a metric, resource, consumer and attribute list: each has its windows, and its results carry them', async () => {
  const tr = await transform();
  const cpu = { kind: 'cpu_package', id: '0' };
  const pid = { kind: 'process', id: '42' };
  const series: Array<Parameters<BatchBuilder['push']>[3]> = [
    {},
    { resource: cpu },
    { consumer: pid },
    { attributes: [['k', 1]] },
    { attributes: [['k', 1n]] },
    { attributes: [['k', '1']] },
    { attributes: [['k', 1], ['j', true]] },
  ];
  // Two points per series in one window, then one point that closes each window.
  const points: Push[] = [];
  series.forEach((opts, k) => points.push([ENERGY, '0', k, opts], [ENERGY, '1', 10 * k, opts]));
  series.forEach((opts) => points.push([ENERGY, '10', 0, opts]));
  const out = await tr.apply(batchOf(points));
  assert.deepEqual(
    [...out.points()].map((p) => [p.value, p.resource, p.consumer, p.attributes]),
    series.map((opts, k) => [11 * k, opts?.resource ?? { kind: 'local_machine', id: '' }, opts?.consumer ?? { kind: 'local_machine', id: '' }, opts?.attributes ?? []]),
  );
});

test('sums and means keep the value type: u64 exactly, its mean by integer division; f64 as floats', async () => {
  const big = 2n ** 60n;
  const points: Push[] = [
    [BYTES, '0', big],
    [BYTES, '1', big + 3n],
    [ENERGY, '0', 1],
    [ENERGY, '1', 2],
    [BYTES, '10', 0],
    [ENERGY, '10', 0],
  ];
  const sums = await (await transform()).apply(batchOf(points));
  assert.deepEqual(
    [...sums.points()].map((p, i) => [p.metric, p.value, sums.type[i]]),
    [
      [BYTES_OUT.id, 2n * big + 3n, U64],
      [ENERGY_OUT.id, 3, F64],
    ],
  );
  const means = await (await transform({ mean: true })).apply(batchOf(points));
  assert.deepEqual(
    [...means.points()].map((p) => p.value),
    [big + 1n, 1.5],
  );
});

test('keep_inputs forwards the aggregated points too, with the results after them; a batch without them is forwarded as is', async () => {
  const tr = await transform({ keepInputs: true });
  const input = batchOf([
    [ENERGY, '0', 1],
    [OTHER, '0', 2],
    [ENERGY, '10', 3],
  ]);
  assert.deepEqual(shown((await tr.apply(input)).points()), [
    [ENERGY.id, 0, 1],
    [OTHER.id, 0, 2],
    [ENERGY.id, 10, 3],
    [ENERGY_OUT.id, 0, 1],
  ]);
  const unrelated = batchOf([[OTHER, '20', 4]]);
  assert.equal(await tr.apply(unrelated), unrelated);
  const dropping = await transform();
  const other = batchOf([[OTHER, '20', 4]]);
  assert.equal(await dropping.apply(other), other);
});
