import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOCAL_MACHINE, type Attributes } from '../../protocol/element-api.js';
import { parseUnit } from '../../protocol/units.js';
import { formatAttrValue as attrValueText } from './rust-format.js';
import { escapeHelp, escapeLabelValue, familyName, formatLabels, sanitizeName, seriesLabels, unitLabel, unitWord } from './prometheus-naming.js';

const RUST = { prefix: '', suffix: '_alumet' };

test('sanitizeName: Rust rules, char by char', () => {
  assert.equal(sanitizeName('123avc'), '_23avc');
  assert.equal(sanitizeName('mem_total'), 'mem_total');
  assert.equal(sanitizeName('_x'), '_x'); // first char not alphabetic → `_` (it already is)
  assert.equal(sanitizeName('cpu-time.delta'), 'cpu_time_delta');
  assert.equal(sanitizeName('a9Z'), 'a9Z');
  assert.equal(sanitizeName('é€x'), '__x'); // one `_` per char, not per UTF-16 unit or byte
  assert.equal(sanitizeName('a😀b'), 'a_b');
  assert.equal(sanitizeName(':a'), '_a');
  assert.equal(sanitizeName(''), '');
});

test('unitWord: the Rust table, with prefixes and custom units', () => {
  const cases: Array<[string, string]> = [
    ['A', 'amperes'],
    ['By', 'bytes'],
    ['1', ''],
    ['s', 'seconds'],
    ['W', 'watts'],
    ['J', 'joules'],
    ['V', 'volts'],
    ['Hz', 'hertz'],
    ['Cel', 'celsius'],
    ['[degF]', 'fahrenheit'],
    ['W.h', 'watt_hours'],
    ['%', 'ratio'],
    ['ms', 'milliseconds'],
    ['kBy', 'kilobytes'],
    ['ns', 'nanoseconds'],
    ['μs', 'microseconds'],
    ['GW.h', 'gigawatt_hours'],
  ];
  for (const [text, word] of cases) assert.equal(unitWord(parseUnit(text)), word, text);
  assert.equal(unitWord({ base: 'request', prefix: '', display: 'req' }), 'request');
  assert.equal(unitWord({ base: 'request', prefix: 'kilo' }), 'kilorequest');
});

test('familyName: sanitize(prefix + name + suffix), then _ and the unit word', () => {
  assert.equal(familyName('mem_total', parseUnit('By'), RUST), 'mem_total_alumet_bytes');
  assert.equal(familyName('kernel_cpu_time', parseUnit('ms'), RUST), 'kernel_cpu_time_alumet_milliseconds');
  assert.equal(familyName('rapl_consumed_energy', parseUnit('J'), RUST), 'rapl_consumed_energy_alumet_joules');
  assert.equal(familyName('kernel_new_forks', parseUnit('1'), RUST), 'kernel_new_forks_alumet');
  assert.equal(familyName('cpu_percent', parseUnit('%'), RUST), 'cpu_percent_alumet_ratio');
  assert.equal(familyName('temperature', parseUnit('[degF]'), RUST), 'temperature_alumet_fahrenheit');
  assert.equal(familyName('energy', parseUnit('W.h'), { prefix: 'x.', suffix: '' }), 'x_energy_watt_hours');
  assert.equal(familyName('1st', parseUnit('1'), { prefix: '', suffix: '' }), '_st');
  assert.equal(familyName('m', { base: 'my unit', prefix: '' }, RUST), 'm_alumet_my_unit');
  assert.equal(unitLabel(parseUnit('ms')), 'milliseconds');
  assert.equal(unitLabel(parseUnit('1')), '');
});

test('seriesLabels: the four resource labels and the sanitised attributes, sorted by name', () => {
  const point = {
    resource: { kind: 'cpu_core', id: '3' },
    consumer: LOCAL_MACHINE,
    attributes: [
      ['cpu_state', 'user'],
      ['zone-id', 7n],
      ['ratio', 0.5],
      ['ok', true],
      ['list', [1n, 2n]],
    ] as Attributes,
  };
  assert.deepEqual(seriesLabels(point, undefined, { addAttributesToLabels: true }), [
    ['cpu_state', 'user'],
    ['list', '[1, 2]'],
    ['ok', 'true'],
    ['ratio', '0.5'],
    ['resource_consumer_id', ''],
    ['resource_consumer_kind', 'local_machine'],
    ['resource_id', '3'],
    ['resource_kind', 'cpu_core'],
    ['zone_id', '7'],
  ]);
  assert.deepEqual(seriesLabels(point, undefined, { addAttributesToLabels: false }), [
    ['resource_consumer_id', ''],
    ['resource_consumer_kind', 'local_machine'],
    ['resource_id', '3'],
    ['resource_kind', 'cpu_core'],
  ]);
});

test('seriesLabels: a label name is written once, the first one wins', () => {
  const point = {
    resource: LOCAL_MACHINE,
    consumer: { kind: 'process', id: '42' },
    attributes: [
      ['resource_kind', 'spoof'],
      ['a-b', 'first'],
      ['a.b', 'second'],
    ] as Attributes,
  };
  assert.deepEqual(seriesLabels(point, undefined, { addAttributesToLabels: true }), [
    ['a_b', 'first'],
    ['resource_consumer_id', '42'],
    ['resource_consumer_kind', 'process'],
    ['resource_id', ''],
    ['resource_kind', 'local_machine'],
  ]);
});

test('attrValueText: Rust Display of attribute values', () => {
  assert.equal(attrValueText(1), '1');
  assert.equal(attrValueText(1e21), '1000000000000000000000');
  assert.equal(attrValueText(1e-7), '0.0000001');
  assert.equal(attrValueText(-2.5e-7), '-0.00000025');
  assert.equal(attrValueText(NaN), 'NaN');
  assert.equal(attrValueText(-Infinity), '-inf');
  assert.equal(attrValueText(18446744073709551615n), '18446744073709551615');
  assert.equal(attrValueText(false), 'false');
});

test('label values and help texts are escaped for the text formats', () => {
  assert.equal(escapeLabelValue('plain'), 'plain');
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(formatLabels([]), '');
  assert.equal(formatLabels([['a', 'x"y'], ['b', '']]), '{a="x\\"y",b=""}');
  assert.equal(escapeHelp('say "hi"\\\n', true), 'say \\"hi\\"\\\\\\n');
  assert.equal(escapeHelp('say "hi"\\\n', false), 'say "hi"\\\\\\n');
});
