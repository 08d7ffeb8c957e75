// The csv plugin: config defaults and checks, and the exact text the output writes (real files, in-process;
// the worker-level tests live with the pipeline).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { F64, U64, type Batch, type AttrValue, type ResourceRef, type ValueType } from '../../protocol/batch.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import type { ElementContext, Output } from '../../protocol/element.js';
import type { MetricInfo } from '../../protocol/metrics.js';
import { parseUnit } from '../../protocol/units.js';
import { Problems } from '../../agent/config/schema.js';
import plugin from './index.js';
import outputModule, { type CsvOutputConfig } from './output.js';
import { ByteSink } from './byte-sink.js';
import { CsvFormatter } from './format-rows.js';
import { fakeContext as fakeElementContext } from '../../../test/helpers/element-context.js';

const TS = { sec: 1745593733, nsec: 996365220 }; // 2025-04-25T15:08:53.99636522Z
const TS_TEXT = '2025-04-25T15:08:53.99636522Z';
const FIXED = 'metric;timestamp;value;resource_kind;resource_id;consumer_kind;consumer_id;';

function metricTable(specs: [string, ValueType, string][]): Map<number, MetricInfo> {
  return new Map(specs.map(([name, type, unit], id) => [id, { id, name, type, unit: parseUnit(unit), description: '' }]));
}

const METRICS = metricTable([
  ['cpu_time_delta', U64, 'ns'],
  ['cpu_percent', F64, '%'],
  ['kernel_context_switches', U64, '1'],
  ['temperature', F64, 'Cel'],
  ['memory_usage', U64, 'By'],
  ['power', F64, 'kW'],
  ['latency', F64, 'μs'],
]);

interface Point {
  metric: number;
  value: number | bigint;
  ts?: { sec: number; nsec: number };
  resource?: ResourceRef;
  consumer?: ResourceRef;
  attributes?: [string, AttrValue][];
}

function batchOf(points: Point[], metrics = METRICS): Batch {
  const b = new BatchBuilder(4);
  for (const p of points) {
    const info = metrics.get(p.metric);
    const handle = { id: p.metric, name: info?.name ?? '?', type: info?.type ?? U64 };
    b.push(handle, p.ts ?? TS, p.value, { resource: p.resource, consumer: p.consumer, attributes: p.attributes });
  }
  return b.take();
}

interface LogRecord {
  level: string;
  msg: string | undefined;
}

function fakeContext(metrics = METRICS, isRestart = false): { ctx: ElementContext; logs: LogRecord[] } {
  const logs: LogRecord[] = [];
  const record = (level: string) => (_obj: unknown, msg?: string) => void logs.push({ level, msg });
  const log = { error: record('error'), warn: record('warn'), info: record('info'), debug: record('debug') };
  return { ctx: fakeElementContext({ name: 'output/csv/csv', log, metrics, isRestart }), logs };
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'alumet-csv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function configFor(path: string, overrides: Partial<CsvOutputConfig> = {}): CsvOutputConfig {
  return { ...(plugin.config.defaultValue() as CsvOutputConfig), output_path: path, ...overrides };
}

/** Creates the output and opens it, as the worker host does once the pipeline has started. */
async function openOutput(config: CsvOutputConfig, ctx: ElementContext): Promise<Output> {
  const out = await outputModule.create(config, ctx);
  await out.open?.();
  return out;
}

/** Runs the output in this thread: create, open, write each batch, close; returns the file's text. */
async function writeAll(t: TestContext, batches: Batch[], overrides: Partial<CsvOutputConfig> = {}, metrics = METRICS): Promise<string> {
  const path = join(tempDir(t), 'out.csv');
  const out = await openOutput(configFor(path, overrides), fakeContext(metrics).ctx);
  for (const b of batches) await out.write(b);
  await out.close?.();
  return readFileSync(path, 'utf8');
}

test('the plugin has Alumet’s keys and defaults', () => {
  assert.equal(plugin.name, 'csv');
  assert.deepEqual(plugin.config.defaultValue(), {
    output_path: 'alumet-output.csv',
    force_flush: true,
    append_unit_to_metric_name: true,
    use_unit_display_name: true,
    csv_delimiter: ';',
    csv_late_delimiter: ',',
  });
  // The element's config type and the schema agree (checked by the compiler).
  const typed: CsvOutputConfig = plugin.config.defaultValue();
  assert.equal(typed.output_path, 'alumet-output.csv');
});

