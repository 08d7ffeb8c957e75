// Tests of procfs' pure parsers (/proc/stat, /proc/meminfo, /proc/net/dev) on text and testdata/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROCFS_TESTDATA as TESTDATA } from '../../../test/helpers/fake-proc.js';
import { ProcParseError, parseMeminfo, parseNetDev, parseStat, snakeCase } from './parse.js';
import { U64_MAX } from '../shared/counter-diff.js';

const testdata = (...parts: string[]) => readFileSync(join(TESTDATA, ...parts), 'latin1');

// ---------------------------------------------------------------------------------------------------------
// parsers

test('meminfo keys become Alumet metric names', () => {
  const cases: Array<[string, string]> = [
    ['', ''],
    ['_', '_'],
    ['a', 'a'],
    ['A', 'A'],
    ['aaa', 'aaa'],
    ['snake_case', 'snake_case'],
    ['camelCase', 'camel_case'],
    ['MemTotal', 'mem_total'],
    ['SwapCached', 'swap_cached'],
    ['SReclaimable', 's_reclaimable'],
    ['NFS_Unstable', 'nfs_unstable'],
    ['Committed_AS', 'committed_as'],
    ['HugePages_Total', 'hugepages_total'],
    ['Active(anon)', 'active(anon)'],
    ['DirectMap4k', 'direct_map4k'],
    ['DirectMap2M', 'direct_map2m'],
  ];
  for (const [key, name] of cases) assert.equal(snakeCase(key), name, key);
});

test('parseStat reads the cpu lines, counters and gauges of a normal /proc/stat', () => {
  const s = parseStat(testdata('normal', 't0', 'stat'));
  assert.deepEqual(s.total, [1375n, 0n, 1165n, 59588n, 64n, 0n, 18n, 9n, 0n, 0n]);
  assert.deepEqual(
    s.cpus.map((c) => c.cpu),
    [0, 1],
  );
  assert.deepEqual(s.cpus[1]!.ticks, [850n, 0n, 659n, 29521n, 60n, 0n, 10n, 7n, 0n, 0n]);
  assert.equal(s.ctxt, 217028n);
  assert.equal(s.processes, 4671n);
  assert.equal(s.procsRunning, 2n);
  assert.equal(s.procsBlocked, 0n);
});

test('parseStat leaves out the columns and lines an old kernel does not print', () => {
  const s = parseStat(testdata('missing-fields', 't1', 'stat'));
  assert.deepEqual(s.total, [330n, 0n, 160n, 6100n, 10n, 0n, 6n, undefined, undefined, undefined]);
  assert.deepEqual(
    s.cpus.map((c) => c.cpu),
    [0, 2],
  );
  assert.equal(s.procsRunning, undefined);
  assert.equal(s.procsBlocked, undefined);
});

test('parseStat keeps counters above 2^53 exact', () => {
  const s = parseStat(testdata('counter-wrap', 't0', 'stat'));
  assert.equal(s.total[0], 18446744073709551610n);
  assert.equal(s.processes, U64_MAX);
});

test('malformed /proc/stat text is refused with the line and what was expected', () => {
  const cases: Array<[string, RegExp]> = [
    ['ctxt 1\nprocesses 2\n', /missing "cpu" line/],
    ['cpu 1 2 3 4\nprocesses 2\n', /missing "ctxt" line/],
    ['cpu 1 2 3 4\n', /missing "ctxt", "processes" lines/],
    ['cpu 1 2 3\nctxt 1\nprocesses 2\n', /line 1 \(cpu\): expected at least 4 columns/],
    ['cpu 1 2 x 4\nctxt 1\nprocesses 2\n', /line 1 \(cpu\) column system: expected an unsigned integer, got "x"/],
    ['cpu 1 2 3 4\nctxt -1\nprocesses 2\n', /line 2 \(ctxt\): expected an unsigned integer, got "-1"/],
    ['cpu 1 2 3 4\nctxt 1 2\nprocesses 2\n', /line 2 \(ctxt\): expected one value, got 2/],
    ['cpu 1 2 3 4\nctxt 18446744073709551616\nprocesses 2\n', /does not fit in 64 bits/],
  ];
  for (const [text, message] of cases) assert.throws(() => parseStat(text), (e: Error) => e instanceof ProcParseError && message.test(e.message), text);
});

test('parseMeminfo converts every entry to bytes, kB being KiB', () => {
  const m = parseMeminfo(testdata('normal', 't0', 'meminfo'));
  assert.equal(m.get('MemTotal'), 24684084n * 1024n);
  assert.equal(m.get('Active(anon)'), 20480n * 1024n);
  assert.equal(m.get('VmallocTotal'), 34359738367n * 1024n); // above 2^53: must stay exact
  assert.equal(m.get('HugePages_Total'), 0n);
  assert.equal([...m.keys()][0], 'MemTotal');
  const units = parseMeminfo('A: 3 B\nB: 3 kB\nC: 3 MB\nD: 3 GiB\nE: 3\n\n');
  assert.deepEqual([...units.values()], [3n, 3072n, 3n * 1024n ** 2n, 3n * 1024n ** 3n, 3n]);
});

test('malformed /proc/meminfo text is refused with the line', () => {
  const cases: Array<[string, RegExp]> = [
    ['MemTotal 12 kB\n', /line 1 "MemTotal 12 kB": expected "Key: value \[unit\]"/],
    ['MemTotal: 12 kB extra\n', /expected "Key: value \[unit\]"/],
    ['MemTotal:\n', /expected "Key: value \[unit\]"/],
    ['MemTotal: 12 TB\n', /unknown unit "TB"; expected B, kB, MB or GB/],
    ['MemTotal: 1.5 kB\n', /expected an unsigned integer, got "1.5"/],
  ];
  for (const [text, message] of cases) assert.throws(() => parseMeminfo(text), (e: Error) => e instanceof ProcParseError && message.test(e.message), text);
});

test('parseNetDev reads the receive and transmit columns of each interface', () => {
  const ifs = parseNetDev(testdata('normal', 't0', 'net', 'dev'));
  assert.deepEqual(ifs[1], {
    name: 'eth0',
    rxBytes: 76904270n,
    rxPackets: 2151n,
    rxErrors: 1n,
    rxDrops: 2n,
    txBytes: 142923n,
    txPackets: 1318n,
    txErrors: 3n,
    txDrops: 4n,
  });
  assert.deepEqual(
    ifs.map((i) => i.name),
    ['lo', 'eth0'],
  );
  // Old kernels glued the first number to the colon.
  const glued = parseNetDev('a|b\nc|d\n  eth0:123 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n');
  assert.equal(glued[0]!.rxBytes, 123n);
  assert.equal(glued[0]!.txBytes, 8n);
});

test('malformed /proc/net/dev text is refused with the line', () => {
  const head = 'Inter-| Receive | Transmit\n face |bytes | bytes\n';
  const cases: Array<[string, RegExp]> = [
    ['eth0: 1 2 3\n', /expected two header lines/],
    [head + '  eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n', /line 3 "eth0 1 2 .*": expected "interface: 16 numbers"/],
    [head + '  eth0: 1 2 3\n', /expected "interface: 16 numbers", got 3 numbers/],
    [head + '  : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n', /expected "interface: 16 numbers"/],
    [head + '  eth0: 1 2 3 4 5 6 7 8 z 10 11 12 13 14 15 16\n', /unsigned integer, got "z"/],
  ];
  for (const [text, message] of cases) assert.throws(() => parseNetDev(text), (e: Error) => e instanceof ProcParseError && message.test(e.message), text);
});
