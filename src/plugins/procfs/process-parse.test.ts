// Tests of the pure parsers of procfs' per-process files (/proc/<pid>/stat, statm, smaps_rollup), of the
// online-CPU list and of the cpu_percent arithmetic, on text and testdata/processes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROCFS_TESTDATA } from '../../../test/helpers/fake-proc.js';
import { countCpuList, cpuPercent } from '../shared/kernel-files.js';
import { ProcParseError } from './parse.js';
import { isKernelThread, parseProcessStat, parseSmapsRollup, parseStatm } from './process-parse.js';

const testdata = (name: string) => readFileSync(join(PROCFS_TESTDATA, 'processes', name), 'latin1');


test('parseProcessStat reads the fields the sources use, whatever the comm holds', () => {
  const cases: Array<[string, Partial<ReturnType<typeof parseProcessStat>>]> = [
    ['stat-normal', { pid: 20344, comm: 'sleep', state: 'S', ppid: 20342, utime: 7n, stime: 3n, guestTime: 2n, starttime: 125852n, vsize: 2990080n }],
    ['stat-comm-parens', { pid: 4321, comm: 'a) (b c)', state: 'R', ppid: 1, utime: 1234n, stime: 567n, guestTime: 89n, starttime: 99999n, vsize: 123456789n }],
    ['stat-kthread', { pid: 2, comm: 'kthreadd', ppid: 0, utime: 0n, stime: 5n, guestTime: 0n, starttime: 24n, vsize: 0n }],
    ['stat-old-kernel', { pid: 77, comm: 'old', utime: 10n, stime: 20n, guestTime: undefined, starttime: 500n, vsize: 4096n }],
  ];
  for (const [file, expected] of cases) {
    const s = parseProcessStat(testdata(file));
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(s[k as keyof typeof s], v, `${file}: ${k}`);
  }
  assert.equal(isKernelThread(parseProcessStat(testdata('stat-kthread'))), true);
  assert.equal(isKernelThread(parseProcessStat(testdata('stat-normal'))), false);
  // A comm made only of the characters that confuse naive parsers.
  assert.equal(parseProcessStat('9 ()) () ()) Z 1 ' + '0 '.repeat(25)).comm, ')) () ()');
});

test('malformed /proc/<pid>/stat text is refused with the field and what was expected', () => {
  const tail = ' 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0';
  const cases: Array<[string, RegExp]> = [
    ['', /expected "pid \(comm\) state …"/],
    ['12 sleep S 1 2 3', /expected "pid \(comm\) state …"/],
    ['12 (sleep) S 1 2 3', /expected at least 23 fields \(up to vsize\), got 6/],
    ['x (sleep) S 1' + tail + ' 0', /pid: expected an unsigned integer, got "x"/],
    ['12 (sleep) SS 1' + tail + ' 0', /field 3 \(state\): expected one letter, got "SS"/],
    ['12 (sleep) S -1' + tail + ' 0', /field 4 \(ppid\): expected an unsigned integer, got "-1"/],
    ['12 (sleep) S 1 1 1 0 -1 0 0 0 0 0 1.5 0 0 0 20 0 1 0 5 6 7', /field 14 \(utime\): expected an unsigned integer, got "1.5"/],
    ['12 (sleep) S 1 1 1 0 -1 0 0 0 0 0 1 0 0 0 20 0 1 0 18446744073709551616 6 7', /field 22 \(starttime\): 18446744073709551616 does not fit in 64 bits/],
  ];
  for (const [text, message] of cases) assert.throws(() => parseProcessStat(text), (e: Error) => e instanceof ProcParseError && message.test(e.message), text);
});

test('parseStatm reads size, resident and shared pages', () => {
  assert.deepEqual(parseStatm(testdata('statm')), { size: 730n, resident: 449n, shared: 421n });
  assert.deepEqual(parseStatm('0 0 0 0 0 0 0\n'), { size: 0n, resident: 0n, shared: 0n });
  assert.throws(() => parseStatm('\n'), /expected "size resident shared text lib data dt" \(pages\)/);
  assert.throws(() => parseStatm('1 2\n'), /expected "size resident shared/);
  assert.throws(() => parseStatm('1 x 3 4 5 6 7\n'), /resident: expected an unsigned integer, got "x"/);
});

test('parseSmapsRollup gives Rss, Pss and both Shared entries in bytes', () => {
  assert.deepEqual(parseSmapsRollup(testdata('smaps_rollup')), { rss: 1796n * 1024n, pss: 346n * 1024n, shared: (1648n + 4n) * 1024n });
  assert.deepEqual(parseSmapsRollup(''), { rss: 0n, pss: 0n, shared: 0n });
  assert.throws(() => parseSmapsRollup('x [rollup]\nRss: 1 kB\n'), /missing Pss, Shared_Clean, Shared_Dirty; is this a Linux smaps_rollup/);
  assert.throws(() => parseSmapsRollup('Rss: 1 MB\nPss: 1 kB\nShared_Clean: 0 kB\nShared_Dirty: 0 kB\n'), /Rss: expected "<number> kB", got "1 MB"/);
});

test('countCpuList counts the CPUs of a kernel cpulist', () => {
  const cases: Array<[string, number]> = [
    ['0\n', 1],
    ['0-1\n', 2],
    ['0-3,8\n', 5],
    ['0-3,8,10-11', 7],
    ['5', 1],
    ['\n', 0],
  ];
  for (const [text, n] of cases) assert.equal(countCpuList(text), n, JSON.stringify(text));
  assert.throws(() => countCpuList('0-3,x'), /cpulist "0-3,x": expected ranges such as "0-3,8", got "x"/);
  assert.throws(() => countCpuList('4-2'), /range 4-2 ends before it starts/);
  assert.throws(() => countCpuList('0,,1'), /got ""/);
});

test('cpu_percent is a share of all online CPUs, never below 0 nor above 100', () => {
  const cases: Array<[bigint, bigint, number, number]> = [
    [500_000_000n, 1_000_000_000n, 1, 50],
    [500_000_000n, 1_000_000_000n, 2, 25],
    [2_000_000_000n, 1_000_000_000n, 2, 100], // two CPUs fully busy
    [30_000_000n, 20_000_000n, 1, 100], // a tick landed in a short poll (alumet#387)
    [0n, 1_000_000_000n, 4, 0],
  ];
  for (const [delta, elapsed, cpus, expected] of cases) assert.equal(cpuPercent(delta, elapsed, cpus), expected, `${delta}/${elapsed}/${cpus}`);
});
