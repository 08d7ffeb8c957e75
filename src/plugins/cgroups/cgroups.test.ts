// Tests of the cgroups plugin: its keys and checks; the plugin run by the agent on a copy of the fake v2 tree
// (plugin harness: the watcher in its worker, one source per cgroup on the shared pool threads); and the
// watcher called in this thread, where the context records the sources it asks for, on a tree the test
// changes (inotify and rescan). Parsers: cgroups-parse.test.ts; the per-cgroup source: cgroup.test.ts.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { U64 } from '../../protocol/batch.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import { nowTimestamp } from '../../protocol/clock.js';
import type { RuntimeSourceSpec } from '../../protocol/element.js';
import { unitUniqueName } from '../../protocol/units.js';
import { Problems } from '../../agent/config/schema.js';
import { fakeContext } from '../../../test/helpers/element-context.js';
import { CGROUPS_TESTDATA as TESTDATA, METRICS, cpuStat, fakeTree, pressure, tempDir, waitFor } from '../../../test/helpers/fake-cgroups.js';
import { startPlugin, type RecordedPoint } from '../../../test/helpers/plugin-harness.js';
import procfs from '../procfs/index.js';
import { countCpuList } from '../shared/kernel-files.js';
import cgroups from './index.js';
import type { CgroupSourceConfig } from './cgroup.js';
import watcherModule, { type CgroupWatcherConfig } from './watcher.js';

// ---------------------------------------------------------------------------------------------------------
// plugin

function parseConfig(input: unknown) {
  const problems = new Problems();
  const config = cgroups.config.parse(input, 'plugins.cgroups', problems);
  return { config, problems: problems.list };
}

test('cgroups config: Alumet keys and defaults plus root and refresh_interval; problems name the key', () => {
  assert.deepEqual(cgroups.config.defaultValue(), { poll_interval: '5s', disable_sources: false, root: '/sys/fs/cgroup', refresh_interval: '2s' });
  assert.deepEqual(parseConfig({ poll_interval: '1s', flush_interval: '10s' }).problems, []);
  const cases: Array<[unknown, RegExp]> = [
    [{ pol_interval: '1s' }, /^plugins\.cgroups\.pol_interval: unknown key; did you mean "poll_interval"\?/],
    [{ root: '' }, /^plugins\.cgroups\.root: must not be empty/],
    [{ disable_sources: 'yes' }, /^plugins\.cgroups\.disable_sources: expected a boolean/],
    [{ refresh_interval: '2 s' }, /^plugins\.cgroups\.refresh_interval: /],
  ];
  for (const [input, message] of cases) {
    const { problems } = parseConfig(input);
    assert.equal(problems.length, 1, `${JSON.stringify(input)} → ${problems.join(' | ')}`);
    assert.match(problems[0]!, message);
  }
});

test('cgroups start: metrics in their true units, shared with procfs, the watcher on refresh_interval and one source per cgroup', async (t) => {
  const { mount } = fakeTree(t);
  // procfs first, with only its process metrics (and no process followed): cgroups shares three of them.
  const processesOnly = { kernel: { enabled: false }, memory: { enabled: false }, network: { enabled: false }, processes: { strategy: 'event' } };
  const run = await startPlugin(t, cgroups, {
    config: { flush_interval: '10s', refresh_interval: '1s', root: mount },
    with: [{ plugin: procfs, config: processesOnly }],
  });
  const expected: Array<[string, 'u64' | 'f64', string]> = [
    ['cpu_time_delta', 'u64', 'nanos'],
    ['cpu_percent', 'f64', '%'],
    ['memory_usage', 'u64', 'By'],
    ['memory_max', 'f64', 'By'],
    ['cgroup_memory_swap_max', 'f64', 'By'],
    ['cgroup_memory_swap_current', 'u64', 'By'],
    ['cgroup_memory_anonymous', 'u64', 'By'],
    ['cgroup_memory_file', 'u64', 'By'],
    ['cgroup_memory_kernel_stack', 'u64', 'By'],
    ['cgroup_memory_pagetables', 'u64', 'By'],
    ['cgroup_slab_reclaimable', 'u64', 'By'],
    ['cgroup_pswpin', 'u64', '1'],
    ['cgroup_pswpout', 'u64', '1'],
    ['io_pressure_some_total', 'u64', 'micros'],
    ['io_pressure_full_total', 'u64', 'micros'],
  ];
  // One id per metric for both plugins.
  assert.deepEqual(
    run.agent.registry.all().map((m) => [m.name, m.type === U64 ? 'u64' : 'f64', unitUniqueName(m.unit)]),
    expected,
  );
  assert.equal(run.element('source/cgroups/cgroup-watcher').period, '1s');
  const cgroupSources = ['source/cgroups//', 'source/cgroups//system.slice', 'source/cgroups//system.slice/cron.service', 'source/cgroups//user.slice'];
  for (const name of cgroupSources) {
    const e = await run.waitForElement(name, 'to run on a pool thread', (x) => /^pool-\d+$/.test(x.thread ?? ''));
    assert.equal(e.period, '5s');
  }
  await run.stop();
});

