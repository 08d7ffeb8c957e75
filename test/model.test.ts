// The data model: units, Rust-exact formatting, the metric registry and the batch codec.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batch, F64, U64, type AttrValue, type ValueType, type WireBatch } from '../src/protocol/batch.js';
import { BatchBuilder } from '../src/protocol/batch-builder.js';
import { formatAttrValue, formatF64, formatTimestamp, formatU64, formatU64Words } from '../src/plugins/shared/rust-format.js';
import type { MetricHandle, Unit } from '../src/protocol/metrics.js';
import { parseUnit, unitDisplayName, unitEquals, unitUniqueName, UnitError, UNITS, baseUnit } from '../src/protocol/units.js';
import { MetricError, MetricRegistry, describeMetric } from '../src/agent/metric-registry.js';

test('parseUnit reads Alumet unit strings into base and prefix', () => {
  const cases: [string, string, string, string, string][] = [
    // text, base, prefix, unique name, display name
    ['W', 'W', '', 'W', 'W'],
    ['kW', 'W', 'kilo', 'kiloW', 'kW'],
    ['mA', 'A', 'milli', 'milliA', 'mA'],
    ['μs', 's', 'micro', 'micros', 'μs'],
    ['\u00b5s', 's', 'micro', 'micros', '\u03bcs'], // the keyboard micro sign is accepted, displayed as U+03BC
    ['ns', 's', 'nano', 'nanos', 'ns'],
    ['nanos', 's', 'nano', 'nanos', 'ns'],
    ['milliJ', 'J', 'milli', 'milliJ', 'mJ'],
    ['kiloW.h', 'W.h', 'kilo', 'kiloW.h', 'kWh'],
    ['GBy', 'By', 'giga', 'gigaBy', 'GB'],
    ['megaHz', 'Hz', 'mega', 'megaHz', 'MHz'],
    ['megas', 's', 'mega', 'megas', 'Ms'],
    ['ms', 's', 'milli', 'millis', 'ms'],
    ['1', '1', '', '1', ''],
    ['k1', '1', 'kilo', 'kilo1', 'k'],
    ['%', '%', '', '%', '%'],
    ['Cel', 'Cel', '', 'Cel', '°C'],
    ['[degF]', '[degF]', '', '[degF]', '°F'],
    ['By', 'By', '', 'By', 'B'],
    ['V', 'V', '', 'V', 'V'],
    ['s', 's', '', 's', 's'],
  ];
  for (const [text, base, prefix, unique, display] of cases) {
    const u = parseUnit(text);
    assert.deepEqual(u, { base, prefix }, text);
    assert.equal(unitUniqueName(u), unique, text);
    assert.equal(unitDisplayName(u), display, text);
    assert.deepEqual(parseUnit(unique), u, `unique name ${unique} parses back`);
  }
});

test('parseUnit refuses what Alumet refuses, naming the text', () => {
  for (const text of ['kX', 'XW', '', 'k', 'KW', 'dW', ' kW', 'kW ', '°C', 'B', 'Wh', 'kilo', 'mm', 'Js', 'kiloB']) {
    assert.throws(() => parseUnit(text), (e: unknown) => {
      assert.ok(e instanceof UnitError, `${JSON.stringify(text)} throws a UnitError`);
      assert.match(e.message, /^Unknown or non standard Unit /);
      assert.ok(e.message.includes(JSON.stringify(text)), `message names ${JSON.stringify(text)}: ${e.message}`);
      return true;
    });
  }
});

test('every known base unit parses, alone and with every prefix', () => {
  for (const base of Object.keys(UNITS)) {
    assert.deepEqual(parseUnit(base), { base, prefix: '' });
    for (const [spelling, prefix] of [['giga', 'giga'], ['G', 'giga'], ['k', 'kilo'], ['n', 'nano'], ['micro', 'micro']] as const) {
      assert.deepEqual(parseUnit(spelling + base), { base, prefix }, spelling + base);
    }
  }
});

test('units compare structurally, and custom units display their own name', () => {
  assert.ok(unitEquals(parseUnit('kW'), { base: 'W', prefix: 'kilo' }));
  assert.ok(!unitEquals(parseUnit('mW'), parseUnit('W')));
  const custom = baseUnit('req', 'requests');
  assert.equal(unitUniqueName(custom), 'req');
  assert.equal(unitDisplayName(custom), 'requests');
  assert.equal(unitDisplayName({ base: 'req', prefix: 'kilo', display: 'requests' }), 'krequests');
  assert.ok(!unitEquals(custom, baseUnit('req', 'r')));
});

