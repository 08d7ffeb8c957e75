// Tests of the per-process part of procfs: the parsers, the pid-N source on fake /proc trees and on real
// processes of this machine, and the process watcher (watcher and event strategies) run in-process.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { F64, U64, type Batch, type Timestamp } from '../../protocol/batch.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import { nowTimestamp } from '../../protocol/clock.js';
import { SourceEnded, type RuntimeSourceSpec, type Source } from '../../protocol/element.js';
import type { MetricHandle } from '../../protocol/metrics.js';
import { Problems } from '../../agent/config/schema.js';
import { fakeContext } from '../../../test/helpers/element-context.js';
import { userHz } from './clock-ticks.js';
import { ProcParseError } from './parse.js';
import processModule, { type ProcessCommonConfig, type ProcessSourceConfig } from './process.js';
import { cpuPercent } from '../shared/kernel-files.js';
import { countCpuList, isKernelThread, parseProcessStat, parseSmapsRollup, parseStatm } from './process-parse.js';
import watcherModule, { type ProcessGroup, type ProcessWatcherConfig } from './processes.js';
import { checkProcesses, memoryPageSize } from './processes-start.js';
import { processesSchema } from './config.js';

const TESTDATA = fileURLToPath(new URL('../../../../src/plugins/procfs/testdata/processes', import.meta.url));
const testdata = (name: string) => readFileSync(join(TESTDATA, name), 'latin1');

// ---------------------------------------------------------------------------------------------------------
// helpers

const METRICS: ProcessCommonConfig['metrics'] = {
  cpuTime: { id: 1, name: 'cpu_time_delta', type: U64 },
  cpuPercent: { id: 2, name: 'cpu_percent', type: F64 },
  memory: { id: 3, name: 'memory_usage', type: U64 },
};
const NAMES = new Map<number, string>(Object.values(METRICS).map((m: MetricHandle) => [m.id, m.name]));

function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface FakeProcess {
  ppid?: number;
  starttime?: number;
  utime?: number;
  stime?: number;
  guest?: number;
  state?: string;
  comm?: string;
  /** Target of the exe link; null for none (a kernel thread). */
  exe?: string | null;
  /** statm in pages: size resident shared. */
  statm?: [number, number, number];
}

/** A fake procfs mount in a temp dir, with an online-CPU file next to it. The test changes it as it goes. */
function fakeProc(t: TestContext, cpus = '0-1') {
  const dir = tempDir(t, 'procfs-processes-');
  const root = join(dir, 'proc');
  mkdirSync(root);
  const online = join(dir, 'online');
  writeFileSync(online, `${cpus}\n`);
  // Entries that are not processes must be ignored.
  writeFileSync(join(root, 'stat'), 'cpu 1 2 3 4\n');
  mkdirSync(join(root, 'self'));
  return {
    root,
    online,
    set(pid: number, p: FakeProcess = {}): void {
      const d = join(root, String(pid));
      mkdirSync(d, { recursive: true });
      const { ppid = 1, starttime = 1000, utime = 0, stime = 0, guest = 0, state = 'S', comm = 'fake', statm = [700, 400, 300] } = p;
      writeFileSync(
        join(d, 'stat'),
        `${pid} (${comm}) ${state} ${ppid} ${pid} ${pid} 0 -1 4194304 0 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 ${starttime} ${statm[0] * 4096} ${statm[1]} ` +
          `18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 ${guest} 0\n`,
      );
      writeFileSync(join(d, 'statm'), `${statm.join(' ')} 5 0 89 0\n`);
      try {
        unlinkSync(join(d, 'exe'));
      } catch {
        // no link yet
      }
      const exe = p.exe === undefined ? `/usr/bin/${comm}` : p.exe;
      if (exe !== null) symlinkSync(exe, join(d, 'exe'));
    },
    remove(pid: number): void {
      rmSync(join(root, String(pid)), { recursive: true, force: true });
    },
  };
}

function common(root: string, online: string): ProcessCommonConfig {
  return { root, userHz: 100, pageSize: 4096, cpuOnlinePath: online, metrics: METRICS };
}

interface Row {
  metric: string;
  kind: string;
  value: number | bigint;
}

