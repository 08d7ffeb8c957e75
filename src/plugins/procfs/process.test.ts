// Tests of procfs' pid-N source called in this thread on fake /proc trees: what it reports at its first and
// later polls, after a restart, in each memory mode, and when its process vanishes, is reused or becomes a
// zombie (the context records its warnings and tells it it is a restart). processes.test.ts runs it in
// the agent's pool threads on real processes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import { SourceEnded, type Source } from '../../protocol/element.js';
import { fakeContext } from '../../../test/helpers/element-context.js';
import { at, common, fakeProcesses as fakeProc, poll, rows } from '../../../test/helpers/fake-processes.js';
import { PROCFS_TESTDATA } from '../../../test/helpers/fake-proc.js';
import processModule, { type ProcessSourceConfig } from './process.js';

const testdata = (name: string) => readFileSync(join(PROCFS_TESTDATA, 'processes', name), 'latin1');


async function processSource(config: ProcessSourceConfig, warnings?: string[], isRestart = false): Promise<Source> {
  const log = { error() {}, info() {}, debug() {}, warn: (_o: unknown, m?: string) => void warnings?.push(m ?? '') };
  return processModule.create(config, fakeContext({ name: `source/procfs/pid-${config.pid}`, log, isRestart }));
}

test('pid source: the first poll gives the CPU time since the process started and its memory, no cpu_percent', async (t) => {
  const proc = fakeProc(t);
  proc.set(42, { utime: 150, stime: 20, guest: 3, statm: [1000, 300, 100] });
  const src = await processSource({ ...common(proc.root, proc.online), pid: 42, memoryMode: 'quick', starttime: '1000' });
  const ts = at(100);
  assert.deepEqual(rows(await poll(src, ts), 42, ts), [
    { metric: 'cpu_time_delta', kind: 'user', value: 1_500_000_000n },
    { metric: 'cpu_time_delta', kind: 'system', value: 200_000_000n },
    { metric: 'cpu_time_delta', kind: 'guest', value: 30_000_000n },
    { metric: 'memory_usage', kind: 'resident', value: 300n * 4096n },
    { metric: 'memory_usage', kind: 'shared', value: 100n * 4096n },
    { metric: 'memory_usage', kind: 'virtual', value: 1000n * 4096n },
  ]);
});

test('pid source: later polls give ns deltas and cpu_percent over the time between the two polls', async (t) => {
  const proc = fakeProc(t, '0-1');
  proc.set(42, { utime: 100, stime: 10 });
  const src = await processSource({ ...common(proc.root, proc.online), pid: 42, memoryMode: 'quick' });
  await poll(src, at(100));
  // 2.5 s later: 1.5 s of user time, 0.5 s of system time, on 2 CPUs.
  proc.set(42, { utime: 250, stime: 60 });
  const ts = at(102, 500_000_000);
  const got = rows(await poll(src, ts), 42, ts).filter((r) => r.metric !== 'memory_usage');
  assert.deepEqual(got, [
    { metric: 'cpu_time_delta', kind: 'user', value: 1_500_000_000n },
    { metric: 'cpu_time_delta', kind: 'system', value: 500_000_000n },
    { metric: 'cpu_time_delta', kind: 'guest', value: 0n },
    { metric: 'cpu_percent', kind: 'user', value: 30 },
    { metric: 'cpu_percent', kind: 'system', value: 10 },
    { metric: 'cpu_percent', kind: 'total', value: 40 },
  ]);
  // More CPU time than the interval allows (tick granularity at a short poll): clamped at 100.
  proc.set(42, { utime: 270, stime: 60 });
  const clamped = rows(await poll(src, at(102, 600_000_000)), 42).filter((r) => r.metric === 'cpu_percent');
  assert.deepEqual(
    clamped.map((r) => [r.kind, r.value]),
    [
      ['user', 100],
      ['system', 0],
      ['total', 100],
    ],
  );
});

test('pid source: restarted after a failure, its first poll is a baseline, so no CPU time is counted twice', async (t) => {
  const proc = fakeProc(t);
  proc.set(42, { utime: 100, stime: 10 });
  const src = await processSource({ ...common(proc.root, proc.online), pid: 42, memoryMode: 'quick' }, [], true);
  assert.deepEqual(
    rows(await poll(src, at(100)), 42).map((r) => r.metric),
    ['memory_usage', 'memory_usage', 'memory_usage'],
  );
  proc.set(42, { utime: 130, stime: 10 });
  const cpu = rows(await poll(src, at(101)), 42).filter((r) => r.metric === 'cpu_time_delta');
  assert.deepEqual(
    cpu.map((r) => [r.kind, r.value]),
    [
      ['user', 300_000_000n],
      ['system', 0n],
      ['guest', 0n],
    ],
  );
});