test('formatF64 prints like Rust Display: shortest digits, never an exponent', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [-0, '-0'],
    [1, '1'],
    [-1, '-1'],
    [1.5, '1.5'],
    [0.1, '0.1'],
    [0.1 + 0.2, '0.30000000000000004'],
    [12.785714285714286, '12.785714285714286'],
    [1e-6, '0.000001'],
    [1e-7, '0.0000001'],
    [-1e-7, '-0.0000001'],
    [1.5e-7, '0.00000015'],
    [1.2345e-10, '0.00000000012345'],
    [5e-324, '0.' + '0'.repeat(323) + '5'],
    [123456789012345680000, '123456789012345680000'],
    [1e21, '1000000000000000000000'],
    [-1e21, '-1000000000000000000000'],
    [1.5e21, '1500000000000000000000'],
    [1e22, '10000000000000000000000'],
    [2 ** 64, '18446744073709552000'],
    [9007199254740993, '9007199254740992'],
    [Number.MAX_VALUE, '17976931348623157' + '0'.repeat(292)],
    [NaN, 'NaN'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
  ];
  for (const [x, expected] of cases) assert.equal(formatF64(x), expected, `formatF64(${x})`);
});

test('formatF64 output reads back to the same number', () => {
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let i = 0; i < 2000; i++) {
    const x = (next() - 0.5) * 10 ** Math.floor(next() * 60 - 30);
    const s = formatF64(x);
    assert.ok(!/e/i.test(s), `${x} printed as ${s}`);
    assert.equal(Number(s), x, `${s} reads back as ${x}`);
  }
});

test('formatU64 is exact up to 2^64 - 1 and follows `as u64` for numbers', () => {
  const cases: [bigint | number, string][] = [
    [0n, '0'],
    [2n ** 53n + 1n, '9007199254740993'],
    [2n ** 63n, '9223372036854775808'],
    [2n ** 64n - 1n, '18446744073709551615'],
    [0, '0'],
    [42, '42'],
    [18.38, '18'],
    [-3, '0'],
    [NaN, '0'],
    [2 ** 53, '9007199254740992'],
    [2 ** 60, '1152921504606846976'],
    [1e20, '18446744073709551615'],
    [Infinity, '18446744073709551615'],
  ];
  for (const [v, expected] of cases) assert.equal(formatU64(v), expected, `formatU64(${v})`);
  const words: [number, number, string][] = [
    [0, 0, '0'],
    [5, 0, '5'],
    [0xffffffff, 0x1fffff, '9007199254740991'],
    [1, 0x200000, '9007199254740993'],
    [0xffffffff, 0xffffffff, '18446744073709551615'],
    [0xfffffffe, 0xffffffff, '18446744073709551614'],
  ];
  for (const [lo, hi, expected] of words) assert.equal(formatU64Words(lo, hi), expected, `words ${lo} ${hi}`);
});

test('formatTimestamp writes RFC 3339 UTC with trimmed nanoseconds', () => {
  const cases: [number, number, string][] = [
    [0, 0, '1970-01-01T00:00:00Z'],
    [1745593733, 996365220, '2025-04-25T15:08:53.99636522Z'],
    [1745593733, 949565834, '2025-04-25T15:08:53.949565834Z'],
    [1745593733, 0, '2025-04-25T15:08:53Z'],
    [1745593733, 1, '2025-04-25T15:08:53.000000001Z'],
    [1745593733, 100_000_000, '2025-04-25T15:08:53.1Z'],
    [1745593733, 120_000, '2025-04-25T15:08:53.00012Z'],
    [1745593734, 120_000, '2025-04-25T15:08:54.00012Z'],
    [1745593733, 999_999_999, '2025-04-25T15:08:53.999999999Z'],
    [951782400, 5, '2000-02-29T00:00:00.000000005Z'],
    [-1, 500_000_000, '1969-12-31T23:59:59.5Z'],
    [253402300800, 0, '+010000-01-01T00:00:00Z'],
    [1e16, 7, '10000000000000000.000000007s'], // beyond what Date can print: still no exception
  ];
  // Twice, so that the per-second cache is exercised going forwards and backwards.
  for (let round = 0; round < 2; round++) {
    for (const [sec, nsec, expected] of cases) assert.equal(formatTimestamp(sec, nsec), expected, `${sec}.${nsec}`);
  }
});

test('formatAttrValue prints each attribute type as the CSV shows it', () => {
  const cases: [AttrValue, string][] = [
    ['raw; "text"', 'raw; "text"'],
    ['', ''],
    [true, 'true'],
    [false, 'false'],
    [2.5, '2.5'],
    [1e-7, '0.0000001'],
    [3, '3'],
    [18446744073709551615n, '18446744073709551615'],
    [[1n, 2n, 3n], '[1, 2, 3]'],
    [[7n], '[7]'],
    [[], '[]'],
  ];
  for (const [v, expected] of cases) assert.equal(formatAttrValue(v), expected);
});

const S: Unit = { base: 's', prefix: '' };
const W: Unit = { base: 'W', prefix: '' };

