// Tests of the OTLP encoding: batches become ExportMetricsServiceRequests whose names, units, descriptions,
// attributes, nanosecond timestamps and values read back exactly as the Rust plugin sends them, decoded with
// the code generated from the official opentelemetry-proto definitions (test/helpers/otlp-receiver.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F64, U64, type ValueType } from '../../protocol/batch.js';
import type { MetricInfo } from '../../protocol/metrics.js';
import { parseUnit } from '../../protocol/units.js';
import { batchOf, type Point } from '../../../test/helpers/csv-output.js';
import { decodeRequest, pointsOf, type ReceivedPoint } from '../../../test/helpers/otlp-receiver.js';
import { RequestEncoder, type EncoderOptions } from './encode.js';

function metrics(specs: Array<[string, ValueType, string, string]>): Map<number, MetricInfo> {
  return new Map(specs.map(([name, type, unit, description], id) => [id, { id, name, type, unit: parseUnit(unit), description }]));
}

const METRICS = metrics([
  ['mem_total', U64, 'By', 'total memory'],
  ['kernel_cpu_time', U64, 'ms', 'time spent by the CPU'],
  ['cpu_percent', F64, '%', 'share of the CPU'],
  ['temperature', F64, 'Cel', 'temperature of a zone'],
  ['latency', F64, 'μs', 'wait'],
  ['kernel_new_forks', U64, '1', 'forks'],
  ['disk-io.bytes', U64, 'kBy', 'a name with characters Prometheus would refuse'],
]);

const OPTIONS: EncoderOptions = { prefix: '', suffix: '_alumet', useUnitDisplayName: true, addAttributesToLabels: true, version: '0.1.0' };

function encoded(points: Point[], options: Partial<EncoderOptions> = {}): ReceivedPoint[] {
  return pointsOf(decodeRequest(new RequestEncoder({ ...OPTIONS, ...options }, METRICS).encode(batchOf(points, METRICS))));
}

const LOCAL = [
  ['resource_consumer_id', 'empty'],
  ['resource_consumer_kind', 'local_machine'],
  ['resource_id', 'empty'],
  ['resource_kind', 'local_machine'],
];

test('one request: the Rust resource and scope, one gauge per metric name with its description and display unit', () => {
  const body = decodeRequest(
    new RequestEncoder(OPTIONS, METRICS).encode(
      batchOf(
        [
          { metric: 0, value: 7n },
          { metric: 2, value: 12.5 },
          { metric: 0, value: 8n },
          { metric: 3, value: 41.5 },
          { metric: 4, value: 3.25 },
          { metric: 5, value: 2n },
        ],
        METRICS,
      ),
    ),
  );
  assert.equal(body.resourceMetrics.length, 1);
  const [rm] = body.resourceMetrics;
  assert.deepEqual(rm!.resource!.attributes, [{ key: 'service.name', value: { stringValue: 'alumet-otlp-grpc' } }]);
  assert.equal(rm!.scopeMetrics.length, 1);
  const [sm] = rm!.scopeMetrics;
  assert.deepEqual(sm!.scope, { name: 'alumet', version: '0.1.0', attributes: [{ key: 'tool', value: { stringValue: 'alumet' } }], droppedAttributesCount: 0 });
  // first seen first; both mem_total points in one gauge
  assert.deepEqual(
    sm!.metrics.map((m) => [m.name, m.unit, m.description, m.gauge!.dataPoints.length]),
    [
      ['mem_total_alumet', 'B', 'total memory', 2],
      ['cpu_percent_alumet', '%', 'share of the CPU', 1],
      ['temperature_alumet', '°C', 'temperature of a zone', 1],
      ['latency_alumet', 'μs', 'wait', 1],
      ['kernel_new_forks_alumet', '', 'forks', 1],
    ],
  );
  for (const m of sm!.metrics) assert.ok(m.gauge !== undefined && m.sum === undefined && m.histogram === undefined, `${m.name} is a gauge only`);
});

