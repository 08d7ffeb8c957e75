// The exporter's state and text formats, without HTTP: exact OpenMetrics and 0.0.4 bodies, escaping, delta
// counters, series_ttl expiry on a fake clock, content negotiation, and the time of a 10 000-series scrape
// (printed as a diagnostic, not asserted).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import { F64, U64, type MetricInfo } from '../../protocol/element-api.js';
import { parseUnit } from '../../protocol/units.js';
import { acceptsGzip, formatValue, negotiate, SeriesStore } from './exposition.js';

const TS = { sec: 1_700_000_000, nsec: 0 };

const METRICS: MetricInfo[] = [
  { id: 0, name: 'mem_total', description: 'MemTotal in /proc/meminfo', type: U64, unit: parseUnit('By') },
  { id: 1, name: 'kernel_cpu_time', description: 'busy CPU time', type: U64, unit: parseUnit('ms'), delta: true },
  { id: 2, name: 'temperature', description: 'say "hot"\\cold\nnext', type: F64, unit: parseUnit('1') },
];
const TABLE = new Map(METRICS.map((m) => [m.id, m]));
const OPTIONS = { prefix: '', suffix: '_alumet', addAttributesToLabels: true, ttlMs: 60_000 };
const LM = 'resource_consumer_id="",resource_consumer_kind="local_machine",resource_id="",resource_kind="local_machine"';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

test('OpenMetrics: HELP, TYPE, UNIT, samples, the _total counters of delta metrics, # EOF last', () => {
  const store = new SeriesStore(TABLE, OPTIONS, clock().now);
  const b = new BatchBuilder();
  b.push(METRICS[0]!, TS, 16_000_000_000n);
  b.push(METRICS[1]!, TS, 30n, { attributes: [['cpu_state', 'user']] });
  b.push(METRICS[1]!, TS, 12n, { resource: { kind: 'cpu_core', id: '1' }, attributes: [['cpu_state', 'user']] });
  store.ingest(b.take());
  b.push(METRICS[1]!, TS, 20n, { attributes: [['cpu_state', 'user']] });
  b.push(METRICS[0]!, TS, 17_000_000_000n);
  store.ingest(b.take());
  assert.equal(
    store.render('openmetrics'),
    [
      '# HELP mem_total_alumet_bytes MemTotal in /proc/meminfo.',
      '# TYPE mem_total_alumet_bytes gauge',
      '# UNIT mem_total_alumet_bytes bytes',
      `mem_total_alumet_bytes{${LM}} 17000000000.0`,
      '# HELP kernel_cpu_time_alumet_milliseconds busy CPU time.',
      '# TYPE kernel_cpu_time_alumet_milliseconds gauge',
      '# UNIT kernel_cpu_time_alumet_milliseconds milliseconds',
      `kernel_cpu_time_alumet_milliseconds{cpu_state="user",${LM}} 20.0`,
      'kernel_cpu_time_alumet_milliseconds{cpu_state="user",resource_consumer_id="",resource_consumer_kind="local_machine",resource_id="1",resource_kind="cpu_core"} 12.0',
      '# HELP kernel_cpu_time_alumet_milliseconds_total busy CPU time: sum of the deltas since the series appeared.',
      '# TYPE kernel_cpu_time_alumet_milliseconds_total unknown',
      `kernel_cpu_time_alumet_milliseconds_total{cpu_state="user",${LM}} 50.0`,
      'kernel_cpu_time_alumet_milliseconds_total{cpu_state="user",resource_consumer_id="",resource_consumer_kind="local_machine",resource_id="1",resource_kind="cpu_core"} 12.0',
      '# EOF',
      '',
    ].join('\n'),
  );
  assert.equal(store.size, 3);
});

