// Tests of the cgroups plugin: parsers, the per-cgroup source on a copy of the fake v2 tree in testdata/,
// the cgroup watcher on a tree the test changes (inotify and rescan), and the plugin's config and metrics.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { F64, U64, type Batch, type Timestamp } from '../../protocol/batch.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import { nowTimestamp } from '../../protocol/clock.js';
import { SourceEnded, type RuntimeSourceSpec, type Source } from '../../protocol/element.js';
import type { MetricHandle } from '../../protocol/metrics.js';
import { parseUnit, unitUniqueName } from '../../protocol/units.js';
import { Problems } from '../../agent/config/schema.js';
import { MetricRegistry } from '../../agent/metric-registry.js';
import type { MetricSpec, PluginStartContext, SourceTrigger } from '../../agent/plugin-api.js';
import { fakeContext } from '../../../test/helpers/element-context.js';
import procfs from '../procfs/index.js';
import cgroups from './index.js';
import cgroupModule, { type CgroupMetrics, type CgroupSourceConfig } from './cgroup.js';
import { CgroupParseError, counterDelta, countCpuList, cpuPercent, parseFlatKeyed, parseLimit, parsePressure, parseSingleValue } from './parse.js';
import watcherModule, { findV2Mount, listCgroups, type CgroupWatcherConfig } from './watcher.js';

const TESTDATA = fileURLToPath(new URL('../../../../src/plugins/cgroups/testdata', import.meta.url));

// ---------------------------------------------------------------------------------------------------------
// helpers

const NAMES = [
  'cpuTime',
  'cpuPercent',
  'memoryUsage',
  'memoryMax',
  'swapMax',
  'swapCurrent',
  'anonymous',
  'file',
  'kernelStack',
  'pagetables',
  'slabReclaimable',
  'pswpin',
  'pswpout',
  'ioSome',
  'ioFull',
] as const;
const F64_METRICS = new Set(['cpuPercent', 'memoryMax', 'swapMax']);
const METRICS = Object.fromEntries(NAMES.map((n, i) => [n, { id: i + 1, name: n, type: F64_METRICS.has(n) ? F64 : U64 } satisfies MetricHandle])) as unknown as CgroupMetrics;
const NAME_OF = new Map<number, string>(Object.values(METRICS).map((m) => [m.id, m.name]));

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cgroups-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A private copy of testdata/v2 (mounted at `<tmp>/cgroup`), and an online-CPU file with 2 CPUs. */
function fakeTree(t: TestContext): { dir: string; mount: string; online: string } {
  const dir = tempDir(t);
  const mount = join(dir, 'cgroup');
  cpSync(join(TESTDATA, 'v2'), mount, { recursive: true });
  const online = join(dir, 'online');
  writeFileSync(online, '0-1\n');
  return { dir, mount, online };
}

function cpuStat(usage: number, user: number, system: number): string {
  return `usage_usec ${usage}\nuser_usec ${user}\nsystem_usec ${system}\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n`;
}
const pressure = (some: number, full: number) => `some avg10=0.00 avg60=0.00 avg300=0.00 total=${some}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=${full}\n`;

/** Points as `metric kind=value` strings (kind only for cpu metrics), checking consumer and resource. */
function rows(batch: Batch, path: string, ts?: Timestamp): string[] {
  return [...batch.points()].map((p) => {
    assert.deepEqual(p.consumer, { kind: 'cgroup', id: path });
    assert.deepEqual(p.resource, { kind: 'local_machine', id: '' });
    if (ts !== undefined) assert.deepEqual(p.timestamp, ts);
    const kind = p.attributes.length === 0 ? '' : `[${p.attributes.map(([k, v]) => `${k}=${String(v)}`).join(',')}]`;
    return `${NAME_OF.get(p.metric)}${kind} ${String(p.value)}`;
  });
}

async function poll(source: Source, ts: Timestamp): Promise<Batch> {
  const b = new BatchBuilder();
  await source.poll(b, ts);
  return b.take();
}

async function cgroupSource(config: CgroupSourceConfig, warnings: string[] = []): Promise<Source> {
  const log = { error() {}, info() {}, debug() {}, warn: (_o: unknown, m?: string) => void warnings.push(m ?? '') };
  return cgroupModule.create(config, fakeContext({ name: `source/cgroups/${config.path}`, log }));
}

const at = (sec: number, nsec = 0): Timestamp => ({ sec, nsec });

async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---------------------------------------------------------------------------------------------------------
// parsers

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

// ---------------------------------------------------------------------------------------------------------
// the per-cgroup source