test('names are prefix + name + suffix, not sanitised; units are unique names when use_unit_display_name is false', () => {
  const points = encoded(
    [
      { metric: 6, value: 1n },
      { metric: 1, value: 2n },
      { metric: 3, value: 3 },
      { metric: 4, value: 4 },
      { metric: 5, value: 5n },
    ],
    { prefix: 'node.', suffix: '', useUnitDisplayName: false },
  );
  assert.deepEqual(
    points.map((p) => [p.metric, p.unit]),
    [
      ['node.disk-io.bytes', 'kiloBy'],
      ['node.kernel_cpu_time', 'millis'],
      ['node.temperature', 'Cel'],
      ['node.latency', 'micros'],
      ['node.kernel_new_forks', '1'],
    ],
  );
  assert.deepEqual(encoded([{ metric: 6, value: 1n }]).map((p) => [p.metric, p.unit]), [['disk-io.bytes_alumet', 'kB']]);
});

test('every data point has its exact nanosecond timestamp, start time 0 and its value as a double', () => {
  const points = encoded([
    { metric: 0, value: 2n ** 53n + 1n, ts: { sec: 1745593733, nsec: 996365221 } },
    { metric: 0, value: 18446744073709551615n, ts: { sec: 1745593733, nsec: 999999999 } },
    { metric: 1, value: 0n, ts: { sec: 4102444800, nsec: 1 } },
    { metric: 2, value: -0.1, ts: { sec: 1, nsec: 0 } },
    { metric: 2, value: 1e-300, ts: { sec: 1745593734, nsec: 500 } },
  ]);
  assert.deepEqual(
    points.map((p) => p.time),
    [1745593733996365221n, 1745593733999999999n, 4102444800000000001n, 1000000000n, 1745593734000000500n],
  );
  assert.ok(points.every((p) => p.startTime === 0n));
  // u64 values become doubles as Rust's `as f64` makes them: rounded to the nearest, ties to even.
  assert.deepEqual(
    points.map((p) => p.value),
    [2 ** 53, 18446744073709551616, 0, -0.1, 1e-300],
  );
});

test('attributes are strings sorted by key: the resource and consumer keys ("empty" for no id), then each attribute as Alumet prints it', () => {
  const [local, process, core] = encoded([
    { metric: 1, value: 1n },
    {
      metric: 1,
      value: 2n,
      resource: { kind: 'cpu_package', id: '0' },
      consumer: { kind: 'process', id: '4242' },
      attributes: [
        ['cpu_state', 'user'],
        ['zone', ''],
        ['count', 18446744073709551615n],
        ['ratio', 0.000001],
        ['ok', true],
        ['cores', [1n, 2n, 3n]],
        ['Upper', 'sorted before lower case'],
        ['__proto__', 'an attribute like any other'],
      ],
    },
    { metric: 1, value: 3n, resource: { kind: 'cpu_core', id: '3' }, attributes: [['resource_kind', 'clash'], ['a-b.c', 'kept as is']] },
  ]);
  assert.deepEqual(local!.attributes, LOCAL);
  assert.deepEqual(process!.attributes, [
    ['Upper', 'sorted before lower case'],
    ['__proto__', 'an attribute like any other'],
    ['cores', '[1, 2, 3]'],
    ['count', '18446744073709551615'],
    ['cpu_state', 'user'],
    ['ok', 'true'],
    ['ratio', '0.000001'],
    ['resource_consumer_id', '4242'],
    ['resource_consumer_kind', 'process'],
    ['resource_id', '0'],
    ['resource_kind', 'cpu_package'],
    ['zone', 'empty'],
  ]);
  // An attribute named like a resource key would repeat the key, which OTLP forbids: the resource's stays.
  assert.deepEqual(core!.attributes, [
    ['a-b.c', 'kept as is'],
    ['resource_consumer_id', 'empty'],
    ['resource_consumer_kind', 'local_machine'],
    ['resource_id', '3'],
    ['resource_kind', 'cpu_core'],
  ]);
});

test('with add_attributes_to_labels = false only the four resource keys are sent', () => {
  const [p] = encoded([{ metric: 1, value: 1n, attributes: [['cpu_state', 'user']] }], { addAttributesToLabels: false });
  assert.deepEqual(p!.attributes, LOCAL);
});

test('a point of a metric the output does not know is sent under a name that says so', () => {
  const points = pointsOf(decodeRequest(new RequestEncoder(OPTIONS, new Map()).encode(batchOf([{ metric: 9, value: 4n }], METRICS))));
  assert.deepEqual(points.map((p) => [p.metric, p.value]), [['unknown_metric_9_alumet', 4]]);
});
