// Tests of the line protocol encoding: the Rust plugin's lines (measurement, tag order, empty tags left out,
// renamed attributes, value formats, nanosecond timestamps), attributes as tags or fields, InfluxDB 1.x's
// signed integers, NaN and infinite values skipped, the escaping of names, and the points that InfluxDB
// would keep as one with another (same series and timestamp) counted collapsed. What the real server makes
// of these lines is in influxdb.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F64, U64 } from '../../protocol/batch.js';
import { batchOf, metricTable, type Point } from '../../../test/helpers/csv-output.js';
import { LineEncoder, escapeName, quoteString, type LineOptions } from './line-protocol.js';

const METRICS = metricTable([
  ['kernel_cpu_time', U64, 'ms'],
  ['cpu_percent', F64, '%'],
  ['odd name,1', F64, '1'],
]);
const TS = { sec: 1_700_000_000, nsec: 5 };
const FIELD: LineOptions = { attributesAs: 'field', asTags: new Set(), asFields: new Set(), unsigned: true };
const TAG: LineOptions = { ...FIELD, attributesAs: 'tag' };

/** The write of `points`, its body as text (read at once: it is the encoder's buffer). */
function encode(options: LineOptions, points: Point[]) {
  const out = new LineEncoder(options, METRICS).encode(batchOf(points, METRICS), undefined);
  return { ...out, body: Buffer.from(out.body).toString() };
}

test("each point is one line as the Rust plugin writes it: measurement, resource tags, attribute fields, value, nanoseconds", () => {
  const out = encode(FIELD, [
    { metric: 0, value: 150n, ts: TS, resource: { kind: 'cpu_core', id: '1' }, attributes: [['cpu_state', 'user']] },
    { metric: 1, value: 12.5, ts: { sec: 1_700_000_001, nsec: 999_999_999 }, consumer: { kind: 'process', id: '42' } },
    { metric: 1, value: 123, ts: { sec: 1_700_000_002, nsec: 0 }, attributes: [['ok', true], ['n', 3n], ['x', 0.5], ['cpus', [1n, 2n, 3n]], ['no', false]] },
  ]);
  assert.equal(
    out.body,
    [
      'kernel_cpu_time,resource_kind=cpu_core,resource_id=1,resource_consumer_kind=local_machine cpu_state="user",value=150u 1700000000000000005',
      'cpu_percent,resource_kind=local_machine,resource_consumer_kind=process,resource_consumer_id=42 value=12.5 1700000001999999999',
      'cpu_percent,resource_kind=local_machine,resource_consumer_kind=local_machine ok=T,n=3u,x=0.5,cpus="1,2,3",no=F,value=123 1700000002000000000',
    ].join('\n'),
    'empty ids left out; f64 123.0 written 123; u64 with u; lines joined without a trailing line break',
  );
  assert.deepEqual([out.lines, out.skipped, out.collapsed, out.notes], [3, 0, 0, []]);
});

test('attributes go to tags or fields by attributes_as and its exceptions, in their order; reserved names are renamed', () => {
  const point: Point = { metric: 1, value: 1, ts: TS, attributes: [['b', 'x'], ['a', 2n], ['resource_id', 'r'], ['value', 'v']] };
  const line = (o: Partial<LineOptions>): string => encode({ ...FIELD, ...o }, [point]).body;
  const tags = 'cpu_percent,resource_kind=local_machine,resource_consumer_kind=local_machine';
  assert.equal(line({}), `${tags} b="x",a=2u,resource_id="r",alumet_attribute__value="v",value=1 1700000000000000005`);
  assert.equal(line({ asTags: new Set(['a', 'resource_id']) }), `${tags},a=2,alumet_attribute__resource_id=r b="x",alumet_attribute__value="v",value=1 1700000000000000005`);
  assert.equal(line({ attributesAs: 'tag' }), `${tags},b=x,a=2,alumet_attribute__resource_id=r,value=v value=1 1700000000000000005`);
  assert.equal(line({ attributesAs: 'tag', asFields: new Set(['a', 'value']) }), `${tags},b=x,alumet_attribute__resource_id=r a=2u,alumet_attribute__value="v",value=1 1700000000000000005`);
  // An empty tag value is left out, like an empty id; an attribute with an empty key is left out too.
  assert.equal(encode(TAG, [{ metric: 1, value: 1, ts: TS, attributes: [['e', ''], ['', 'no key']] }]).body, `${tags} value=1 1700000000000000005`);
});

test('for InfluxDB 1.x a u64 is a signed integer; one beyond 2^63 - 1, a NaN or an infinity is skipped, with a note', () => {
  const v1: LineOptions = { ...FIELD, unsigned: false };
  const out = encode(v1, [
    { metric: 0, value: 2n ** 63n - 1n, ts: TS },
    { metric: 0, value: 2n ** 63n, ts: TS, attributes: [['k', 'a']] },
    { metric: 1, value: NaN, ts: TS },
    { metric: 1, value: -Infinity, ts: TS, attributes: [['k', 'b']] },
    { metric: 1, value: 2, ts: TS, attributes: [['n', 2n ** 64n - 1n]] },
    { metric: 1, value: 3, ts: TS, attributes: [['f', Infinity]] },
    { metric: 1, value: 4, ts: TS, attributes: [['n', 7n]] },
  ]);
  assert.equal(
    out.body,
    [
      'kernel_cpu_time,resource_kind=local_machine,resource_consumer_kind=local_machine value=9223372036854775807i 1700000000000000005',
      'cpu_percent,resource_kind=local_machine,resource_consumer_kind=local_machine n=7i,value=4 1700000000000000005',
    ].join('\n'),
  );
  assert.equal(out.skipped, 5);
  assert.deepEqual(
    out.notes.map((n) => n.kind),
    ['beyond-i64', 'not-finite'],
  );
  assert.match(out.notes[0]!.text, /^kernel_cpu_time: 9223372036854775808 is beyond the largest integer InfluxDB 1\.x holds/);
  assert.match(out.notes[1]!.text, /^cpu_percent: NaN \(line protocol has no NaN or infinity\)/);
  // For InfluxDB 2 the same u64 values are written, with u.
  assert.equal(encode(FIELD, [{ metric: 0, value: 2n ** 64n - 1n, ts: TS }]).body.split(' ')[1], 'value=18446744073709551615u');
});