test('text format 0.0.4: no UNIT and no # EOF, the sums typed counter', () => {
  const store = new SeriesStore(TABLE, OPTIONS, clock().now);
  const b = new BatchBuilder();
  b.push(METRICS[1]!, TS, 5n);
  store.ingest(b.take());
  assert.equal(
    store.render('text'),
    [
      '# HELP kernel_cpu_time_alumet_milliseconds busy CPU time.',
      '# TYPE kernel_cpu_time_alumet_milliseconds gauge',
      `kernel_cpu_time_alumet_milliseconds{${LM}} 5.0`,
      '# HELP kernel_cpu_time_alumet_milliseconds_total busy CPU time: sum of the deltas since the series appeared.',
      '# TYPE kernel_cpu_time_alumet_milliseconds_total counter',
      `kernel_cpu_time_alumet_milliseconds_total{${LM}} 5.0`,
      '',
    ].join('\n'),
  );
});

test('label values and help texts are escaped; prefix, suffix and add_attributes_to_labels apply', () => {
  const store = new SeriesStore(TABLE, { ...OPTIONS, prefix: 'my.', suffix: '', addAttributesToLabels: false }, clock().now);
  const b = new BatchBuilder();
  b.push(METRICS[2]!, TS, 1.5, { consumer: { kind: 'process', id: 'a"b\\c\nd' }, attributes: [['dropped', 'x']] });
  store.ingest(b.take());
  const om = store.render('openmetrics');
  assert.match(om, /^# HELP my_temperature say \\"hot\\"\\\\cold\\nnext\.$/m);
  assert.match(om, /^my_temperature\{resource_consumer_id="a\\"b\\\\c\\nd",resource_consumer_kind="process",resource_id="",resource_kind="local_machine"\} 1\.5$/m);
  assert.doesNotMatch(om, /# UNIT/, 'no unit, no UNIT line');
  assert.match(store.render('text'), /^# HELP my_temperature say "hot"\\\\cold\\nnext\.$/m, '0.0.4 does not escape quotes in HELP');
});

test('without add_attributes_to_labels, points that differ only by attributes are one series: the last value wins', () => {
  const store = new SeriesStore(TABLE, { ...OPTIONS, addAttributesToLabels: false }, clock().now);
  const b = new BatchBuilder();
  b.push(METRICS[1]!, TS, 1n, { attributes: [['cpu_state', 'user']] });
  b.push(METRICS[1]!, TS, 2n, { attributes: [['cpu_state', 'idle']] });
  store.ingest(b.take());
  assert.equal(store.size, 1);
  assert.match(store.render('text'), new RegExp(`^kernel_cpu_time_alumet_milliseconds\\{${LM}\\} 2\\.0$`, 'm'));
  assert.match(store.render('text'), new RegExp(`^kernel_cpu_time_alumet_milliseconds_total\\{${LM}\\} 3\\.0$`, 'm'));
});

test('series_ttl: a series without a point for that long is dropped, the others stay; an empty family goes too', () => {
  const c = clock();
  const store = new SeriesStore(TABLE, { ...OPTIONS, ttlMs: 1000 }, c.now);
  const b = new BatchBuilder();
  b.push(METRICS[0]!, TS, 1n);
  b.push(METRICS[1]!, TS, 1n, { consumer: { kind: 'process', id: '42' } });
  store.ingest(b.take());
  c.advance(600);
  b.push(METRICS[0]!, TS, 2n);
  store.ingest(b.take());
  c.advance(600); // process 42: 1200 ms without a point; mem_total: 600 ms
  const text = store.render('openmetrics');
  assert.equal(store.size, 1);
  assert.doesNotMatch(text, /kernel_cpu_time/);
  assert.match(text, /^mem_total_alumet_bytes\{.*\} 2\.0$/m);
  c.advance(1000);
  assert.equal(store.render('openmetrics'), '# EOF\n');
  // A write also sweeps (nobody may scrape), at most once per ttl.
  b.push(METRICS[1]!, TS, 1n, { consumer: { kind: 'process', id: '7' } });
  store.ingest(b.take());
  c.advance(5000);
  b.push(METRICS[0]!, TS, 3n);
  store.ingest(b.take());
  assert.equal(store.size, 1);
});

test('values: .0 on whole numbers, NaN, +Inf, -Inf, shortest decimals; a NaN delta leaves the sum alone', () => {
  assert.equal(formatValue(1), '1.0');
  assert.equal(formatValue(-0), '0.0');
  assert.equal(formatValue(1.5), '1.5');
  assert.equal(formatValue(0.1 + 0.2), '0.30000000000000004');
  assert.equal(formatValue(1e21), '1e+21');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
  assert.equal(formatValue(18446744073709551615), '18446744073709552000.0');
  const delta: MetricInfo = { id: 0, name: 'energy', description: 'd', type: F64, unit: parseUnit('J'), delta: true };
  const store = new SeriesStore(new Map([[0, delta]]), OPTIONS, clock().now);
  const b = new BatchBuilder();
  b.push(delta, TS, 2.5);
  b.push(delta, TS, NaN);
  b.push(delta, TS, 1);
  store.ingest(b.take());
  assert.match(store.render('text'), /^energy_alumet_joules_total\{.*\} 3\.5$/m);
});

test('whole numbers are written digit by digit up to 2^53, and as formatValue writes them beyond', () => {
  const store = new SeriesStore(TABLE, OPTIONS, clock().now);
  const b = new BatchBuilder();
  const values = [0, -0, 7, -7, 10, 1234567890, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 53 + 2, -(2 ** 60), 1e21, 0.5, -1e-7];
  for (const [k, v] of values.entries()) b.push(METRICS[2]!, TS, v, { consumer: { kind: 'process', id: String(k) } });
  store.ingest(b.take());
  const written = store.render('text').split('\n').filter((l) => l.startsWith('temperature_alumet{')).map((l) => l.slice(l.lastIndexOf(' ') + 1));
  assert.deepEqual(written, values.map(formatValue));
  assert.deepEqual(written.slice(0, 8), ['0.0', '0.0', '7.0', '-7.0', '10.0', '1234567890.0', '9007199254740991.0', '-9007199254740991.0']);
});

test('each scrape shows the values of the points ingested since the last one, and series that appeared or went', () => {
  const c = clock();
  const store = new SeriesStore(TABLE, { ...OPTIONS, ttlMs: 1000 }, c.now);
  const b = new BatchBuilder();
  const samples = (format: 'openmetrics' | 'text'): string[] => store.render(format).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  b.push(METRICS[0]!, TS, 1n);
  store.ingest(b.take());
  assert.deepEqual(samples('openmetrics'), [`mem_total_alumet_bytes{${LM}} 1.0`]);
  assert.deepEqual(samples('text'), [`mem_total_alumet_bytes{${LM}} 1.0`]);
  b.push(METRICS[0]!, TS, 2n);
  store.ingest(b.take());
  assert.deepEqual(samples('openmetrics'), [`mem_total_alumet_bytes{${LM}} 2.0`], 'a new value, same series');
  c.advance(600);
  b.push(METRICS[1]!, TS, 5n, { consumer: { kind: 'process', id: '42' } });
  store.ingest(b.take());
  const p42 = 'resource_consumer_id="42",resource_consumer_kind="process",resource_id="",resource_kind="local_machine"';
  assert.deepEqual(samples('openmetrics'), [
    `mem_total_alumet_bytes{${LM}} 2.0`,
    `kernel_cpu_time_alumet_milliseconds{${p42}} 5.0`,
    `kernel_cpu_time_alumet_milliseconds_total{${p42}} 5.0`,
  ]);
  c.advance(600); // mem_total: 1200 ms without a point
  assert.deepEqual(samples('text'), [`kernel_cpu_time_alumet_milliseconds{${p42}} 5.0`, `kernel_cpu_time_alumet_milliseconds_total{${p42}} 5.0`]);
  c.advance(1000);
  assert.deepEqual(samples('openmetrics'), [], 'process 42: 1600 ms without a point');
  b.push(METRICS[1]!, TS, 3n, { consumer: { kind: 'process', id: '42' } });
  store.ingest(b.take());
  assert.deepEqual(samples('openmetrics'), [`kernel_cpu_time_alumet_milliseconds{${p42}} 3.0`, `kernel_cpu_time_alumet_milliseconds_total{${p42}} 3.0`], 'a series that comes back after its ttl restarts its sum from 0');
});

test('points of different batches whose attributes give the same labels update one series', () => {
  const attribute: MetricInfo = { id: 0, name: 'x', description: 'd', type: F64, unit: parseUnit('1') };
  const store = new SeriesStore(new Map([[0, attribute]]), OPTIONS, clock().now);
  const b = new BatchBuilder();
  b.push(attribute, TS, 1, { attributes: [['a-b', 'v']] });
  store.ingest(b.take());
  b.push(attribute, TS, 2, { attributes: [['a.b', 'v']] });
  b.push(attribute, TS, 3, { attributes: [['a-b', 'v'], ['a.b', 'w']] });
  store.ingest(b.take());
  b.push(attribute, TS, 4, { attributes: [['n', 1]] });
  b.push(attribute, TS, 5, { attributes: [['n', '1']] });
  store.ingest(b.take());
  assert.equal(store.size, 2);
  assert.equal(store.render('text'), ['# HELP x_alumet d.', '# TYPE x_alumet gauge', `x_alumet{a_b="v",${LM}} 3.0`, `x_alumet{n="1",${LM}} 5.0`, ''].join('\n'));
});

test('a metric missing from the table is exposed under its id, not dropped', () => {
  const store = new SeriesStore(new Map(), OPTIONS, clock().now);
  const b = new BatchBuilder();
  b.push({ id: 9, name: 'x', type: U64 }, TS, 4n);
  store.ingest(b.take());
  assert.match(store.render('text'), /^unknown_metric_9_alumet\{.*\} 4\.0$/m);
});

test('negotiation: OpenMetrics when asked or when no format is named, 0.0.4 when text/plain is preferred', () => {
  const prometheus = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
  assert.equal(negotiate(prometheus), 'openmetrics');
  assert.equal(negotiate(undefined), 'openmetrics');
  assert.equal(negotiate('*/*'), 'openmetrics');
  assert.equal(negotiate('text/plain'), 'text');
  assert.equal(negotiate('text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5'), 'text');
  assert.equal(negotiate('application/openmetrics-text;q=0, text/plain;q=0.1'), 'text');
  assert.equal(negotiate('application/json'), 'openmetrics');
  assert.equal(acceptsGzip('gzip'), true);
  assert.equal(acceptsGzip('deflate, gzip;q=0.5'), true);
  assert.equal(acceptsGzip('gzip;q=0'), false);
  assert.equal(acceptsGzip('identity'), false);
  assert.equal(acceptsGzip(undefined), false);
});

test('a scrape of 10 000 series (timing printed, not asserted)', (t) => {
  const store = new SeriesStore(TABLE, OPTIONS, clock().now);
  const b = new BatchBuilder(10_000);
  const attrs = Array.from({ length: 100 }, (_, k) => [['cpu_state', `state_${k}`]] as const);
  for (let i = 0; i < 10_000; i++) {
    b.push(METRICS[i % 2]!, TS, BigInt(i), { consumer: { kind: 'process', id: String(i >> 1) }, attributes: attrs[i % 100]! });
  }
  store.ingest(b.take());
  assert.equal(store.size, 10_000);
  const times: number[] = [];
  let bytes = 0;
  for (let k = 0; k < 20; k++) {
    const start = performance.now();
    bytes = store.renderBytes('openmetrics').length;
    times.push(performance.now() - start);
  }
  times.sort((x, y) => x - y);
  t.diagnostic(`render of 10 000 series (+5 000 counters), ${bytes} bytes: p50 ${times[10]!.toFixed(2)} ms, max ${times[19]!.toFixed(2)} ms`);
});