test('config checks: delimiters are single characters that keep the file readable', () => {
  const cases: [Partial<CsvOutputConfig>, string[]][] = [
    [{}, []],
    [{ csv_delimiter: ',', csv_late_delimiter: '|' }, []],
    [{ csv_delimiter: '\t' }, []],
    [{ csv_delimiter: '→' }, []],
    [{ csv_delimiter: '' }, ['csv_delimiter: must be exactly one character, got ""']],
    [{ csv_delimiter: ';;' }, ['csv_delimiter: must be exactly one character, got ";;"']],
    [{ csv_delimiter: '"' }, ['csv_delimiter: "\\"" cannot separate cells']],
    [{ csv_delimiter: '\n' }, ['csv_delimiter: "\\n" cannot separate cells']],
    [{ csv_late_delimiter: ', ' }, ['csv_late_delimiter: must be exactly one character, got ", "']],
    [{ csv_late_delimiter: '=' }, ['csv_late_delimiter: "=" would make the k=v pairs unreadable']],
    [{ csv_delimiter: 'ab', csv_late_delimiter: '' }, ['csv_delimiter: must be', 'csv_late_delimiter: must be']],
  ];
  for (const [overrides, expected] of cases) {
    const problems = new Problems();
    plugin.check!(configFor('x.csv', overrides), problems);
    assert.equal(problems.list.length, expected.length, `${JSON.stringify(overrides)}: ${problems.list.join(' | ')}`);
    expected.forEach((start, i) => assert.ok(problems.list[i]!.startsWith(start), `${problems.list[i]} starts with ${start}`));
  }
});

test('an unknown key is refused with a suggestion', () => {
  const problems = new Problems();
  plugin.config.parse({ output_pth: 'x.csv' }, 'plugins.csv', problems);
  assert.equal(problems.list.length, 1);
  assert.match(problems.list[0]!, /^plugins\.csv\.output_pth: unknown key; did you mean "output_path"\?/);
});

test('start declares one output element loaded from output.js', async () => {
  const outputs: [string, URL, unknown][] = [];
  const claimed: [string, string][] = [];
  const ctx = {
    log: fakeContext().ctx.log,
    metric: () => assert.fail('csv registers no metric'),
    source: () => assert.fail('csv has no source'),
    transform: () => assert.fail('csv has no transform'),
    output: (name: string, module: URL, config: unknown) => void outputs.push([name, module, config]),
    claimOutputFile: (path: string, key: string) => void claimed.push([path, key]),
    serveControl: () => assert.fail('csv serves no control socket'),
  };
  const cfg = plugin.config.defaultValue();
  await plugin.start(cfg, ctx as never);
  assert.equal(outputs.length, 1);
  assert.equal(outputs[0]![0], 'csv');
  assert.match(outputs[0]![1].href, /\/plugins\/csv\/output\.js$/);
  assert.deepEqual(outputs[0]![2], cfg);
  assert.deepEqual(claimed, [['alumet-output.csv', 'output_path']], 'the file is claimed before any output opens it');
});

test('header and rows follow Alumet’s format, with units appended to metric names', async (t) => {
  const text = await writeAll(t, [
    batchOf([
      { metric: 0, value: 1500n, resource: { kind: 'cpu_core', id: '1' }, attributes: [['kind', 'user'], ['cpu', 1n]] },
      { metric: 1, value: 12.5, consumer: { kind: 'process', id: '4242' } },
      { metric: 2, value: 7n },
      { metric: 3, value: 41.25, attributes: [['cpu', 0n]] },
      { metric: 4, value: 2n ** 64n - 1n },
      { metric: 5, value: 1e-7 },
      { metric: 6, value: 3, ts: { sec: 1745593734, nsec: 0 } },
    ]),
  ]);
  assert.equal(
    text,
    [
      `${FIXED}cpu;kind;__late_attributes`,
      `cpu_time_delta_ns;${TS_TEXT};1500;cpu_core;1;local_machine;;1;user;`,
      `cpu_percent_%;${TS_TEXT};12.5;local_machine;;process;4242;;;`,
      `kernel_context_switches;${TS_TEXT};7;local_machine;;local_machine;;;;`,
      `temperature_°C;${TS_TEXT};41.25;local_machine;;local_machine;;0;;`,
      `memory_usage_B;${TS_TEXT};18446744073709551615;local_machine;;local_machine;;;;`,
      `power_kW;${TS_TEXT};0.0000001;local_machine;;local_machine;;;;`,
      `latency_μs;2025-04-25T15:08:54Z;3;local_machine;;local_machine;;;;`,
      '',
    ].join('\n'),
  );
});