function rows(batch: Batch, pid: number, ts?: Timestamp): Row[] {
  return [...batch.points()].map((p) => {
    assert.deepEqual(p.consumer, { kind: 'process', id: String(pid) });
    assert.deepEqual(p.resource, { kind: 'local_machine', id: '' });
    if (ts !== undefined) assert.deepEqual(p.timestamp, ts);
    assert.equal(p.attributes.length, 1);
    assert.equal(p.attributes[0]![0], 'kind');
    return { metric: NAMES.get(p.metric)!, kind: String(p.attributes[0]![1]), value: p.value };
  });
}

async function poll(source: Source, ts: Timestamp, builder = new BatchBuilder()): Promise<Batch> {
  await source.poll(builder, ts);
  return builder.take();
}

const at = (sec: number, nsec = 0): Timestamp => ({ sec, nsec });

// ---------------------------------------------------------------------------------------------------------
// parsers

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

// ---------------------------------------------------------------------------------------------------------
// the pid-N source on a fake tree

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

// ---------------------------------------------------------------------------------------------------------
// the watcher on a fake tree

const settings = (poll_interval: string, memoryMode: 'quick' | 'slow_but_accurate' = 'quick') => ({ poll_interval, flush_interval: '4s', memoryMode });

function watcherConfig(root: string, online: string, groups: ProcessGroup[], strategy: 'watcher' | 'event' = 'watcher'): ProcessWatcherConfig {
  return { strategy, groups, events: settings('1s', 'slow_but_accurate'), process: common(root, online) };
}

async function watcher(config: ProcessWatcherConfig) {
  const ctx = fakeContext({ name: 'source/procfs/process-watcher' });
  const src = await watcherModule.create(config, ctx);
  const scan = async () => {
    const b = new BatchBuilder();
    await src.poll(b, nowTimestamp());
    assert.equal(b.length, 0, 'the watcher emits no points');
  };
  return { ctx, src, scan };
}

const names = (specs: RuntimeSourceSpec[]) => specs.map((s) => s.element);
const cfg = (s: RuntimeSourceSpec) => s.config as ProcessSourceConfig;

test('watcher: new processes get a source, vanished ones lose it', async (t) => {
  const proc = fakeProc(t);
  proc.set(10);
  proc.set(11);
  const w = await watcher(watcherConfig(proc.root, proc.online, [settings('2s')]));
  await w.scan();
  assert.deepEqual(names(w.ctx.added).sort(), ['pid-10', 'pid-11']);
  const spec = w.ctx.added.find((s) => s.element === 'pid-10')!;
  assert.equal(spec.poll_interval, '2s');
  assert.equal(spec.flush_interval, '4s');
  assert.match(spec.module, /\/procfs\/process\.js$/);
  assert.deepEqual({ ...cfg(spec), metrics: undefined }, { ...common(proc.root, proc.online), metrics: undefined, pid: 10, memoryMode: 'quick', starttime: '1000' });

  // Nothing changes: nothing is asked.
  await w.scan();
  assert.equal(w.ctx.added.length, 2);
  assert.deepEqual(w.ctx.removed, []);

  proc.set(12);
  proc.remove(11);
  await w.scan();
  assert.deepEqual(names(w.ctx.added.slice(2)), ['pid-12']);
  assert.deepEqual(w.ctx.removed, ['pid-11']);

  // A parent that dies gets its children reparented: same process, same source.
  proc.set(12, { ppid: 999 });
  await w.scan();
  assert.equal(w.ctx.added.length, 3);
  assert.deepEqual(w.ctx.removed, ['pid-11']);
});

test('watcher: a reused pid (another start time) loses its source and gets a new one at the next scan', async (t) => {
  const proc = fakeProc(t);
  proc.set(10, { starttime: 1000 });
  const w = await watcher(watcherConfig(proc.root, proc.online, [settings('2s')]));
  await w.scan();
  assert.deepEqual(names(w.ctx.added), ['pid-10']);

  proc.set(10, { starttime: 5000 });
  await w.scan();
  assert.deepEqual(w.ctx.removed, ['pid-10']);
  assert.equal(w.ctx.added.length, 1, 'the old source is still being removed: no add in the same scan');
  await w.scan();
  assert.equal(w.ctx.added.length, 2);
  assert.equal(cfg(w.ctx.added[1]!).starttime, '5000');
  // Asked again for a couple of scans (a name still registered is ignored by the supervisor), then no more.
  for (let i = 0; i < 5; i++) await w.scan();
  const again = w.ctx.added.slice(1);
  assert.ok(again.length >= 1 && again.length <= 3, `${again.length} adds`);
  assert.ok(again.every((s) => s.element === 'pid-10' && cfg(s).starttime === '5000'));
  assert.deepEqual(w.ctx.removed, ['pid-10']);
});

