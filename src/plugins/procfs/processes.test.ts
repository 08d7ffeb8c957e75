// Tests of procfs' process watcher: called in this thread on fake /proc trees, where the context records
// the run-time sources it asks for and delivers the consumer events (watcher and event strategies); the
// `processes` keys and checks; and the whole path through the agent on real processes of this machine
// (plugin harness): the watcher in its worker, one pid-N source per process on the shared pool threads.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import { nowTimestamp } from '../../protocol/clock.js';
import type { RuntimeSourceSpec } from '../../protocol/element.js';
import { Problems } from '../../agent/config/schema.js';
import { fakeContext } from '../../../test/helpers/element-context.js';
import { common, fakeProcesses as fakeProc, tempDir } from '../../../test/helpers/fake-processes.js';
import { startPlugin, type RecordedPoint } from '../../../test/helpers/plugin-harness.js';
import { userHz } from '../../agent/clock-ticks.js';
import { processesSchema } from './config.js';
import procfs from './index.js';
import type { ProcessSourceConfig } from './process.js';
import { parseProcessStat } from './process-parse.js';
import { countCpuList } from '../shared/kernel-files.js';
import watcherModule, { type ProcessGroup, type ProcessWatcherConfig } from './processes.js';
import { checkProcesses } from './processes-start.js';

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

test('processes config: defaults (groups polled every 10 s, not Alumet’s 2 s), and exe_regex must compile', () => {
  assert.deepEqual(processesSchema.defaultValue(), {
    enabled: true,
    refresh_interval: '2s',
    strategy: 'watcher',
    groups: [{ poll_interval: '10s', flush_interval: '10s', memory_mode: 'quick' }],
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
  assert.deepEqual(partial.config.groups, [{ exe_regex: '^/usr/bin/', poll_interval: '1s', flush_interval: '10s', memory_mode: 'quick' }]);
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
// real processes of this machine, through the agent

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

test('real processes: a busy loop and a sleeping process, found by the watcher and measured on the pool threads until they end', async (t) => {
  const busy = startChild(t, process.execPath, ['-e', 'for(;;){}']);
  const sleeper = startChild(t, 'sleep', ['30']);
  const cpus = countCpuList(readFileSync('/sys/devices/system/cpu/online', 'latin1'));
  const run = await startPlugin(t, procfs, {
    config: {
      kernel: { enabled: false },
      memory: { enabled: false },
      network: { enabled: false },
      processes: {
        refresh_interval: '50ms',
        // Found by pid and by executable; the busy loop is polled when the test asks, the sleeper every 3s.
        groups: [
          { pid: busy.pid, poll_interval: '1h' },
          { exe_regex: '/sleep$', ppid: process.pid, poll_interval: '3s', memory_mode: 'slow_but_accurate' },
        ],
      },
    },
  });
  const busyName = `source/procfs/pid-${busy.pid}`;
  const sleepName = `source/procfs/pid-${sleeper.pid}`;
  const of = (pid: number) => (points: RecordedPoint[]) => points.filter((p) => p.consumer.kind === 'process' && p.consumer.id === String(pid));
  const busyPoints = of(busy.pid);

  // The first poll of the sleeper: its memory, proportional set size included.
  const first = of(sleeper.pid)(await run.waitForPoints('the first poll of sleep', (p) => of(sleeper.pid)(p).some((x) => x.metric === 'memory_usage')));
  const resident = first.find((p) => p.metric === 'memory_usage' && p.attributes['kind'] === 'resident')!;
  assert.ok((resident.value as bigint) > 0n, `resident memory of sleep: ${resident.value}`);
  assert.ok(first.some((p) => p.attributes['kind'] === 'proportional'));

  // The CPU time the kernel counts around each poll bounds what the source may report in between.
  const percents = (n: number) => (p: RecordedPoint[]) => busyPoints(p).filter((x) => x.metric === 'cpu_percent').length >= n;
  await run.waitForPoints('the first poll of the busy loop', (p) => busyPoints(p).length > 0);
  assert.equal(run.element(sleepName).period, '3s');
  assert.equal(run.element(busyName).period, '1h');
  assert.match(run.element(busyName).thread ?? '', /^pool-\d+$/);
  const a0 = cpuTicks(busy.pid);
  await run.trigger(busyName);
  await run.waitForPoints('the second poll of the busy loop', percents(3));
  const a1 = cpuTicks(busy.pid);
  // Let the loop burn at least 300 ms of CPU, however loaded the machine is.
  await run.waitForPoints('300 ms of CPU time in the busy loop', () => cpuTicks(busy.pid) - a1 >= BigInt(Math.ceil(userHz() * 0.3)));
  const b0 = cpuTicks(busy.pid);
  await run.trigger(busyName);
  const all = busyPoints(await run.waitForPoints('the third poll of the busy loop', percents(6)));
  const b1 = cpuTicks(busy.pid);

  const stamps = [...new Set(all.map((p) => JSON.stringify(p.timestamp)))].map((s) => JSON.parse(s) as { sec: number; nsec: number });
  assert.equal(stamps.length, 3, 'three polls');
  const [, ts2, ts3] = stamps as [unknown, { sec: number; nsec: number }, { sec: number; nsec: number }];
  const third = all.filter((p) => p.timestamp.sec === ts3.sec && p.timestamp.nsec === ts3.nsec);
  const get = (metric: string, kind: string) => third.find((p) => p.metric === metric && p.attributes['kind'] === kind)!.value;
  const tickNs = 1_000_000_000n / BigInt(userHz());
  const cpuNs = (get('cpu_time_delta', 'user') as bigint) + (get('cpu_time_delta', 'system') as bigint);
  assert.ok(cpuNs >= (b0 - a1) * tickNs && cpuNs <= (b1 - a0) * tickNs, `cpu_time_delta ${cpuNs} ns, kernel counted ${b0 - a1}..${b1 - a0} ticks`);
  const elapsedNs = (ts3.sec - ts2.sec) * 1e9 + (ts3.nsec - ts2.nsec);
  const total = get('cpu_percent', 'total') as number;
  const pct = (ticks: bigint) => (Number(ticks * tickNs) / elapsedNs / cpus) * 100;
  assert.ok(total >= pct(b0 - a1) - 1e-9 && total <= Math.min(100, pct(b1 - a0)) + 1e-9, `cpu_percent ${total}, expected ${pct(b0 - a1)}..${pct(b1 - a0)} on ${cpus} CPUs`);
  // A share of the whole machine: at least 300 ms of CPU over the wait, never above 100.
  assert.ok(total > 0 && total <= 100, `busy loop cpu_percent ${total}`);
  assert.ok((get('memory_usage', 'resident') as bigint) > 0n);

  // Once they end, the watcher's next scan removes their sources from the element table.
  busy.kill('SIGKILL');
  sleeper.kill('SIGKILL');
  await run.waitForPoints('both sources to end', () => !run.elements().some((e) => e.name === busyName || e.name === sleepName));
  assert.equal(run.element('source/procfs/process-watcher').counters['errors'] ?? 0, 0);
  await run.stop();
});