test('unit suffixes: unique names, or none at all', async (t) => {
  const points = [0, 1, 2, 3, 4, 6].map((metric) => ({ metric, value: metric === 1 || metric === 3 || metric === 6 ? 1.5 : 1n }));
  const metricColumn = (text: string): string[] => text.trim().split('\n').slice(1).map((line) => line.split(';')[0]!);
  assert.deepEqual(metricColumn(await writeAll(t, [batchOf(points)], { use_unit_display_name: false })), [
    'cpu_time_delta_nanos',
    'cpu_percent_%',
    'kernel_context_switches_1',
    'temperature_Cel',
    'memory_usage_By',
    'latency_micros',
  ]);
  assert.deepEqual(metricColumn(await writeAll(t, [batchOf(points)], { append_unit_to_metric_name: false })), [
    'cpu_time_delta',
    'cpu_percent',
    'kernel_context_switches',
    'temperature',
    'memory_usage',
    'latency',
  ]);
});

test('values print like the Rust agent: exact u64, f64 without exponent, NaN and inf', async (t) => {
  const cases: [number, number | bigint, string][] = [
    // metric (0 = u64, 1 = f64), value, cell
    [0, 0n, '0'],
    [0, 2n ** 53n + 1n, '9007199254740993'],
    [0, 2n ** 64n - 1n, '18446744073709551615'],
    [0, 2n ** 32n, '4294967296'],
    [1, 3, '3'],
    [1, -2, '-2'],
    [1, 0, '0'],
    [1, -0, '-0'],
    [1, 0.1 + 0.2, '0.30000000000000004'],
    [1, 1e21, '1000000000000000000000'],
    [1, 2 ** 60, '1152921504606847000'], // shortest digits, then zeros, as Rust prints it
    [1, 1e-7, '0.0000001'],
    [1, NaN, 'NaN'],
    [1, Infinity, 'inf'],
    [1, -Infinity, '-inf'],
  ];
  const text = await writeAll(t, [batchOf(cases.map(([metric, value]) => ({ metric, value })))]);
  const values = text.trim().split('\n').slice(1).map((line) => line.split(';')[2]);
  assert.deepEqual(values, cases.map((c) => c[2]));
});

test('cells holding the delimiter, a quote, CR or LF are quoted as RFC 4180 says', async (t) => {
  const text = await writeAll(t, [
    batchOf([
      { metric: 2, value: 1n, resource: { kind: 'custom', id: 'a;b' }, consumer: { kind: 'say "hi"', id: 'line\nbreak' }, attributes: [['note', 'x;"y"']] },
      { metric: 2, value: 2n, resource: { kind: 'custom', id: 'cr\rhere' }, consumer: { kind: 'plain,comma', id: '' } },
    ]),
  ]);
  assert.equal(
    text,
    `${FIXED}note;__late_attributes\n` +
      `kernel_context_switches;${TS_TEXT};1;custom;"a;b";"say ""hi""";"line\nbreak";"x;""y""";\n` +
      `kernel_context_switches;${TS_TEXT};2;custom;"cr\rhere";plain,comma;;;\n`,
  );
});

test('keys first seen after the header go to __late_attributes, with the late delimiter escaped', async (t) => {
  const text = await writeAll(t, [
    batchOf([{ metric: 2, value: 1n, attributes: [['b', 'x'], ['a', 1.5]] }]),
    batchOf([
      { metric: 2, value: 2n, attributes: [['a', 2.5], ['zone', 'eu,west'], ['flag', true]] },
      { metric: 2, value: 3n, attributes: [['semi', 'p;q'], ['list', [1n, 2n, 3n]]] },
      { metric: 2, value: 4n, attributes: [['b', 'first'], ['b', 'last'], ['late', 'one'], ['late', 'two']] },
      { metric: 2, value: 5n },
    ]),
  ]);
  assert.equal(
    text,
    [
      `${FIXED}a;b;__late_attributes`,
      `kernel_context_switches;${TS_TEXT};1;local_machine;;local_machine;;1.5;x;`,
      `kernel_context_switches;${TS_TEXT};2;local_machine;;local_machine;;2.5;;zone=eu\\,west,flag=true`,
      // the whole late cell is quoted when it holds the cell delimiter; lists print as [1, 2, 3]
      `kernel_context_switches;${TS_TEXT};3;local_machine;;local_machine;;;;"semi=p;q,list=[1\\, 2\\, 3]"`,
      // a repeated key keeps its last value, as Alumet's map does
      `kernel_context_switches;${TS_TEXT};4;local_machine;;local_machine;;;last;late=two`,
      `kernel_context_switches;${TS_TEXT};5;local_machine;;local_machine;;;;`,
      '',
    ].join('\n'),
  );
});