test('watcher: each process goes to the first group that accepts it, by pid, ppid and exe_regex', async (t) => {
  const proc = fakeProc(t);
  proc.set(10, { exe: '/usr/bin/python3.12', ppid: 1 });
  proc.set(11, { exe: '/usr/bin/bash', ppid: 100 });
  proc.set(12, { exe: '/opt/python3/bin/python3', ppid: 100 });
  proc.set(13, { exe: null, ppid: 2 }); // kernel thread: no exe link
  proc.set(14, { exe: '/usr/bin/bash', ppid: 1 });
  const groups: ProcessGroup[] = [
    { exeRegex: 'python3', ...settings('10ms') },
    { ppid: 100, ...settings('20ms') },
    { pid: 14, ppid: 1, ...settings('30ms', 'slow_but_accurate') },
    { pid: 13, exeRegex: '.', ...settings('40ms') }, // never matches: 13 has no executable
  ];
  const w = await watcher(watcherConfig(proc.root, proc.online, groups));
  await w.scan();
  const chosen = Object.fromEntries(w.ctx.added.map((s) => [s.element, `${s.poll_interval} ${cfg(s).memoryMode}`]));
  assert.deepEqual(chosen, { 'pid-10': '10ms quick', 'pid-11': '20ms quick', 'pid-12': '10ms quick', 'pid-14': '30ms slow_but_accurate' });

  // A process nobody wanted is looked at again: after an exec it may match.
  proc.set(13, { exe: '/usr/bin/python3', ppid: 2 });
  await w.scan();
  assert.deepEqual(names(w.ctx.added.slice(4)), ['pid-13']);
  assert.equal(w.ctx.added[4]!.poll_interval, '10ms');
});

test('watcher: an empty exe_regex (the Rust agent\'s default) accepts every process, even one with no executable', async (t) => {
  const proc = fakeProc(t);
  proc.set(10, { exe: '/usr/bin/python3.12' });
  proc.set(11, { exe: '/usr/bin/sleep' });
  proc.set(13, { exe: null, ppid: 2 }); // kernel thread: no exe link
  const w = await watcher(watcherConfig(proc.root, proc.online, [{ exeRegex: '', ...settings('10ms') }, settings('20ms')]));
  await w.scan();
  const chosen = Object.fromEntries(w.ctx.added.map((s) => [s.element, s.poll_interval]));
  assert.deepEqual(chosen, { 'pid-10': '10ms', 'pid-11': '10ms', 'pid-13': '10ms' });
});

test('watcher: the event strategy ignores /proc and follows the processes the agent announces', async (t) => {
  const proc = fakeProc(t);
  proc.set(10, { starttime: 777 });
  proc.set(11);
  const w = await watcher(watcherConfig(proc.root, proc.online, [settings('2s')], 'event'));
  await w.scan();
  assert.equal(w.ctx.added.length, 0);

  w.ctx.publish({ type: 'start', consumers: [{ kind: 'process', id: '10' }, { kind: 'cgroup', id: '/user.slice' }] });
  assert.deepEqual(names(w.ctx.added), ['pid-10']);
  const spec = w.ctx.added[0]!;
  assert.equal(spec.poll_interval, '1s');
  assert.equal(spec.flush_interval, '4s');
  assert.equal(cfg(spec).memoryMode, 'slow_but_accurate');
  assert.equal(cfg(spec).starttime, '777');

  // A process that is already gone still gets its source: it ends itself at its first poll.
  w.ctx.publish({ type: 'start', consumers: [{ kind: 'process', id: '31337' }] });
  assert.equal(cfg(w.ctx.added[1]!).starttime, undefined);
  w.ctx.publish({ type: 'start', consumers: [{ kind: 'process', id: 'not-a-pid' }, { kind: 'process', id: '-3' }] });
  assert.equal(w.ctx.added.length, 2);

  await w.scan();
  assert.equal(w.ctx.added.length, 2);
  w.ctx.publish({ type: 'end', consumers: [{ kind: 'process', id: '10' }] });
  assert.deepEqual(w.ctx.removed, ['pid-10']);

  // A closed watcher (replaced after a failure) no longer reacts.
  await w.src.close?.();
  w.ctx.publish({ type: 'start', consumers: [{ kind: 'process', id: '11' }] });
  assert.equal(w.ctx.added.length, 2);
});