test('cgroups start: disable_sources creates no source; a root that is no directory is a start-up error naming it', async (t) => {
  const disabled = await startPlugin(t, cgroups, { config: { disable_sources: true } });
  assert.deepEqual(
    disabled.elements().map((e) => e.name),
    ['output/recorder/recorder'],
  );
  await disabled.stop();
  // No cgroupfs where the config says: a start-up error that names the directory, not an agent measuring nothing.
  await assert.rejects(
    startPlugin(t, cgroups, { config: { root: join(TESTDATA, 'no-such-mount') } }),
    /root ".*no-such-mount" is not a directory: is cgroupfs mounted\?/,
  );
});

test('cgroup source on a pool thread: the first poll gives the memory gauges, the second the CPU and I/O pressure deltas', async (t) => {
  const { mount } = fakeTree(t);
  const run = await startPlugin(t, cgroups, { config: { root: mount, poll_interval: '1h', refresh_interval: '1h' } });
  const name = 'source/cgroups//system.slice/cron.service';
  const cron = (points: RecordedPoint[]) => points.filter((p) => p.consumer.id === '/system.slice/cron.service');
  const shown = (points: RecordedPoint[]) =>
    points.map((p) => {
      assert.deepEqual([p.consumer, p.resource], [{ kind: 'cgroup', id: '/system.slice/cron.service' }, { kind: 'local_machine', id: '' }]);
      const kind = Object.keys(p.attributes).length === 0 ? '' : `[kind=${String(p.attributes['kind'])}]`;
      return `${p.metric}${kind} ${String(p.value)}`;
    });
  const memory = [
    'memory_usage 2097152',
    'memory_max 536870912',
    'cgroup_memory_swap_current 4096',
    'cgroup_memory_swap_max 0',
    'cgroup_memory_anonymous 1048576',
    'cgroup_memory_file 524288',
    'cgroup_memory_kernel_stack 32768',
    'cgroup_memory_pagetables 65536',
    'cgroup_slab_reclaimable 16384',
    'cgroup_pswpin 5',
    'cgroup_pswpout 9',
  ];
  const first = cron(await run.waitForPoints('the first poll of cron.service', (p) => cron(p).length >= memory.length));
  assert.deepEqual(shown(first), memory);

  // 2 s of CPU time (1.5 s user, 0.5 s system), 300 µs some and 100 µs full I/O stall.
  const dir = join(mount, 'system.slice', 'cron.service');
  writeFileSync(join(dir, 'cpu.stat'), cpuStat(1500 + 2_000_000, 1000 + 1_500_000, 500 + 500_000));
  writeFileSync(join(dir, 'io.pressure'), pressure(350, 120));
  writeFileSync(join(dir, 'memory.current'), '3145728\n');
  await run.trigger(name);
  const both = cron(await run.waitForPoints('the second poll of cron.service', (p) => cron(p).length >= 2 * memory.length + 8));
  const second = both.slice(memory.length);
  // cpu_percent: the delta over the time between the two polls' timestamps, as a share of all online CPUs.
  const ns = (p: RecordedPoint) => BigInt(p.timestamp.sec) * 1_000_000_000n + BigInt(p.timestamp.nsec);
  const elapsedNs = Number(ns(second[0]!) - ns(first[0]!));
  const cpus = countCpuList(readFileSync('/sys/devices/system/cpu/online', 'latin1'));
  const pct = (cpuNs: number) => Math.min(100, (cpuNs / elapsedNs / cpus) * 100);
  assert.deepEqual(shown(second), [
    'cpu_time_delta[kind=total] 2000000000',
    `cpu_percent[kind=total] ${pct(2e9)}`,
    'cpu_time_delta[kind=user] 1500000000',
    `cpu_percent[kind=user] ${pct(1.5e9)}`,
    'cpu_time_delta[kind=system] 500000000',
    `cpu_percent[kind=system] ${pct(0.5e9)}`,
    'memory_usage 3145728',
    ...memory.slice(1),
    'io_pressure_some_total 300',
    'io_pressure_full_total 100',
  ]);
  await run.stop();
});

// ---------------------------------------------------------------------------------------------------------
// the watcher

async function watcher(t: TestContext, root: string, online: string, extra: Partial<CgroupWatcherConfig> = {}) {
  const warnings: string[] = [];
  const log = { error() {}, info() {}, debug() {}, warn: (_o: unknown, m?: string) => void warnings.push(m ?? '') };
  const ctx = fakeContext({ name: 'source/cgroups/cgroup-watcher', log });
  const src = await watcherModule.create({ root, poll_interval: '5s', cpuOnlinePath: online, metrics: METRICS, ...extra }, ctx);
  t.after(() => src.close?.());
  const scan = async () => {
    const b = new BatchBuilder();
    await src.poll(b, nowTimestamp());
    assert.equal(b.length, 0, 'the watcher emits no points');
  };
  return { ctx, scan, warnings };
}

