// Tests of the remote-write encoding: batches become series whose labels, names, values and millisecond
// timestamps read back exactly, decoded from our own bytes with protobufjs and snappyjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uncompress } from 'snappyjs';
import { F64, U64 } from '../../protocol/batch.js';
import { batchOf, metricTable } from '../../../test/helpers/csv-output.js';
import { SeriesEncoder, WriteRequest, encodeWriteRequest, remoteWriteBody, type SeriesOptions } from './encode.js';

const METRICS = metricTable([
  ['mem_total', U64, 'By'],
  ['kernel_cpu_time', U64, 'ms'],
  ['cpu_percent', F64, '%'],
]);
const OPTIONS: SeriesOptions = { prefix: '', suffix: '_alumet', addAttributesToLabels: true, externalLabels: {} };

interface Decoded {
  timeseries: Array<{ labels: Array<{ name: string; value: string }>; samples: Array<{ value: number; timestamp: number }> }>;
}

function decode(body: Uint8Array): Decoded {
  const message = WriteRequest.decode(uncompress(body));
  return WriteRequest.toObject(message, { longs: Number, defaults: true }) as Decoded;
}

const labelsOf = (s: Decoded['timeseries'][number]): Record<string, string> => Object.fromEntries(s.labels.map((l) => [l.name, l.value]));

test('a batch becomes one series per metric, resource, consumer and attributes, with sorted labels and exact samples', () => {
  const series = new SeriesEncoder(OPTIONS, METRICS).series(
    batchOf(
      [
        { metric: 0, value: 2n ** 40n + 3n, ts: { sec: 1745593733, nsec: 996365220 } },
        { metric: 1, value: 150n, ts: { sec: 1745593733, nsec: 1_000_000 }, resource: { kind: 'cpu_core', id: '1' }, attributes: [['cpu_state', 'user']] },
        { metric: 1, value: 20n, ts: { sec: 1745593733, nsec: 1_000_000 }, resource: { kind: 'cpu_core', id: '1' }, attributes: [['cpu_state', 'system']] },
        { metric: 2, value: 12.5, ts: { sec: 1745593734, nsec: 999_999_999 }, consumer: { kind: 'process', id: '42' } },
        { metric: 0, value: 7n, ts: { sec: 1745593732, nsec: 0 } },
      ],
      METRICS,
    ),
  );
  assert.equal(series.reduce((n, s) => n + s.samples.length, 0), 5);
  const decoded = decode(remoteWriteBody(series));
  assert.equal(decoded.timeseries.length, 4);
  for (const s of decoded.timeseries) {
    const names = s.labels.map((l) => l.name);
    assert.deepEqual(names, [...names].sort(), 'labels sorted by name');
    const stamps = s.samples.map((x) => x.timestamp);
    assert.deepEqual(stamps, [...stamps].sort((a, b) => a - b), 'samples in timestamp order');
  }
  const [mem, user, system, percent] = decoded.timeseries;
  assert.deepEqual(labelsOf(mem!), {
    __name__: 'mem_total_alumet_bytes',
    resource_consumer_id: '',
    resource_consumer_kind: 'local_machine',
    resource_id: '',
    resource_kind: 'local_machine',
  });
  // 1745593732000 first: the samples of a series are sorted, not in arrival order
  assert.deepEqual(mem!.samples, [
    { value: 7, timestamp: 1745593732000 },
    { value: 2 ** 40 + 3, timestamp: 1745593733996 },
  ]);
  assert.deepEqual(labelsOf(user!), {
    __name__: 'kernel_cpu_time_alumet_milliseconds',
    cpu_state: 'user',
    resource_consumer_id: '',
    resource_consumer_kind: 'local_machine',
    resource_id: '1',
    resource_kind: 'cpu_core',
  });
  assert.deepEqual(user!.samples, [{ value: 150, timestamp: 1745593733001 }]);
  assert.equal(labelsOf(system!)['cpu_state'], 'system');
  assert.deepEqual(labelsOf(percent!)['__name__'], 'cpu_percent_alumet_ratio');
  assert.deepEqual(labelsOf(percent!)['resource_consumer_id'], '42');
  assert.deepEqual(percent!.samples, [{ value: 12.5, timestamp: 1745593734999 }], 'milliseconds are truncated, never rounded up');
});

test('prefix, suffix, no attribute labels, and external labels that never replace a label of the series', () => {
  const encoder = new SeriesEncoder({ prefix: 'node_', suffix: '', addAttributesToLabels: false, externalLabels: { instance: 'host-1', resource_kind: 'ignored' } }, METRICS);
  const decoded = decode(remoteWriteBody(encoder.series(batchOf([{ metric: 1, value: 1n, attributes: [['cpu_state', 'user']] }], METRICS))));
  assert.deepEqual(decoded.timeseries[0]!.labels, [
    { name: '__name__', value: 'node_kernel_cpu_time_milliseconds' },
    { name: 'instance', value: 'host-1' },
    { name: 'resource_consumer_id', value: '' },
    { name: 'resource_consumer_kind', value: 'local_machine' },
    { name: 'resource_id', value: '' },
    { name: 'resource_kind', value: 'local_machine' },
  ]);
});

test('series come in the order first seen, each with its samples in timestamp order', () => {
  const points = [];
  for (let i = 0; i < 7; i++) points.push({ metric: 0, value: BigInt(i), ts: { sec: 1000 + i, nsec: 0 } });
  for (let i = 0; i < 3; i++) points.push({ metric: 2, value: i + 0.5, ts: { sec: 1000 + i, nsec: 0 } });
  const series = new SeriesEncoder(OPTIONS, METRICS).series(batchOf(points.reverse(), METRICS));
  // the points came newest first, cpu_percent's before mem_total's: cpu_percent's series was seen first
  assert.deepEqual(series.map((s) => s.labels[0]![1]), ['cpu_percent_alumet_ratio', 'mem_total_alumet_bytes']);
  assert.deepEqual(series[1]!.samples.map((s) => s.value), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(series[1]!.samples.map((s) => s.timestamp), [0, 1, 2, 3, 4, 5, 6].map((i) => (1000 + i) * 1000));
  assert.deepEqual(series[0]!.samples.map((s) => s.value), [0.5, 1.5, 2.5]);
});

test('the protobuf bytes are those of the remote-write schema: field numbers and wire types by hand', () => {
  const bytes = encodeWriteRequest([{ labels: [['__name__', 'x']], samples: [{ value: 1, timestamp: 2 }] }]);
  // WriteRequest.timeseries = 1 (LEN) { TimeSeries.labels = 1 (LEN) { name = 1, value = 2 }, samples = 2 (LEN) { value = 1 (I64), timestamp = 2 (VARINT) } }
  const label = [0x0a, 8, 0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f, 0x12, 1, 0x78];
  const sample = [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 2];
  const series = [0x0a, label.length, ...label, 0x12, sample.length, ...sample];
  assert.deepEqual([...bytes], [0x0a, series.length, ...series]);
  // snappy block format: the uncompressed length as a varint first
  const body = remoteWriteBody([{ labels: [['__name__', 'x']], samples: [{ value: 1, timestamp: 2 }] }]);
  assert.equal(body[0], bytes.length);
  assert.deepEqual([...uncompress(body)], [...bytes]);
});
