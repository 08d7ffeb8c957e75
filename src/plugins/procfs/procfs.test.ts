// Tests of the procfs plugin: its keys, defaults and checks, and its kernel, memory and network sources run
// by the agent in real worker threads on copies of the fake /proc trees in testdata/ (plugin harness): each
// source polls once at start, then when the test triggers it after moving the tree to its next snapshot.
// Parsers: procfs-parse.test.ts; edge cases called directly: procfs-sources.test.ts; processes:
// processes.test.ts.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Problems } from '../../agent/config/schema.js';
import { U64 } from '../../protocol/batch.js';
import { parseUnit, unitEquals, unitUniqueName } from '../../protocol/units.js';
import { fakeProc } from '../../../test/helpers/fake-proc.js';
import { startPlugin, type PluginRun, type RecordedPoint } from '../../../test/helpers/plugin-harness.js';
import { userHz } from '../../agent/clock-ticks.js';
import { DEFAULT_MEMINFO_METRICS } from './config.js';
import procfs from './index.js';

// ---------------------------------------------------------------------------------------------------------
// plugin definition

function parseConfig(input: unknown): { config: ReturnType<typeof procfs.config.defaultValue>; problems: Problems } {
  const problems = new Problems();
  const config = procfs.config.parse(input, 'plugins.procfs', problems);
  if (problems.empty) {
    // check() paths are relative to the plugin's table; the loader files them under plugins.NAME.
    const own = new Problems();
    procfs.check?.(config, own);
    for (const line of own.list) problems.list.push(`plugins.procfs.${line}`);
  }
  return { config, problems };
}


test('the default config is Alumet’s plus root, and passes check', () => {
  const def = procfs.config.defaultValue();
  assert.deepEqual(def, {
    root: '/proc',
    kernel: { enabled: true, poll_interval: '5s' },
    memory: { enabled: true, poll_interval: '5s', metrics: [...DEFAULT_MEMINFO_METRICS] },
    network: { enabled: true, poll_interval: '5s' },
    processes: {
      enabled: true,
      refresh_interval: '2s',
      strategy: 'watcher',
      groups: [{ poll_interval: '10s', flush_interval: '10s', memory_mode: 'quick' }],
      events: { poll_interval: '1s', flush_interval: '4s', memory_mode: 'quick' },
    },
  });
  const { problems } = parseConfig({});
  assert.deepEqual(problems.list, []);
});


test('config problems name the key and suggest the valid spelling', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ memory: { metrics: ['MemTotl'] } }, /^plugins\.procfs\.memory\.metrics\[0\]: "MemTotl" is not a \/proc\/meminfo entry; did you mean "MemTotal"\?/],
    [{ memory: { metrics: ['MemFree', 'sreclaimable'] } }, /^plugins\.procfs\.memory\.metrics\[1\]: .*did you mean "SReclaimable"\?/],
    [{ memory: { metrics: ['Nonsense_Entry_Name'] } }, /^plugins\.procfs\.memory\.metrics\[0\]: "Nonsense_Entry_Name" is not a \/proc\/meminfo entry \(entries are spelled/],
    [{ kernel: { pol_interval: '1s' } }, /^plugins\.procfs\.kernel\.pol_interval: unknown key; did you mean "poll_interval"\?/],
    [{ network: { poll_interval: '10 parsecs' } }, /^plugins\.procfs\.network\.poll_interval: .*not a duration/],
    [{ memory: { flush_interval: 5 } }, /^plugins\.procfs\.memory\.flush_interval: expected a duration/],
    [{ processes: { strategy: 'events' } }, /^plugins\.procfs\.processes\.strategy: expected one of "watcher", "event".*did you mean "event"\?/],
  ];
  for (const [input, message] of cases) {
    const { problems } = parseConfig(input);
    assert.equal(problems.list.length, 1, `${JSON.stringify(input)} → ${problems.list.join(' | ')}`);
    assert.match(problems.list[0]!, message);
  }
  // A disabled memory source is not checked.
  assert.deepEqual(parseConfig({ memory: { enabled: false, metrics: ['MemTotl'] } }).problems.list, []);
});


test('a meminfo entry that only the configured root has is accepted', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'procfs-test-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'meminfo'), 'MemTotal: 1 kB\nFutureKernelThing: 2 kB\n');
  assert.deepEqual(parseConfig({ root, memory: { metrics: ['FutureKernelThing'] } }).problems.list, []);
});