const added = (specs: RuntimeSourceSpec[]) => specs.map((s) => s.element);

test('watcher: one source per cgroup, named by its canonical path, with the plugin trigger', async (t) => {
  const { mount, online } = fakeTree(t);
  const w = await watcher(t, mount, online, { flush_interval: '20s' });
  await w.scan();
  assert.deepEqual(added(w.ctx.added).sort(), ['/', '/system.slice', '/system.slice/cron.service', '/user.slice']);
  const cron = w.ctx.added.find((s) => s.element === '/system.slice/cron.service')!;
  assert.equal(cron.poll_interval, '5s');
  assert.equal(cron.flush_interval, '20s');
  assert.match(cron.module, /\/cgroups\/cgroup\.js$/);
  assert.deepEqual({ ...(cron.config as CgroupSourceConfig), metrics: undefined }, { dir: join(mount, 'system.slice', 'cron.service'), path: '/system.slice/cron.service', cpuOnlinePath: online, metrics: undefined });
  await w.scan();
  assert.equal(w.ctx.added.length, 4, 'nothing new: nothing asked');
});

test('watcher: inotify reports new and removed cgroups without waiting for the rescan', async (t) => {
  const { mount, online } = fakeTree(t);
  const w = await watcher(t, mount, online);
  await w.scan();
  mkdirSync(join(mount, 'system.slice', 'nginx.service', 'worker'), { recursive: true });
  await waitFor('the new cgroups to get sources', () => added(w.ctx.added).includes('/system.slice/nginx.service/worker'));
  assert.ok(added(w.ctx.added).includes('/system.slice/nginx.service'));
  rmSync(join(mount, 'system.slice', 'nginx.service'), { recursive: true });
  await waitFor('the removed cgroups to lose their sources', () => w.ctx.removed.length === 2);
  assert.deepEqual([...w.ctx.removed].sort(), ['/system.slice/nginx.service', '/system.slice/nginx.service/worker']);
});

test('watcher: the periodic rescan finds changes by itself', async (t) => {
  const { mount, online } = fakeTree(t);
  const w = await watcher(t, mount, online);
  await w.scan();
  // The scan runs before any inotify event can be delivered (both are on this thread).
  mkdirSync(join(mount, 'machine.slice'));
  rmSync(join(mount, 'user.slice'), { recursive: true });
  await w.scan();
  assert.deepEqual(added(w.ctx.added.slice(4)), ['/machine.slice']);
  assert.deepEqual(w.ctx.removed, ['/user.slice']);
});

test('watcher: a cgroup removed and created again under the same path gets a new source, asked for again on the next rescans', async (t) => {
  const { dir, mount, online } = fakeTree(t);
  const w = await watcher(t, mount, online);
  await w.scan();
  // A new directory under the old path (the old one moved away keeps its inode, so the new one has another).
  renameSync(join(mount, 'user.slice'), join(dir, 'old-user-slice'));
  mkdirSync(join(mount, 'user.slice'));
  await w.scan();
  assert.deepEqual(w.ctx.removed, ['/user.slice']);
  assert.equal(added(w.ctx.added).filter((e) => e === '/user.slice').length >= 2, true);
  for (let i = 0; i < 5; i++) await w.scan();
  const adds = added(w.ctx.added).filter((e) => e === '/user.slice').length;
  assert.ok(adds >= 3 && adds <= 5, `${adds} adds of /user.slice`);
  assert.deepEqual(w.ctx.removed, ['/user.slice']);
});

test('watcher: no cgroup2 hierarchy yet is said once, and followed once it appears (hybrid layout too)', async (t) => {
  const dir = tempDir(t);
  const w = await watcher(t, dir, join(dir, 'online'));
  await w.scan();
  await w.scan();
  assert.equal(w.ctx.added.length, 0);
  assert.equal(w.warnings.length, 1, w.warnings.join('\n'));
  assert.match(w.warnings[0]!, /no cgroup v2 hierarchy at .* \(no cgroup\.controllers there nor in .*unified\); looking again every refresh_interval \(key "root"\)/);
  cpSync(join(TESTDATA, 'v2'), join(dir, 'unified'), { recursive: true });
  await w.scan();
  assert.deepEqual(added(w.ctx.added).sort(), ['/', '/system.slice', '/system.slice/cron.service', '/user.slice']);
  assert.equal((w.ctx.added[0]!.config as CgroupSourceConfig).dir.startsWith(join(dir, 'unified')), true);
});