test('the registry returns the same metric for a compatible re-registration and refuses a clash', () => {
  const reg = new MetricRegistry();
  const m1 = reg.register('m1', U64, S, 'first');
  assert.equal(m1.id, 0);
  const again = reg.register('m1', U64, { base: 's', prefix: '' }, 'another description is ignored');
  assert.equal(again, m1);
  assert.equal(again.description, 'first');

  const clashes: [string, ValueType, Unit, RegExp][] = [
    ['f64 instead of u64', F64, S, /type F64 instead of U64/],
    ['unit W instead of s', U64, W, /unit "W" instead of "s"/],
    ['milli-seconds are not seconds', U64, parseUnit('ms'), /unit "millis" instead of "s"/],
    ['both differ', F64, W, /type F64 instead of U64 and unit "W" instead of "s"/],
  ];
  for (const [what, type, unit, detail] of clashes) {
    assert.throws(
      () => reg.register('m1', type, unit, ''),
      (e: unknown) => e instanceof MetricError && e.message.startsWith('This metric has already been registered: m1') && detail.test(e.message),
      what,
    );
  }
  assert.equal(reg.all().length, 1, 'a refused registration adds nothing');
  const m2 = reg.register('m2', F64, W, '');
  assert.equal(m2.id, 1);
  assert.deepEqual(reg.all().map((m) => m.name), ['m1', 'm2']);
  assert.equal(reg.get(1), m2);
  assert.equal(reg.get(2), undefined);
  assert.equal(reg.byName('m2'), m2);
  assert.equal(reg.byName('nope'), undefined);
});

test('the registry keeps the delta flag of a metric spec, for outputs that sum deltas', () => {
  const reg = new MetricRegistry();
  const d = reg.register('cpu_time_delta', U64, parseUnit('ns'), 'delta', true);
  const g = reg.register('mem_total', U64, parseUnit('By'), 'gauge');
  assert.equal(d.delta, true);
  assert.equal('delta' in g, false, 'a reading has no delta key');
  assert.equal(reg.register('cpu_time_delta', U64, parseUnit('ns'), 'again'), d);
  assert.equal(structuredClone(d).delta, true, 'the flag crosses to the workers with the metric table');
});

test('registerOrRename adds _SUFFIX, then _SUFFIX_2, _3, and reuses a compatible candidate', () => {
  const reg = new MetricRegistry();
  const steps: [string, ValueType, Unit, string, number][] = [
    // registration (type, unit) → resulting name and id
    ['metric', U64, W, 'metric', 0],
    ['metric', U64, W, 'metric', 0],
    ['metric', F64, parseUnit('V'), 'metric_suffix', 1],
    ['metric', F64, parseUnit('V'), 'metric_suffix', 1],
    ['metric', U64, parseUnit('V'), 'metric_suffix_2', 2],
    ['metric', U64, S, 'metric_suffix_3', 3],
    ['metric', U64, S, 'metric_suffix_3', 3],
    ['metric', U64, parseUnit('V'), 'metric_suffix_2', 2],
  ];
  for (const [name, type, unit, expectedName, expectedId] of steps) {
    const m = reg.registerOrRename(name, type, unit, 'd', 'suffix');
    assert.equal(m.name, expectedName);
    assert.equal(m.id, expectedId);
  }
  assert.equal(reg.all().length, 4);
});

test('describeMetric writes the start-up log line as Alumet does', () => {
  const reg = new MetricRegistry();
  assert.equal(describeMetric(reg.register('m', U64, parseUnit('1'), '')), '    - m: U64 ()');
  assert.equal(describeMetric(reg.register('cpu_time_delta', U64, parseUnit('ns'), '')), '    - cpu_time_delta: U64 (ns)');
  assert.equal(describeMetric(reg.register('temp', F64, parseUnit('Cel'), '')), '    - temp: F64 (°C)');
});

const U64_METRIC: MetricHandle = { id: 3, name: 'u', type: U64 };
const F64_METRIC: MetricHandle = { id: 4, name: 'f', type: F64 };

/** Sends a batch through a real structured clone with its buffer transferred, as a MessagePort does. */
function overTheWire(b: Batch): Batch {
  const { message, transfer } = b.toWire();
  const received = structuredClone(message, { transfer }) as WireBatch;
  assert.equal(b.buffer.byteLength, 0, 'the sender no longer owns the buffer');
  return Batch.fromWire(received);
}