test('pid source: slow_but_accurate reads smaps_rollup and adds the proportional set size', async (t) => {
  const proc = fakeProc(t);
  proc.set(42, { statm: [730, 449, 421] });
  writeFileSync(join(proc.root, '42', 'smaps_rollup'), testdata('smaps_rollup'));
  const src = await processSource({ ...common(proc.root, proc.online), pid: 42, memoryMode: 'slow_but_accurate' });
  const got = rows(await poll(src, at(1)), 42).filter((r) => r.metric === 'memory_usage');
  assert.deepEqual(got, [
    { metric: 'memory_usage', kind: 'resident', value: 1796n * 1024n },
    { metric: 'memory_usage', kind: 'shared', value: 1652n * 1024n },
    { metric: 'memory_usage', kind: 'virtual', value: 730n * 4096n },
    { metric: 'memory_usage', kind: 'proportional', value: 346n * 1024n },
  ]);
});

test('pid source: a kernel thread in slow_but_accurate mode has zero memory and no smaps_rollup read', async (t) => {
  const proc = fakeProc(t);
  mkdirSync(join(proc.root, '2'));
  writeFileSync(join(proc.root, '2', 'stat'), testdata('stat-kthread'));
  const src = await processSource({ ...common(proc.root, proc.online), pid: 2, memoryMode: 'slow_but_accurate' });
  const got = rows(await poll(src, at(1)), 2);
  assert.deepEqual(
    got.map((r) => `${r.metric} ${r.kind} ${r.value}`),
    [
      'cpu_time_delta user 0',
      'cpu_time_delta system 50000000',
      'cpu_time_delta guest 0',
      'memory_usage resident 0',
      'memory_usage shared 0',
      'memory_usage virtual 0',
      'memory_usage proportional 0',
    ],
  );
});

test('pid source: a process that vanishes, is reused or becomes a zombie ends the source quietly', async (t) => {
  const proc = fakeProc(t);
  const ended = async (src: Source, builder = new BatchBuilder()) => {
    await assert.rejects(async () => src.poll(builder, at(9)), (e: Error) => e instanceof SourceEnded);
    return builder.take();
  };

  proc.set(50);
  const gone = await processSource({ ...common(proc.root, proc.online), pid: 50, memoryMode: 'quick' });
  await poll(gone, at(1));
  proc.remove(50);
  await ended(gone);

  // Never there at all (it exited before its first poll).
  await ended(await processSource({ ...common(proc.root, proc.online), pid: 404, memoryMode: 'quick' }));

  proc.set(51, { starttime: 1000 });
  const reused = await processSource({ ...common(proc.root, proc.online), pid: 51, memoryMode: 'quick', starttime: '1000' });
  await poll(reused, at(1));
  proc.set(51, { starttime: 2000, utime: 5 });
  assert.equal((await ended(reused)).length, 0, 'nothing measured of the process that took the pid over');

  // Fingerprint taken at the first poll when the watcher gave none.
  proc.set(52, { starttime: 1000 });
  const late = await processSource({ ...common(proc.root, proc.online), pid: 52, memoryMode: 'quick' });
  await poll(late, at(1));
  proc.set(52, { starttime: 3000 });
  await ended(late);

  proc.set(53, { utime: 10 });
  const zombie = await processSource({ ...common(proc.root, proc.online), pid: 53, memoryMode: 'quick' });
  await poll(zombie, at(1));
  proc.set(53, { utime: 30, state: 'Z', statm: [0, 0, 0] });
  const last = rows(await ended(zombie), 53);
  assert.deepEqual(
    last.filter((r) => r.metric === 'cpu_time_delta').map((r) => [r.kind, r.value]),
    [
      ['user', 200_000_000n],
      ['system', 0n],
      ['guest', 0n],
    ],
    'the final CPU time of a zombie is reported before the source ends',
  );
  assert.equal(
    last.some((r) => r.metric === 'memory_usage'),
    false,
  );
});

test('pid source: an unreadable online-CPU list falls back to the usable CPUs, with one warning', async (t) => {
  const proc = fakeProc(t);
  proc.set(60, { utime: 0 });
  const warnings: string[] = [];
  const src = await processSource({ ...common(proc.root, join(proc.root, 'no-such-online-file')), pid: 60, memoryMode: 'quick' }, warnings);
  await poll(src, at(1));
  proc.set(60, { utime: 10 });
  const pct = rows(await poll(src, at(2)), 60).filter((r) => r.metric === 'cpu_percent');
  assert.equal(pct.length, 3);
  assert.equal(warnings.filter((w) => /cannot count the online CPUs from .*no-such-online-file/.test(w)).length, 1, warnings.join('\n'));
});