test('start registers Alumet’s metrics and one source per enabled part', async (t) => {
  const proc = fakeProc(t, 'normal');
  const run = await startPlugin(t, procfs, {
    config: { root: proc.root, kernel: { poll_interval: '1s', flush_interval: '10s' }, memory: { metrics: ['MemTotal', 'SReclaimable', 'MemTotal'] } },
  });
  assert.deepEqual(
    run.elements().filter((e) => e.kind === 'source').map((e) => [e.name, e.period]),
    [
      ['source/procfs/kernel', '1s'],
      ['source/procfs/memory', '5s'],
      ['source/procfs/network', '5s'],
      ['source/procfs/process-watcher', '2s'],
    ],
  );
  const expected: Array<[string, string]> = [
    ['kernel_cpu_time', 'u64 ms'],
    ['kernel_context_switches', 'u64 1'],
    ['kernel_new_forks', 'u64 1'],
    ['kernel_n_procs_running', 'u64 1'],
    ['kernel_n_procs_blocked', 'u64 1'],
    ['mem_total', 'u64 By'],
    ['s_reclaimable', 'u64 By'],
    ['network_bytes', 'u64 By'],
    ['network_packets', 'u64 1'],
    ['network_packet_drops', 'u64 1'],
    ['network_errors', 'u64 1'],
  ];
  for (const [name, spec] of expected) {
    const m = run.agent.registry.byName(name);
    assert.ok(m, `${name} is registered`);
    const [type, unit] = spec.split(' ');
    assert.equal(m.type === U64 ? 'u64' : 'f64', type, name);
    assert.ok(unitEquals(m.unit, parseUnit(unit!)), `${name}: ${unitUniqueName(m.unit)}, expected ${unit}`);
  }
  // MemTotal listed twice is measured once.
  const memory = await run.waitForPoints('the first memory poll', (points) => points.filter((p) => p.metric === 'mem_total' || p.metric === 's_reclaimable').length >= 2);
  assert.deepEqual(
    memory.filter((p) => p.metric === 'mem_total' || p.metric === 's_reclaimable').map((p) => p.metric),
    ['mem_total', 's_reclaimable'],
  );
  await run.stop();
});

test('start creates no source for a disabled part', async (t) => {
  const proc = fakeProc(t, 'normal');
  const run = await startPlugin(t, procfs, { config: { root: proc.root, kernel: { enabled: false }, network: { enabled: false }, processes: { enabled: false } } });
  assert.deepEqual(
    run.elements().filter((e) => e.kind === 'source').map((e) => e.name),
    ['source/procfs/memory'],
  );
  assert.equal(run.agent.registry.byName('kernel_cpu_time'), undefined);
  await run.stop();
});

// ---------------------------------------------------------------------------------------------------------
// the sources in worker threads

type Part = 'kernel' | 'memory' | 'network';

/** procfs with only `part` enabled on `root`, polled at start and then only when the test triggers it. */
function startPart(t: TestContext, part: Part, root: string): Promise<PluginRun> {
  const only = (p: Part) => ({ enabled: p === part, poll_interval: '1h' });
  return startPlugin(t, procfs, { config: { root, kernel: only('kernel'), memory: only('memory'), network: only('network'), processes: { enabled: false } } });
}

interface Row {
  metric: string;
  value: bigint | number;
  resource: string;
  attrs: string;
}

/** Points as comparable rows: metric name, value, `kind:id` of the resource, `k=v,…` attributes. */
function rows(points: RecordedPoint[]): Row[] {
  return points.map((p) => {
    assert.equal(p.consumer.kind, 'local_machine');
    assert.deepEqual(p.timestamp, points[0]!.timestamp, 'one timestamp per poll');
    return {
      metric: p.metric,
      value: p.value,
      resource: `${p.resource.kind}:${p.resource.id}`,
      attrs: Object.entries(p.attributes).map(([k, v]) => `${k}=${String(v)}`).join(','),
    };
  });
}

/**
 * The rows of poll `n` (1: the poll at start; later ones are triggered), once `count` points of it have
 * reached the output. A poll's points travel in one batch, so they arrive together.
 */
async function poll(run: PluginRun, part: Part, n: number, count: number): Promise<Row[]> {
  const source = `source/procfs/${part}`;
  // A triggered poll's points come after all the source produced before; those may still be on their way.
  let before = 0;
  if (n > 1) {
    const earlier = await run.waitForElement(source, `poll ${n - 1}`, (e) => e.counters['polls'] === n - 1);
    const delivered = Number(earlier.counters['points_out']);
    await run.waitForPoints(`the ${delivered} points of the polls before poll ${n}`, (p) => p.length >= delivered);
    before = delivered;
    await run.trigger(source);
  }
  await run.waitForElement(source, `poll ${n}`, (e) => e.counters['polls'] === n);
  const points = await run.waitForPoints(`${count} points of poll ${n}`, (p) => p.length >= before + count);
  return rows(points.slice(before));
}