test('attributes named like a fixed column never replace it: they go to the late attributes', async (t) => {
  const text = await writeAll(t, [batchOf([{ metric: 2, value: 1n, attributes: [['value', 99n], ['metric', 'x'], ['__late_attributes', 'y'], ['z', 'ok']] }])]);
  assert.equal(text, `${FIXED}z;__late_attributes\nkernel_context_switches;${TS_TEXT};1;local_machine;;local_machine;;ok;value=99,metric=x,__late_attributes=y\n`);
});

test('header columns are sorted by code point and quoted if needed', async (t) => {
  const text = await writeAll(t, [batchOf([{ metric: 2, value: 1n, attributes: [['é', 1n], ['Z', 2n], ['a;b', 3n], ['a', 4n], ['😀', 5n], ['\uffff', 6n]] }])]);
  const [header, row] = text.split('\n');
  assert.equal(header, `${FIXED}Z;a;"a;b";é;\uffff;😀;__late_attributes`);
  assert.equal(row, `kernel_context_switches;${TS_TEXT};1;local_machine;;local_machine;;2;4;3;1;6;5;`);
});

test('empty batches write nothing; the first batch with points sets the header; a file with no points gets the header', async (t) => {
  const empty = new BatchBuilder().take();
  const text = await writeAll(t, [empty, batchOf([{ metric: 2, value: 1n, attributes: [['k', 'v']] }]), empty]);
  assert.equal(text, `${FIXED}k;__late_attributes\nkernel_context_switches;${TS_TEXT};1;local_machine;;local_machine;;v;\n`);
  assert.equal(await writeAll(t, [empty, empty]), `${FIXED}__late_attributes\n`);
  assert.equal(await writeAll(t, []), `${FIXED}__late_attributes\n`);
});

test('other delimiters: "," with a late "|", and ":" which forces quoting of timestamps', async (t) => {
  const points: Point[] = [{ metric: 1, value: 0.5, resource: { kind: 'k', id: 'a,b' }, attributes: [['t', 'x']] }];
  const late: Point = { metric: 1, value: 2, attributes: [['u', 'p|q,r']] };
  assert.equal(
    await writeAll(t, [batchOf(points), batchOf([late])], { csv_delimiter: ',', csv_late_delimiter: '|' }),
    'metric,timestamp,value,resource_kind,resource_id,consumer_kind,consumer_id,t,__late_attributes\n' +
      `cpu_percent_%,${TS_TEXT},0.5,k,"a,b",local_machine,,x,\n` +
      `cpu_percent_%,${TS_TEXT},2,local_machine,,local_machine,,,"u=p\\|q,r"\n`,
  );
  assert.equal(
    await writeAll(t, [batchOf([{ metric: 1, value: 0.5 }])], { csv_delimiter: ':' }),
    'metric:timestamp:value:resource_kind:resource_id:consumer_kind:consumer_id:__late_attributes\n' +
      `cpu_percent_%:"${TS_TEXT}":0.5:local_machine::local_machine::\n`,
  );
  assert.equal(
    await writeAll(t, [batchOf([{ metric: 1, value: -1.5, attributes: [['k', 'x']] }])], { csv_delimiter: '→' }),
    FIXED.replaceAll(';', '→') + 'k→__late_attributes\n' + `cpu_percent_%→${TS_TEXT}→-1.5→local_machine→→local_machine→→x→\n`,
  );
});

test('create leaves the file alone; open truncates it; with force_flush each batch is on disk when write returns', async (t) => {
  const path = join(tempDir(t), 'out.csv');
  const old = 'old content that must go\n'.repeat(100);
  writeFileSync(path, old);
  const out = await outputModule.create(configFor(path), fakeContext().ctx);
  await assert.rejects(async () => out.write(batchOf([{ metric: 2, value: 0n }])), /is not open for writing/);
  await out.close?.();
  assert.equal(readFileSync(path, 'utf8'), old, 'an output closed before it opened changed nothing');
  await out.open?.();
  assert.equal(readFileSync(path, 'utf8'), '');
  await out.write(batchOf([{ metric: 2, value: 1n }]));
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 3, 'header and one row');
  await out.write(batchOf([{ metric: 2, value: 2n }, { metric: 2, value: 3n }]));
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 5);
  await out.close?.();
  await out.close?.(); // twice is safe
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 5);
  await assert.rejects(async () => out.write(batchOf([{ metric: 2, value: 4n }])), /is not open for writing/);
});