test('watcher: a root that is not a procfs fails the poll with the path and the key to fix', async (t) => {
  const dir = tempDir(t, 'procfs-processes-');
  const w = await watcher(watcherConfig(join(dir, 'nothing-here'), join(dir, 'online'), [settings('2s')]));
  await assert.rejects(w.scan(), /nothing-here: cannot list the processes: .*ENOENT.*key "root"/);
});

// ---------------------------------------------------------------------------------------------------------
// config

test('processes config: Alumet defaults, and exe_regex must compile', () => {
  assert.deepEqual(processesSchema.defaultValue(), {
    enabled: true,
    refresh_interval: '2s',
    strategy: 'watcher',
    groups: [{ poll_interval: '2s', flush_interval: '4s', memory_mode: 'quick' }],
    events: { poll_interval: '1s', flush_interval: '4s', memory_mode: 'quick' },
  });
  const parse = (input: unknown) => {
    const problems = new Problems();
    const config = processesSchema.parse(input, 'processes', problems);
    checkProcesses(config, problems);
    return { config, problems: problems.list };
  };
  const partial = parse({ groups: [{ exe_regex: '^/usr/bin/', poll_interval: '1s' }] });
  assert.deepEqual(partial.problems, []);
  assert.deepEqual(partial.config.groups, [{ exe_regex: '^/usr/bin/', poll_interval: '1s', flush_interval: '4s', memory_mode: 'quick' }]);
  // The Rust agent's default config writes exe_regex = "" for "any process".
  const any = parse({ groups: [{ exe_regex: '' }] });
  assert.deepEqual(any.problems, []);
  assert.equal(any.config.groups[0]!.exe_regex, '');
  const cases: Array<[unknown, RegExp]> = [
    [{ groups: [{}, { exe_regex: 'python(' }] }, /^processes\.groups\[1\]\.exe_regex: "python\(" is not a valid regular expression: /],
    [{ strategy: 'events' }, /^processes\.strategy: expected one of "watcher", "event", got the string "events"; did you mean "event"\?/],
    [{ groups: [{ memory_mode: 'slow' }] }, /^processes\.groups\[0\]\.memory_mode: expected one of "quick", "slow_but_accurate"/],
    [{ groups: [{ pid: 0 }] }, /^processes\.groups\[0\]\.pid: must be >= 1, got 0/],
    [{ groups: [{ exe_regx: 'x' }] }, /^processes\.groups\[0\]\.exe_regx: unknown key; did you mean "exe_regex"\?/],
    [{ events: { poll_interval: '1 sec' } }, /^processes\.events\.poll_interval: /],
    [{ groups: { pid: 3 } }, /^processes\.groups: expected an array of a table/],
  ];
  for (const [input, message] of cases) {
    const { problems } = parse(input);
    assert.equal(problems.length, 1, `${JSON.stringify(input)} → ${problems.join(' | ')}`);
    assert.match(problems[0]!, message);
  }
});

// ---------------------------------------------------------------------------------------------------------
// real processes of this machine

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function startChild(t: TestContext, cmd: string, args: string[]): ChildProcess & { pid: number } {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  assert.ok(child.pid !== undefined, `${cmd} did not start`);
  return child as ChildProcess & { pid: number };
}

const cpuTicks = (pid: number) => {
  const s = parseProcessStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  return s.utime + s.stime;
};

