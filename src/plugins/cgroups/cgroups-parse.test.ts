// Tests of the cgroups plugin's pure parsers (cpu.stat, memory.*, io.pressure), its counter and CPU-share
// arithmetic, and how it finds the v2 hierarchy and its cgroups on a fake tree.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuStat, fakeTree, pressure, tempDir } from '../../../test/helpers/fake-cgroups.js';
import { CgroupParseError, counterDelta, parseFlatKeyed, parseLimit, parsePressure, parseSingleValue } from './parse.js';
import { countCpuList, cpuPercent } from '../shared/kernel-files.js';
import { findV2Mount, listCgroups } from './watcher.js';


test('parseFlatKeyed reads cpu.stat and memory.stat as exact integers, in file order', () => {
  const cpu = parseFlatKeyed(cpuStat(900000000, 600000000, 300000000));
  assert.deepEqual([...cpu.entries()].slice(0, 3), [
    ['usage_usec', 900000000n],
    ['user_usec', 600000000n],
    ['system_usec', 300000000n],
  ]);
  assert.equal(parseFlatKeyed('big 18446744073709551615\n').get('big'), 18446744073709551615n);
  assert.equal(parseFlatKeyed('\n\n').size, 0);
  const cases: Array<[string, RegExp]> = [
    ['usage_usec\n', /line 1 "usage_usec": expected "key value"/],
    ['a 1\nusage_usec 1 2\n', /line 2 "usage_usec 1 2": expected "key value"/],
    ['usage_usec -5\n', /line 1 \(usage_usec\): expected an unsigned integer, got "-5"/],
    ['x 18446744073709551616\n', /does not fit in 64 bits/],
  ];
  for (const [text, message] of cases) assert.throws(() => parseFlatKeyed(text), (e: Error) => e instanceof CgroupParseError && message.test(e.message), text);
});

test('parseSingleValue and parseLimit read memory.current and memory.max, "max" being -1', () => {
  assert.equal(parseSingleValue('2097152\n'), 2097152n);
  assert.equal(parseLimit('max\n'), -1);
  assert.equal(parseLimit('536870912\n'), 536870912);
  assert.equal(parseLimit('0\n'), 0);
  assert.throws(() => parseSingleValue('\n'), /value: expected an unsigned integer, got ""/);
  assert.throws(() => parseLimit('unlimited\n'), /limit \(a number of bytes or "max"\): expected an unsigned integer, got "unlimited"/);
});

test('parsePressure reads the some and full totals (µs)', () => {
  assert.deepEqual(parsePressure(pressure(123456, 65432)), { some: 123456n, full: 65432n });
  assert.deepEqual(parsePressure('some avg10=1.00 avg60=0.50 avg300=0.10 total=7\n'), { some: 7n, full: undefined });
  assert.throws(() => parsePressure(''), /no "some" line/);
  assert.throws(() => parsePressure('some avg10=0.00\n'), /"some" line has no total= field/);
  assert.throws(() => parsePressure('some total=x\n'), /some total: expected an unsigned integer, got "x"/);
});

test('counters, CPU lists and percentages', () => {
  assert.equal(counterDelta(10n, 25n), 15n);
  assert.equal(counterDelta(10n, 10n), 0n);
  assert.equal(counterDelta(1000n, 30n), 30n, 'a lower reading is a recreated cgroup: counted from 0');
  assert.equal(countCpuList('0-3,8\n'), 5);
  assert.throws(() => countCpuList('a'), /expected ranges such as "0-3,8", got "a"/);
  assert.equal(cpuPercent(1_000_000_000n, 2_000_000_000n, 2), 25);
  assert.equal(cpuPercent(5_000_000_000n, 1_000_000_000n, 2), 100);
  assert.equal(cpuPercent(0n, 1_000_000_000n, 2), 0);
});

// ---------------------------------------------------------------------------------------------------------
// discovery

test('findV2Mount takes the root when it is a cgroup2 mount, or its unified/ in the hybrid layout', (t) => {
  const dir = tempDir(t);
  assert.equal(findV2Mount(dir), undefined);
  mkdirSync(join(dir, 'unified'));
  writeFileSync(join(dir, 'unified', 'cgroup.controllers'), '\n');
  assert.equal(findV2Mount(dir), join(dir, 'unified'));
  writeFileSync(join(dir, 'cgroup.controllers'), 'cpu memory\n');
  assert.equal(findV2Mount(dir), dir);
});

test('listCgroups finds every cgroup directory by canonical path', (t) => {
  const { mount } = fakeTree(t);
  const found = listCgroups(mount, (dir, e) => assert.fail(`${dir}: ${e.message}`));
  assert.deepEqual([...found.keys()].sort(), ['/', '/system.slice', '/system.slice/cron.service', '/user.slice']);
  assert.equal(found.get('/system.slice/cron.service')!.dir, join(mount, 'system.slice', 'cron.service'));
});