test('cgroup source: the first poll gives the memory gauges, the second the CPU and I/O pressure deltas', async (t) => {
  const { mount, online } = fakeTree(t);
  const dir = join(mount, 'system.slice', 'cron.service');
  const src = await cgroupSource({ dir, path: '/system.slice/cron.service', cpuOnlinePath: online, metrics: METRICS });
  const memory = [
    'memoryUsage 2097152',
    'memoryMax 536870912',
    'swapCurrent 4096',
    'swapMax 0',
    'anonymous 1048576',
    'file 524288',
    'kernelStack 32768',
    'pagetables 65536',
    'slabReclaimable 16384',
    'pswpin 5',
    'pswpout 9',
  ];
  const ts0 = at(1000);
  assert.deepEqual(rows(await poll(src, ts0), '/system.slice/cron.service', ts0), memory);

  // 4 s later on 2 CPUs: 2 s of CPU time (1.5 s user, 0.5 s system), 300 µs some and 100 µs full I/O stall.
  writeFileSync(join(dir, 'cpu.stat'), cpuStat(1500 + 2_000_000, 1000 + 1_500_000, 500 + 500_000));
  writeFileSync(join(dir, 'io.pressure'), pressure(350, 120));
  writeFileSync(join(dir, 'memory.current'), '3145728\n');
  const ts1 = at(1004);
  assert.deepEqual(rows(await poll(src, ts1), '/system.slice/cron.service', ts1), [
    'cpuTime[kind=total] 2000000000',
    'cpuPercent[kind=total] 25',
    'cpuTime[kind=user] 1500000000',
    'cpuPercent[kind=user] 18.75',
    'cpuTime[kind=system] 500000000',
    'cpuPercent[kind=system] 6.25',
    'memoryUsage 3145728',
    ...memory.slice(1),
    'ioSome 300',
    'ioFull 100',
  ]);
});

test('cgroup source: unlimited memory and swap are -1', async (t) => {
  const { mount, online } = fakeTree(t);
  const src = await cgroupSource({ dir: join(mount, 'system.slice'), path: '/system.slice', cpuOnlinePath: online, metrics: METRICS });
  const got = rows(await poll(src, at(1)), '/system.slice');
  assert.ok(got.includes('memoryMax -1'), got.join('\n'));
  assert.ok(got.includes('swapMax -1'), got.join('\n'));
  assert.ok(got.includes('pswpin 12') && got.includes('pswpout 34'), got.join('\n'));
});

test('cgroup source: missing files are skipped with one warning per file and thread; the root warns about none of its own', async (t) => {
  const { mount, online } = fakeTree(t);
  const warnings: string[] = [];
  const user = await cgroupSource({ dir: join(mount, 'user.slice'), path: '/user.slice', cpuOnlinePath: online, metrics: METRICS }, warnings);
  await poll(user, at(1));
  writeFileSync(join(mount, 'user.slice', 'cpu.stat'), cpuStat(8000, 4500, 3500));
  assert.deepEqual(rows(await poll(user, at(2)), '/user.slice'), [
    'cpuTime[kind=total] 1000000',
    'cpuPercent[kind=total] 0.05',
    'cpuTime[kind=user] 500000',
    'cpuPercent[kind=user] 0.025',
    'cpuTime[kind=system] 500000',
    'cpuPercent[kind=system] 0.025',
  ]);
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0]!, /cgroup \/user\.slice: no memory\.current, memory\.max, memory\.swap\.current, memory\.swap\.max, memory\.stat, io\.pressure in .*user\.slice; the metrics they feed are not measured/);

  // Another cgroup with the same files missing, on the same thread: no new warning.
  mkdirSync(join(mount, 'user.slice', 'user-1000.slice'));
  writeFileSync(join(mount, 'user.slice', 'user-1000.slice', 'cpu.stat'), cpuStat(1, 1, 0));
  const other = await cgroupSource({ dir: join(mount, 'user.slice', 'user-1000.slice'), path: '/user.slice/user-1000.slice', cpuOnlinePath: online, metrics: METRICS }, warnings);
  await poll(other, at(1));
  assert.equal(warnings.length, 1, warnings.join('\n'));

  const root = await cgroupSource({ dir: mount, path: '/', cpuOnlinePath: online, metrics: METRICS }, warnings);
  const got = rows(await poll(root, at(1)), '/');
  assert.deepEqual(got, ['anonymous 734003200', 'file 1610612736', 'kernelStack 8388608', 'pagetables 20971520', 'slabReclaimable 52428800', 'pswpin 0', 'pswpout 0']);
  assert.equal(warnings.length, 1, warnings.join('\n'));
});

test('cgroup source: a removed cgroup ends the source quietly; a recreated one restarts its counters from 0', async (t) => {
  const { mount, online } = fakeTree(t);
  const dir = join(mount, 'system.slice', 'cron.service');
  const src = await cgroupSource({ dir, path: '/system.slice/cron.service', cpuOnlinePath: online, metrics: METRICS });
  await poll(src, at(1));
  // Removed and created again between two polls: the counters start over.
  writeFileSync(join(dir, 'cpu.stat'), cpuStat(40, 30, 10));
  writeFileSync(join(dir, 'io.pressure'), pressure(0, 0));
  const got = rows(await poll(src, at(2)), '/system.slice/cron.service');
  assert.ok(got.includes('cpuTime[kind=total] 40000'), got.join('\n'));
  assert.ok(got.includes('ioSome 0'), got.join('\n'));

  rmSync(dir, { recursive: true });
  await assert.rejects(async () => src.poll(new BatchBuilder(), at(3)), (e: Error) => e instanceof SourceEnded && /cgroup \/system\.slice\/cron\.service was removed/.test(e.message));
});