test('a batch survives the wire: values, u64 above 2^53, timestamps, resources and attributes', () => {
  const builder = new BatchBuilder(2); // small, so pushing grows the batch
  const ts = { sec: 1745593733, nsec: 996365220 };
  const attrs: [string, AttrValue][] = [['cpu', 3n], ['kind', 'user'], ['ok', true], ['ratio', 0.5], ['list', [1n, 2n]]];
  builder.push(U64_METRIC, ts, 2n ** 64n - 1n);
  builder.push(U64_METRIC, ts, 2n ** 53n + 1n, { resource: { kind: 'cpu_core', id: '3' }, attributes: attrs });
  builder.push(F64_METRIC, { sec: 1, nsec: 2 }, -0.25, { consumer: { kind: 'process', id: '1234' } });
  builder.push(U64_METRIC, ts, 18.9); // a u64 metric truncates like `as u64`
  builder.push(U64_METRIC, ts, 1e20); // … and saturates
  builder.push(U64_METRIC, ts, -5);
  builder.push(F64_METRIC, ts, 7n);
  const b = overTheWire(builder.take());

  assert.equal(b.length, 7);
  const points = [...b.points()];
  assert.deepEqual(points.map((p) => p.value), [2n ** 64n - 1n, 2n ** 53n + 1n, -0.25, 18n, 2n ** 64n - 1n, 0n, 7]);
  assert.deepEqual(points.map((p) => p.metric), [3, 3, 4, 3, 3, 3, 4]);
  assert.deepEqual(points[0]!.timestamp, ts);
  assert.deepEqual(points[2]!.timestamp, { sec: 1, nsec: 2 });
  assert.deepEqual(points[0]!.resource, { kind: 'local_machine', id: '' });
  assert.deepEqual(points[1]!.resource, { kind: 'cpu_core', id: '3' });
  assert.deepEqual(points[2]!.consumer, { kind: 'process', id: '1234' });
  assert.deepEqual(points[1]!.attributes, attrs);
  assert.deepEqual(points[0]!.attributes, []);
  assert.equal(b.u64At(1), 2n ** 53n + 1n);
  assert.equal(b.numberAt(2), -0.25);
  assert.ok(b.isU64(0) && !b.isU64(2));
});

test('filter keeps the chosen points with their tables; clone is independent of the original', () => {
  const builder = new BatchBuilder();
  for (let i = 0; i < 10; i++) {
    builder.push(U64_METRIC, { sec: 100 + i, nsec: i }, 2n ** 60n + BigInt(i), {
      resource: { kind: 'cpu_core', id: String(i % 3) },
      attributes: i % 2 === 0 ? [['even', true]] : undefined,
    });
  }
  const b = builder.take();

  const even = b.filter((i) => i % 2 === 0);
  assert.equal(even.length, 5);
  assert.deepEqual([...even.points()].map((p) => p.value), [0n, 2n, 4n, 6n, 8n].map((k) => 2n ** 60n + k));
  assert.deepEqual([...even.points()].map((p) => p.resource.id), ['0', '2', '1', '0', '2']);
  assert.ok([...even.points()].every((p) => p.attributes.length === 1 && p.attributes[0]![0] === 'even'));
  const evenOverWire = overTheWire(even);
  assert.deepEqual([...evenOverWire.points()].map((p) => p.timestamp.sec), [100, 102, 104, 106, 108]);

  const none = b.filter(() => false);
  assert.equal(none.length, 0);

  const copy = b.clone();
  copy.setF64(0, 1.5);
  copy.intern('only in the copy');
  assert.equal(b.u64At(0), 2n ** 60n, 'the original keeps its value');
  assert.ok(!b.strings.includes('only in the copy'));
  const received = overTheWire(copy);
  assert.equal(received.numberAt(0), 1.5);
  assert.equal(b.length, 10, 'the original is still usable after its clone was sent');
  assert.equal(b.u64At(9), 2n ** 60n + 9n);
});

test('appendAll repeats a template at a new timestamp, into fresh and non-empty batches', () => {
  const template = new BatchBuilder();
  template.push(U64_METRIC, { sec: 0, nsec: 0 }, 5n, { attributes: [['k', 'v']] });
  template.push(F64_METRIC, { sec: 0, nsec: 0 }, 2.5, { consumer: { kind: 'process', id: '9' } });
  const t = template.take();

  const builder = new BatchBuilder(1);
  builder.appendAll(t, { sec: 10, nsec: 1 });
  builder.push(U64_METRIC, { sec: 11, nsec: 0 }, 6n);
  builder.appendAll(t, { sec: 12, nsec: 2 });
  const b = overTheWire(builder.take());
  const points = [...b.points()];
  assert.deepEqual(points.map((p) => [p.timestamp.sec, p.timestamp.nsec, p.value]), [
    [10, 1, 5n],
    [10, 1, 2.5],
    [11, 0, 6n],
    [12, 2, 5n],
    [12, 2, 2.5],
  ]);
  assert.deepEqual(points[3]!.attributes, [['k', 'v']]);
  assert.deepEqual(points[4]!.consumer, { kind: 'process', id: '9' });
  assert.equal(builder.length, 0, 'take starts a new batch');
});