test('a restarted output appends under the existing header instead of truncating the file', async (t) => {
  const path = join(tempDir(t), 'out.csv');
  const first = await openOutput(configFor(path), fakeContext().ctx);
  await first.write(batchOf([{ metric: 2, value: 1n, attributes: [['b', 'x']] }]));
  await first.close?.();
  const restarted = await openOutput(configFor(path), fakeContext(METRICS, true).ctx);
  await restarted.write(batchOf([{ metric: 2, value: 2n, attributes: [['b', 'y'], ['c', 'z']] }]));
  await restarted.close?.();
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 3, 'one header and two rows');
  assert.ok(lines[0]!.endsWith(';b;__late_attributes'), lines[0]);
  assert.ok(lines[2]!.endsWith(';y;c=z'), 'the second row uses the first header and puts new keys in the late column');
});

test('without force_flush rows are buffered until about 1 MiB, and close writes the rest', async (t) => {
  const path = join(tempDir(t), 'out.csv');
  const out = await openOutput(configFor(path, { force_flush: false }), fakeContext().ctx);
  await out.write(batchOf([{ metric: 2, value: 1n }]));
  assert.equal(readFileSync(path, 'utf8'), '', 'a small batch stays in memory');
  const big = batchOf(Array.from({ length: 20000 }, (_, i) => ({ metric: 0, value: BigInt(i), attributes: [['pad', 'x'.repeat(40)]] as [string, AttrValue][] })));
  await out.write(big);
  const flushed = readFileSync(path, 'utf8');
  assert.ok(flushed.length > 1 << 20, `over 1 MiB reached the file (${flushed.length} bytes)`);
  await out.close?.();
  const rows = readFileSync(path, 'utf8').trimEnd().split('\n');
  assert.equal(rows.length, 1 + 1 + 20000);
  assert.equal(rows.at(-1)!.split(';')[2], '19999');
});

test('a metric missing from the table is written as unknown_metric_ID with one warning', async (t) => {
  const path = join(tempDir(t), 'out.csv');
  const { ctx, logs } = fakeContext();
  const out = await openOutput(configFor(path), ctx);
  const handle = { id: 42, name: 'ghost', type: U64 } as const;
  const b = new BatchBuilder();
  b.push(handle, TS, 1n);
  b.push(handle, TS, 2n);
  await out.write(b.take());
  await out.close?.();
  const rows = readFileSync(path, 'utf8').trim().split('\n').slice(1);
  assert.deepEqual(rows.map((r) => r.split(';')[0]), ['unknown_metric_42', 'unknown_metric_42']);
  assert.equal(logs.filter((l) => l.level === 'warn').length, 1);
  assert.match(logs[0]!.msg!, /metric id 42/);
});

test('an output_path that cannot be opened fails at open, naming the path', async (t) => {
  const path = join(tempDir(t), 'no-such-dir', 'out.csv');
  await assert.rejects(async () => openOutput(configFor(path), fakeContext().ctx), (e: Error) => {
    assert.match(e.message, /^output\/csv\/csv: cannot open output_path ".*no-such-dir\/out\.csv" for writing: ENOENT/);
    return true;
  });
});

test('CsvFormatter and ByteSink give the same text as the file, batch after batch', () => {
  const formatter = new CsvFormatter({ delimiter: ';', lateDelimiter: ',', appendUnitToMetricName: true, useUnitDisplayName: true }, METRICS);
  const sink = new ByteSink(8); // tiny, so every row makes it grow
  formatter.formatInto(batchOf([{ metric: 3, value: 20.5, resource: { kind: 'sensor', id: 'température' } }]), sink);
  formatter.formatInto(batchOf([{ metric: 0, value: 12345678901234567890n, ts: { sec: 0, nsec: 5 } }]), sink);
  assert.equal(
    sink.toString(),
    `${FIXED}__late_attributes\n` +
      `temperature_°C;${TS_TEXT};20.5;sensor;température;local_machine;;\n` +
      'cpu_time_delta_ns;1970-01-01T00:00:00.000000005Z;12345678901234567890;local_machine;;local_machine;;\n',
  );
  assert.equal(formatter.format(new BatchBuilder().take()), '');
  sink.consume(FIXED.length);
  assert.ok(sink.toString().startsWith('__late_attributes\ntemperature_°C;'));
});