test('cgroup source: a malformed file fails the poll with its path', async (t) => {
  const { mount, online } = fakeTree(t);
  const dir = join(mount, 'system.slice', 'cron.service');
  writeFileSync(join(dir, 'memory.max'), 'lots\n');
  const src = await cgroupSource({ dir, path: '/system.slice/cron.service', cpuOnlinePath: online, metrics: METRICS });
  await assert.rejects(async () => src.poll(new BatchBuilder(), at(1)), /cron\.service\/memory\.max: limit \(a number of bytes or "max"\): expected an unsigned integer, got "lots"/);
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

const elements = (specs: RuntimeSourceSpec[]) => specs.map((s) => s.element);

test('watcher: one source per cgroup, named by its canonical path, with the plugin trigger', async (t) => {
  const { mount, online } = fakeTree(t);
  const w = await watcher(t, mount, online, { flush_interval: '20s' });
  await w.scan();
  assert.deepEqual(elements(w.ctx.added).sort(), ['/', '/system.slice', '/system.slice/cron.service', '/user.slice']);
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
  await waitFor('the new cgroups to get sources', () => elements(w.ctx.added).includes('/system.slice/nginx.service/worker'));
  assert.ok(elements(w.ctx.added).includes('/system.slice/nginx.service'));
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
  assert.deepEqual(elements(w.ctx.added.slice(4)), ['/machine.slice']);
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
  assert.equal(elements(w.ctx.added).filter((e) => e === '/user.slice').length >= 2, true);
  for (let i = 0; i < 5; i++) await w.scan();
  const adds = elements(w.ctx.added).filter((e) => e === '/user.slice').length;
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
  assert.deepEqual(elements(w.ctx.added).sort(), ['/', '/system.slice', '/system.slice/cron.service', '/user.slice']);
  assert.equal((w.ctx.added[0]!.config as CgroupSourceConfig).dir.startsWith(join(dir, 'unified')), true);
});

// ---------------------------------------------------------------------------------------------------------
// plugin

function fakeStart(registry: MetricRegistry) {
  const sources: Array<{ name: string; module: URL; config: unknown; trigger: SourceTrigger }> = [];
  const specs = new Map<string, MetricSpec>();
  const ctx = {
    log: { error() {}, warn() {}, info() {}, debug() {} },
    metric(name: string, spec: MetricSpec): MetricHandle {
      specs.set(name, spec);
      const info = registry.register(name, spec.type === 'u64' ? U64 : F64, typeof spec.unit === 'string' ? parseUnit(spec.unit) : spec.unit, spec.description);
      return { id: info.id, name: info.name, type: info.type };
    },
    source: (name: string, module: URL, config: unknown, trigger: SourceTrigger) => void sources.push({ name, module, config, trigger }),
  };
  return { ctx: ctx as unknown as PluginStartContext, sources, specs };
}

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

test('cgroups start: metrics in their true units, shared with procfs, and the watcher on refresh_interval', async () => {
  const registry = new MetricRegistry();
  const p = fakeStart(registry);
  await procfs.start(procfs.config.parse({ kernel: { enabled: false }, memory: { enabled: false }, network: { enabled: false } }, 'plugins.procfs', new Problems()), p.ctx);
  const c = fakeStart(registry);
  const root = join(TESTDATA, 'v2');
  await cgroups.start(parseConfig({ flush_interval: '10s', refresh_interval: '1s', root }).config, c.ctx);

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
  assert.deepEqual([...c.specs.keys()], expected.map(([n]) => n));
  for (const [name, type, unit] of expected) {
    const m = registry.byName(name)!;
    assert.equal(m.type === U64 ? 'u64' : 'f64', type, name);
    assert.equal(unitUniqueName(m.unit), unit, name);
  }
  // One id per metric for both plugins.
  assert.equal(registry.size, expected.length);

  assert.deepEqual(
    c.sources.map((s) => [s.name, s.trigger]),
    [['cgroup-watcher', { poll_interval: '1s' }]],
  );
  const config = c.sources[0]!.config as CgroupWatcherConfig;
  assert.equal(config.root, root);
  assert.equal(config.poll_interval, '5s');
  assert.equal(config.flush_interval, '10s');
  assert.match(c.sources[0]!.module.pathname, /\/cgroups\/watcher\.js$/);

  const disabled = fakeStart(new MetricRegistry());
  await cgroups.start(parseConfig({ disable_sources: true }).config, disabled.ctx);
  assert.equal(disabled.sources.length, 0);

  // No cgroupfs where the config says: a start-up error that names the directory, not an agent measuring nothing.
  await assert.rejects(
    async () => cgroups.start(parseConfig({ root: join(TESTDATA, 'no-such-mount') }).config, fakeStart(new MetricRegistry()).ctx),
    /root ".*no-such-mount" is not a directory: is cgroupfs mounted\?/,
  );
});