test('real processes: a busy loop and a sleeping process measured from /proc, until they end', async (t) => {
  const busy = startChild(t, process.execPath, ['-e', 'for(;;){}']);
  const sleeper = startChild(t, 'sleep', ['30']);
  const online = '/sys/devices/system/cpu/online';
  const cpus = countCpuList(readFileSync(online, 'latin1'));
  const base: ProcessCommonConfig = { root: '/proc', userHz: userHz(), pageSize: memoryPageSize(), cpuOnlinePath: online, metrics: METRICS };

  // The watcher on the real /proc finds both, by pid and by executable.
  const w = await watcher({
    strategy: 'watcher',
    groups: [
      { pid: busy.pid, ...settings('1s') },
      { exeRegex: '/sleep$', ppid: process.pid, ...settings('3s') },
    ],
    events: settings('1s'),
    process: base,
  });
  await waitFor('the watcher to see both children', async () => {
    await w.scan();
    const got = new Set(names(w.ctx.added));
    return got.has(`pid-${busy.pid}`) && got.has(`pid-${sleeper.pid}`) ? true : undefined;
  });
  assert.equal(w.ctx.added.find((s) => s.element === `pid-${sleeper.pid}`)!.poll_interval, '3s');

  const busySrc = await processSource({ ...base, pid: busy.pid, memoryMode: 'quick' });
  const sleepSrc = await processSource({ ...base, pid: sleeper.pid, memoryMode: 'slow_but_accurate' });
  const first = rows(await poll(sleepSrc, nowTimestamp()), sleeper.pid);
  const resident = first.find((r) => r.metric === 'memory_usage' && r.kind === 'resident')!;
  assert.ok((resident.value as bigint) > 0n, `resident memory of sleep: ${resident.value}`);
  assert.ok(first.some((r) => r.kind === 'proportional'));

  // The CPU time the kernel counts around each poll bounds what the source may report in between.
  const ts1 = nowTimestamp();
  const a0 = cpuTicks(busy.pid);
  await poll(busySrc, ts1);
  const a1 = cpuTicks(busy.pid);
  // Let the loop burn at least 300 ms of CPU, however loaded the machine is.
  await waitFor('300 ms of CPU time in the busy loop', () => (cpuTicks(busy.pid) - a1 >= BigInt(Math.ceil(userHz() * 0.3)) ? true : undefined));
  const ts2 = nowTimestamp();
  const b0 = cpuTicks(busy.pid);
  const second = rows(await poll(busySrc, ts2), busy.pid);
  const b1 = cpuTicks(busy.pid);

  const get = (metric: string, kind: string) => second.find((r) => r.metric === metric && r.kind === kind)!.value;
  const tickNs = 1_000_000_000n / BigInt(userHz());
  const cpuNs = (get('cpu_time_delta', 'user') as bigint) + (get('cpu_time_delta', 'system') as bigint);
  assert.ok(cpuNs >= (b0 - a1) * tickNs && cpuNs <= (b1 - a0) * tickNs, `cpu_time_delta ${cpuNs} ns, kernel counted ${b0 - a1}..${b1 - a0} ticks`);
  const elapsedNs = (ts2.sec - ts1.sec) * 1e9 + (ts2.nsec - ts1.nsec);
  const total = get('cpu_percent', 'total') as number;
  const pct = (ticks: bigint) => ((Number(ticks * tickNs) / elapsedNs / cpus) * 100);
  assert.ok(total >= pct(b0 - a1) - 1e-9 && total <= Math.min(100, pct(b1 - a0)) + 1e-9, `cpu_percent ${total}, expected ${pct(b0 - a1)}..${pct(b1 - a0)} on ${cpus} CPUs`);
  // A share of the whole machine: at least 300 ms of CPU over the wait, never above 100.
  assert.ok(total > 0 && total <= 100, `busy loop cpu_percent ${total}`);
  assert.ok((get('memory_usage', 'resident') as bigint) > 0n);

  busy.kill('SIGKILL');
  sleeper.kill('SIGKILL');
  await Promise.all([busy.exitCode === null ? once(busy, 'exit') : undefined, sleeper.exitCode === null ? once(sleeper, 'exit') : undefined]);
  for (const src of [busySrc, sleepSrc]) await assert.rejects(async () => src.poll(new BatchBuilder(), nowTimestamp()), (e: Error) => e instanceof SourceEnded);

  // And the watcher drops them at its next scan.
  await waitFor('the watcher to drop both', async () => {
    await w.scan();
    return w.ctx.removed.includes(`pid-${busy.pid}`) && w.ctx.removed.includes(`pid-${sleeper.pid}`) ? true : undefined;
  });
});