const STATES = ['user', 'nice', 'system', 'idle', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'];
/** Ticks of /proc/stat as the kernel source turns them into ms: each reading converted, then subtracted. */
const msDelta = (t0: number, t1: number) => BigInt(Math.floor((t1 * 1000) / userHz()) - Math.floor((t0 * 1000) / userHz()));

test('kernel: the first poll is a baseline that only gives the gauges', async (t) => {
  const run = await startPart(t, 'kernel', fakeProc(t, 'normal').root);
  assert.deepEqual(await poll(run, 'kernel', 1, 2), [
    { metric: 'kernel_n_procs_running', value: 2n, resource: 'local_machine:', attrs: '' },
    { metric: 'kernel_n_procs_blocked', value: 0n, resource: 'local_machine:', attrs: '' },
  ]);
  await run.stop();
});

test('kernel: the second poll gives CPU time deltas in ms per state, total then per core, without iowait', async (t) => {
  const proc = fakeProc(t, 'normal');
  const run = await startPart(t, 'kernel', proc.root);
  await poll(run, 'kernel', 1, 2);
  proc.advance();
  // user nice system idle irq softirq steal guest guest_nice of cpu, cpu0 and cpu1, at t0 and t1
  const cpu = (resource: string, t0: number[], t1: number[]) =>
    STATES.map((s, k) => ({ metric: 'kernel_cpu_time', value: msDelta(t0[k]!, t1[k]!), resource, attrs: `cpu_state=${s}` }));
  assert.deepEqual(await poll(run, 'kernel', 2, 3 * 9 + 4), [
    ...cpu('local_machine:', [1375, 0, 1165, 59588, 0, 18, 9, 0, 0], [1475, 3, 1215, 59938, 1, 20, 9, 0, 0]),
    ...cpu('cpu_core:0', [525, 0, 506, 30067, 0, 8, 2, 0, 0], [575, 1, 531, 30217, 1, 9, 2, 0, 0]),
    ...cpu('cpu_core:1', [850, 0, 659, 29521, 0, 10, 7, 0, 0], [900, 2, 684, 29721, 0, 11, 7, 0, 0]),
    { metric: 'kernel_context_switches', value: 1000n, resource: 'local_machine:', attrs: '' },
    { metric: 'kernel_new_forks', value: 9n, resource: 'local_machine:', attrs: '' },
    { metric: 'kernel_n_procs_running', value: 3n, resource: 'local_machine:', attrs: '' },
    { metric: 'kernel_n_procs_blocked', value: 1n, resource: 'local_machine:', attrs: '' },
  ]);
  await run.stop();
});

test('kernel: counters that wrap past 2^64 give the small true delta', async (t) => {
  const proc = fakeProc(t, 'counter-wrap');
  const run = await startPart(t, 'kernel', proc.root);
  await run.waitForElement('source/procfs/kernel', 'the first poll', (e) => e.counters['polls'] === 1);
  proc.advance();
  const got = await poll(run, 'kernel', 2, 1);
  const find = (metric: string, attrs = '', resource = 'local_machine:') => got.find((r) => r.metric === metric && r.attrs === attrs && r.resource === resource)?.value;
  assert.equal(find('kernel_cpu_time', 'cpu_state=user'), msDelta(0, 10)); // 10 ticks across the wrap
  assert.equal(find('kernel_cpu_time', 'cpu_state=system'), 0n);
  assert.equal(find('kernel_context_switches'), 1000n);
  assert.equal(find('kernel_new_forks'), 3n);
  await run.stop();
});

test('memory: every chosen entry is emitted in bytes on the first poll', async (t) => {
  const proc = fakeProc(t, 'normal');
  const run = await startPart(t, 'memory', proc.root);
  const kib = (n: number) => BigInt(n) * 1024n;
  const expected = (free: number, cached: number) => [
    { metric: 'mem_total', value: kib(24684084), resource: 'local_machine:', attrs: '' },
    { metric: 'mem_free', value: kib(free), resource: 'local_machine:', attrs: '' },
    { metric: 'mem_available', value: kib(24466420), resource: 'local_machine:', attrs: '' },
    { metric: 'cached', value: kib(cached), resource: 'local_machine:', attrs: '' },
    { metric: 'swap_cached', value: 0n, resource: 'local_machine:', attrs: '' },
    { metric: 'active', value: kib(40960), resource: 'local_machine:', attrs: '' },
    { metric: 'inactive', value: kib(30720), resource: 'local_machine:', attrs: '' },
    { metric: 'mapped', value: kib(12288), resource: 'local_machine:', attrs: '' },
  ];
  assert.equal(DEFAULT_MEMINFO_METRICS.length, 8);
  assert.deepEqual(await poll(run, 'memory', 1, 8), expected(24570436, 61440));
  proc.advance();
  assert.deepEqual(await poll(run, 'memory', 2, 8), expected(24470436, 71440));
  await run.stop();
});

const netRows = (iface: string, dir: string, bytes: number, packets: number, drops: number, errors: number): Row[] =>
  (
    [
      ['network_bytes', bytes],
      ['network_packets', packets],
      ['network_packet_drops', drops],
      ['network_errors', errors],
    ] as const
  ).map(([metric, v]) => ({ metric, value: BigInt(v), resource: 'local_machine:', attrs: `interface=${iface},direction=${dir}` }));

test('network: the first poll is a baseline, then deltas per interface and direction', async (t) => {
  const proc = fakeProc(t, 'normal');
  const run = await startPart(t, 'network', proc.root);
  await run.waitForElement('source/procfs/network', 'the first poll', (e) => e.counters['polls'] === 1);
  proc.advance();
  assert.deepEqual(await poll(run, 'network', 2, 16), [
    ...netRows('lo', 'rx', 200, 2, 0, 0),
    ...netRows('lo', 'tx', 200, 2, 0, 0),
    ...netRows('eth0', 'rx', 10000, 10, 2, 1),
    ...netRows('eth0', 'tx', 1000, 10, 4, 3),
  ]);
  // Nothing changed since: every delta is zero, none is dropped.
  const still = await poll(run, 'network', 3, 16);
  assert.equal(still.length, 16);
  assert.ok(still.every((r) => r.value === 0n));
  const points = await run.stop();
  assert.equal(points.length, 32, 'the baseline poll gave nothing');
});

test('network: counters crossing 2^32 and wrapping at 2^64 give true deltas', async (t) => {
  const proc = fakeProc(t, 'counter-wrap');
  const run = await startPart(t, 'network', proc.root);
  await run.waitForElement('source/procfs/network', 'the first poll', (e) => e.counters['polls'] === 1);
  proc.advance();
  assert.deepEqual(await poll(run, 'network', 2, 8), [...netRows('eth0', 'rx', 1000, 10, 0, 0), ...netRows('eth0', 'tx', 10, 2, 0, 0)]);
  await run.stop();
});

test('network: an interface that appears later counts from zero', async (t) => {
  const proc = fakeProc(t, 'missing-fields');
  const run = await startPart(t, 'network', proc.root);
  await run.waitForElement('source/procfs/network', 'the first poll', (e) => e.counters['polls'] === 1);
  proc.advance();
  assert.deepEqual(await poll(run, 'network', 2, 16), [
    ...netRows('lo', 'rx', 500, 5, 0, 0),
    ...netRows('lo', 'tx', 500, 5, 0, 0),
    ...netRows('eth1', 'rx', 700, 7, 1, 0),
    ...netRows('eth1', 'tx', 300, 3, 0, 0),
  ]);
  await run.stop();
});

test('every source reads the real /proc of this machine', async (t) => {
  const run = await startPlugin(t, procfs, {
    config: { kernel: { poll_interval: '1h' }, memory: { poll_interval: '1h', metrics: ['MemTotal'] }, network: { poll_interval: '1h' }, processes: { enabled: false } },
  });
  const sources = ['source/procfs/kernel', 'source/procfs/memory', 'source/procfs/network'];
  for (const s of sources) await run.waitForElement(s, 'the first poll', (e) => e.counters['polls'] === 1);
  await run.trigger(...sources);
  const points = await run.stop();
  assert.ok(points.filter((p) => p.metric === 'kernel_cpu_time').length >= 9, 'CPU time of the machine, per state');
  assert.ok(points.filter((p) => p.metric.startsWith('kernel_n_procs_')).length >= 2);
  const memory = points.filter((p) => p.metric === 'mem_total');
  assert.equal(memory.length, 2);
  assert.ok(memory.every((p) => (p.value as bigint) > 0n));
  assert.ok(points.some((p) => p.metric === 'network_bytes' && p.attributes['interface'] === 'lo'));
});
