// Tests of the helpers shared by the kernel-reading sources: KernelFile, the kept-open reader of procfs'
// system sources and rapl, on a copy of a fake /proc tree; and counterDiff, their counter arithmetic.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROCFS_TESTDATA as TESTDATA, fakeProc } from '../../../test/helpers/fake-proc.js';
import { U64_MAX, counterDiff } from './counter-diff.js';
import { KernelFile } from './kernel-file.js';

const testdata = (...parts: string[]) => readFileSync(join(TESTDATA, ...parts), 'latin1');

test('counterDiff subtracts, and treats a smaller reading as a wrap at 2^64', () => {
  const cases: Array<[bigint, bigint, bigint]> = [
    [10n, 25n, 15n],
    [7n, 7n, 0n],
    [U64_MAX - 5n, 4n, 10n],
    [U64_MAX, 0n, 1n],
    [4294967295n, 4294967305n, 10n],
  ];
  for (const [prev, now, diff] of cases) assert.equal(counterDiff(prev, now), diff, `${prev} → ${now}`);
  assert.equal(counterDiff(250n, 5n, 255n), 11n);
});

// ---------------------------------------------------------------------------------------------------------
// KernelFile

test('a file that refuses positional reads is reopened and read from its start on every poll (kernel 6.14, alumet#336)', (t) => {
  const proc = fakeProc(t, 'normal');
  const path = join(proc.root, 'stat');
  const calls: Array<number | null> = [];
  // As on the broken kernels: any read at an explicit offset fails with ESPIPE; plain reads work.
  const brokenRead = ((fd: number, buf: NodeJS.ArrayBufferView, offset: number, length: number, position: number | null) => {
    calls.push(position);
    if (position !== null) throw Object.assign(new Error('ESPIPE: invalid seek, read'), { code: 'ESPIPE' });
    return readSync(fd, buf, offset, length, null);
  }) as typeof readSync;
  const fallbacks: string[] = [];
  const file = new KernelFile(path, (e) => fallbacks.push(e.message), brokenRead);
  t.after(() => file.close());
  assert.equal(file.read(), testdata('normal', 't0', 'stat'));
  assert.deepEqual(fallbacks, ['ESPIPE: invalid seek, read']);
  writeFileSync(path, testdata('normal', 't1', 'stat'));
  calls.length = 0;
  assert.equal(file.read(), testdata('normal', 't1', 'stat'));
  assert.equal(file.read(), testdata('normal', 't1', 'stat'));
  assert.ok(calls.length > 0 && calls.every((p) => p === null), `positions read: ${calls.join(',')}`);
  assert.equal(fallbacks.length, 1);
  // A vanished file is still reported clearly in this mode.
  unlinkSync(path);
  assert.throws(() => file.read(), /stat does not exist/);
});

test('KernelFile reads at offset 0 through one descriptor while the file stays in place', (t) => {
  const proc = fakeProc(t, 'normal');
  const path = join(proc.root, 'stat');
  const positions: Array<number | null> = [];
  const spy = ((fd: number, buf: NodeJS.ArrayBufferView, offset: number, length: number, position: number | null) => {
    positions.push(position);
    return readSync(fd, buf, offset, length, position);
  }) as typeof readSync;
  const file = new KernelFile(path, undefined, spy);
  t.after(() => file.close());
  for (const snapshot of ['t0', 't1', 't0']) {
    writeFileSync(path, testdata('normal', snapshot, 'stat'));
    positions.length = 0;
    assert.equal(file.read(), testdata('normal', snapshot, 'stat'));
    assert.equal(positions[0], 0);
    assert.ok(positions.every((p) => p !== null));
  }
});