test('names escape comma, space and equals sign; a line break becomes \\n and a final backslash goes, with a note', () => {
  const cases: Array<[string, boolean, string, boolean]> = [
    ['plain_name', false, 'plain_name', false],
    ['a b,c=d', false, 'a\\ b\\,c\\=d', false],
    ['a b,c=d', true, 'a\\ b\\,c=d', false],
    ['q"uote', false, 'q"uote', false],
    ['back\\slash', false, 'back\\slash', false],
    ['back\\,comma', false, 'back\\\\,comma', false],
    ['line\nbreak', false, 'line\\nbreak', true],
    ['ends\\\\', false, 'ends', true],
    ['', false, '', false],
  ];
  for (const [name, measurement, text, rewritten] of cases) assert.deepEqual(escapeName(name, measurement), { text, rewritten }, JSON.stringify(name));
  assert.equal(quoteString('a "b" \\ c\nd'), '"a \\"b\\" \\\\ c\nd"');
  const out = encode(TAG, [{ metric: 2, value: 1, ts: TS, attributes: [['k', 'x\ny']] }]);
  assert.equal(out.body, 'odd\\ name\\,1,resource_kind=local_machine,resource_consumer_kind=local_machine,k=x\\ny value=1 1700000000000000005');
  assert.deepEqual(out.notes, [{ kind: 'rewritten-name', text: 'odd name,1: "x\\ny"' }]);
});

test('timestamps are exact nanoseconds; values print as Rust prints them', () => {
  const stamps = [
    { sec: 1_700_000_000, nsec: 5 },
    { sec: 1_700_000_000, nsec: 123_456_789 },
    { sec: 0, nsec: 42 },
    { sec: 4_102_444_800, nsec: 0 },
  ];
  const values = [0, -0, 2 ** 53, 1e21, 1e-7, -2.5];
  const out = encode(FIELD, [...stamps.map((ts, i) => ({ metric: 1, value: i, ts })), ...values.map((value, i) => ({ metric: 1, value, ts: { sec: 1, nsec: i } }))]);
  const tokens = out.body.split('\n').map((l) => l.split(' ').slice(1));
  assert.deepEqual(
    tokens.slice(0, 4).map((t) => t[1]),
    ['1700000000000000005', '1700000000123456789', '42', '4102444800000000000'],
  );
  assert.deepEqual(
    tokens.slice(4).map((t) => t[0]),
    ['value=0', 'value=-0', 'value=9007199254740992', 'value=1000000000000000000000', 'value=0.0000001', 'value=-2.5'],
  );
});

/** kernel_cpu_time of three CPU states at one timestamp, as procfs measures it. */
const states = (ts = TS): Point[] =>
  ['user', 'system', 'idle'].map((state, i) => ({ metric: 0, value: BigInt(i), ts, resource: { kind: 'local_machine', id: '' }, attributes: [['cpu_state', state]] as Point['attributes'] }));

test('points that differ only in a field attribute collapse into one: counted, with the remedy', () => {
  const fields = encode(FIELD, states());
  assert.equal(fields.lines, 3, 'every point is sent');
  assert.equal(fields.collapsed, 2, 'InfluxDB keeps one of the three');
  assert.deepEqual(fields.notes.map((n) => n.kind), ['collapsed']);
  assert.match(fields.notes[0]!.text, /^kernel_cpu_time: points that differ only in the field attribute cpu_state have the same series and timestamp, so InfluxDB keeps only the last one; write it as tag: attributes_as = "tag", or attributes_as_tags = \["cpu_state"\]$/);
  // As tags the three are three series; at another timestamp they are other points.
  assert.equal(encode(TAG, states()).collapsed, 0);
  assert.equal(encode({ ...FIELD, asTags: new Set(['cpu_state']) }, states()).collapsed, 0);
  assert.equal(encode(FIELD, [...states(), ...states({ sec: TS.sec + 1, nsec: 0 })]).collapsed, 4);
  // The same point twice is collapsed too, though no attribute tells them apart.
  const twice = encode(TAG, [states()[0]!, states()[0]!]);
  assert.equal(twice.collapsed, 1);
  assert.match(twice.notes[0]!.text, /^kernel_cpu_time: several points of the same series and timestamp \(kernel_cpu_time,cpu_state=user,resource_consumer_kind=local_machine,resource_kind=local_machine\)/);
});

test('a point of the same series and timestamp as one of the write before overwrites it: counted collapsed', () => {
  const encoder = new LineEncoder(TAG, METRICS);
  const first = encoder.encode(batchOf(states(), METRICS), undefined);
  assert.equal(first.collapsed, 0);
  // The same poll split over two writes: the second's points replace the first's.
  const second = encoder.encode(batchOf([...states().slice(1), ...states({ sec: TS.sec + 1, nsec: 0 })], METRICS), first.written);
  assert.equal(second.collapsed, 2);
  assert.equal(encoder.encode(batchOf(states({ sec: TS.sec + 2, nsec: 0 }), METRICS), second.written).collapsed, 0);
});
