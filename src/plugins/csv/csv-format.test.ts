// Tests of the csv output's text: Alumet's header, rows, units, number formats, quoting and late attributes,
// written by the output in this thread to a real file from crafted batches and metric tables (the plugin
// harness runs it in a worker: csv.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import { ByteSink } from '../shared/byte-sink.js';
import { CsvFormatter } from './format-rows.js';
import { FIXED, METRICS, TS_TEXT, batchOf, writeAll, type Point } from '../../../test/helpers/csv-output.js';

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
