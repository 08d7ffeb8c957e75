// Tests of the procfs plugin: parsers against testdata/, each source run in-process on a copy of a fake
// /proc tree, and the config schema and checks. (Runs the elements in the test thread; real-worker tests
// live with the element host.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { U64, type Batch } from '../../protocol/batch.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import type { ElementContext, Source } from '../../protocol/element.js';
import type { MetricHandle } from '../../protocol/metrics.js';
import { Problems } from '../../agent/config/schema.js';
import type { MetricSpec, PluginStartContext, SourceTrigger } from '../../agent/plugin-api.js';
import procfs from './index.js';
import { DEFAULT_MEMINFO_METRICS } from './config.js';
import kernelModule, { type KernelSourceConfig } from './kernel.js';
import memoryModule from './memory.js';
import networkModule, { type NetworkSourceConfig } from './network.js';
import { ProcFile } from './proc-file.js';
import { ProcParseError, U64_MAX, counterDiff, parseMeminfo, parseNetDev, parseStat, snakeCase } from './parse.js';

const TESTDATA = fileURLToPath(new URL('../../../../src/plugins/procfs/testdata', import.meta.url));
const TS = { sec: 1_700_000_000, nsec: 5 };

// ---------------------------------------------------------------------------------------------------------
// helpers

function fakeCtx(name: string): ElementContext & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    name,
    warnings,
    log: { error() {}, warn: (_o: unknown, msg?: string) => warnings.push(msg ?? ''), info() {}, debug() {} },
    metrics: new Map(),
    isRestart: false,
  } as unknown as ElementContext & { warnings: string[] };
}

let nextId = 1;
function handle(name: string): MetricHandle {
  return { id: nextId++, name, type: U64 };
}

const kernelMetrics = (): KernelSourceConfig['metrics'] => ({
  cpuTime: handle('kernel_cpu_time'),
  contextSwitches: handle('kernel_context_switches'),
  newForks: handle('kernel_new_forks'),
  procsRunning: handle('kernel_n_procs_running'),
  procsBlocked: handle('kernel_n_procs_blocked'),
});
const networkMetrics = (): NetworkSourceConfig['metrics'] => ({
  bytes: handle('network_bytes'),
  packets: handle('network_packets'),
  drops: handle('network_packet_drops'),
  errors: handle('network_errors'),
});

interface Row {
  metric: string;
  value: bigint | number;
  resource: string;
  attrs: string;
}

/** Points as comparable rows: metric name, value, `kind:id` of the resource, `k=v,…` attributes. */
function rows(batch: Batch, handles: Iterable<MetricHandle>): Row[] {
  const names = new Map<number, string>();
  for (const h of handles) names.set(h.id, h.name);
  return [...batch.points()].map((p) => {
    assert.equal(p.consumer.kind, 'local_machine');
    assert.deepEqual(p.timestamp, TS);
    return {
      metric: names.get(p.metric) ?? `#${p.metric}`,
      value: p.value,
      resource: `${p.resource.kind}:${p.resource.id}`,
      attrs: p.attributes.map(([k, v]) => `${k}=${String(v)}`).join(','),
    };
  });
}

async function pollRows(source: Source, handles: Iterable<MetricHandle>): Promise<Row[]> {
  const b = new BatchBuilder();
  await source.poll(b, TS);
  return rows(b.take(), handles);
}

/** A private copy of testdata/<name>/t0, and a function that moves it on to t1. */
function fakeProc(t: { after(fn: () => void): void }, name: string): { root: string; advance(): void } {
  const root = mkdtempSync(join(tmpdir(), 'procfs-test-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(join(TESTDATA, name, 't0'), root, { recursive: true });
  return {
    root,
    // Overwrite in place (same inode), as the kernel's files change under an open descriptor.
    advance() {
      for (const f of ['stat', 'meminfo', 'net/dev']) writeFileSync(join(root, f), readFileSync(join(TESTDATA, name, 't1', f)));
    },
  };
}

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

// ---------------------------------------------------------------------------------------------------------
// kernel source

const STATES = ['user', 'nice', 'system', 'idle', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'];

test('kernel: the first poll is a baseline that only gives the gauges', async (t) => {
  const proc = fakeProc(t, 'normal');
  const metrics = kernelMetrics();
  const src = await kernelModule.create({ root: proc.root, userHz: 100, metrics }, fakeCtx('source/procfs/kernel'));
  t.after(() => src.close?.());
  assert.deepEqual(await pollRows(src, Object.values(metrics)), [
    { metric: 'kernel_n_procs_running', value: 2n, resource: 'local_machine:', attrs: '' },
    { metric: 'kernel_n_procs_blocked', value: 0n, resource: 'local_machine:', attrs: '' },
  ]);
});

test('kernel: the second poll gives CPU time deltas in ms per state, total then per core, without iowait', async (t) => {
  const proc = fakeProc(t, 'normal');
  const metrics = kernelMetrics();
  const src = await kernelModule.create({ root: proc.root, userHz: 100, metrics }, fakeCtx('source/procfs/kernel'));
  t.after(() => src.close?.());
  await pollRows(src, []);
  proc.advance();
  const got = await pollRows(src, Object.values(metrics));
  const cpu = (resource: string, ticks: number[]) =>
    STATES.map((s, k) => ({ metric: 'kernel_cpu_time', value: BigInt(ticks[k]! * 10), resource, attrs: `cpu_state=${s}` }));
  assert.deepEqual(got, [
    // t1 - t0 of user nice system idle irq softirq steal guest guest_nice, × 1000 / USER_HZ
    ...cpu('local_machine:', [100, 3, 50, 350, 1, 2, 0, 0, 0]),
    ...cpu('cpu_core:0', [50, 1, 25, 150, 1, 1, 0, 0, 0]),
    ...cpu('cpu_core:1', [50, 2, 25, 200, 0, 1, 0, 0, 0]),
    { metric: 'kernel_context_switches', value: 1000n, resource: 'local_machine:', attrs: '' },
    { metric: 'kernel_new_forks', value: 9n, resource: 'local_machine:', attrs: '' },
    { metric: 'kernel_n_procs_running', value: 3n, resource: 'local_machine:', attrs: '' },
    { metric: 'kernel_n_procs_blocked', value: 1n, resource: 'local_machine:', attrs: '' },
  ]);
});

test('kernel: counters that wrap past 2^64 give the small true delta', async (t) => {
  const proc = fakeProc(t, 'counter-wrap');
  const metrics = kernelMetrics();
  const src = await kernelModule.create({ root: proc.root, userHz: 100, metrics }, fakeCtx('source/procfs/kernel'));
  t.after(() => src.close?.());
  await pollRows(src, []);
  proc.advance();
  const got = await pollRows(src, Object.values(metrics));
  const find = (metric: string, attrs = '', resource = 'local_machine:') =>
    got.find((r) => r.metric === metric && r.attrs === attrs && r.resource === resource)?.value;
  assert.equal(find('kernel_cpu_time', 'cpu_state=user'), 100n); // 10 ticks
  assert.equal(find('kernel_cpu_time', 'cpu_state=system'), 0n);
  assert.equal(find('kernel_context_switches'), 1000n);
  assert.equal(find('kernel_new_forks'), 3n);
});

test('kernel: columns an old kernel lacks are left out, and an offline CPU is skipped without shifting the others', async (t) => {
  const proc = fakeProc(t, 'missing-fields');
  const metrics = kernelMetrics();
  const src = await kernelModule.create({ root: proc.root, userHz: 100, metrics }, fakeCtx('source/procfs/kernel'));
  t.after(() => src.close?.());
  assert.deepEqual(await pollRows(src, []), []); // no procs_running line: nothing at all on the baseline
  proc.advance();
  const got = await pollRows(src, Object.values(metrics));
  const cpuRows = got.filter((r) => r.metric === 'kernel_cpu_time');
  assert.deepEqual([...new Set(cpuRows.map((r) => r.resource))], ['local_machine:', 'cpu_core:0', 'cpu_core:2']);
  assert.deepEqual(
    cpuRows.filter((r) => r.resource === 'cpu_core:2').map((r) => `${r.attrs}=${r.value}`),
    ['cpu_state=user=150', 'cpu_state=nice=0', 'cpu_state=system=50', 'cpu_state=idle=500', 'cpu_state=irq=0', 'cpu_state=softirq=10'],
  );
  assert.deepEqual(
    got.filter((r) => r.metric !== 'kernel_cpu_time').map((r) => r.metric),
    ['kernel_context_switches', 'kernel_new_forks'],
  );
});

test('kernel: USER_HZ other than 100 converts readings before subtracting, so rounding does not drift', async (t) => {
  const proc = fakeProc(t, 'normal');
  const metrics = kernelMetrics();
  const src = await kernelModule.create({ root: proc.root, userHz: 300, metrics }, fakeCtx('source/procfs/kernel'));
  t.after(() => src.close?.());
  await pollRows(src, []);
  proc.advance();
  const got = await pollRows(src, Object.values(metrics));
  // user: floor(1475000/300) - floor(1375000/300) = 4916 - 4583
  assert.equal(got.find((r) => r.attrs === 'cpu_state=user' && r.resource === 'local_machine:')?.value, 333n);
});

test('kernel: a missing stat file is reported when the source is created', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'procfs-test-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  await assert.rejects(
    async () => kernelModule.create({ root, userHz: 100, metrics: kernelMetrics() }, fakeCtx('source/procfs/kernel')),
    new RegExp(`${join(root, 'stat')} does not exist`),
  );
});

test('kernel: a stat file that vanishes makes poll throw a clear error', async (t) => {
  const proc = fakeProc(t, 'normal');
  const src = await kernelModule.create({ root: proc.root, userHz: 100, metrics: kernelMetrics() }, fakeCtx('source/procfs/kernel'));
  t.after(() => src.close?.());
  await pollRows(src, []);
  unlinkSync(join(proc.root, 'stat'));
  await assert.rejects(async () => src.poll(new BatchBuilder(), TS), /stat does not exist \(it vanished or was never there\)/);
});

test('kernel: a stat file replaced by a new one is read through a new descriptor', async (t) => {
  const proc = fakeProc(t, 'normal');
  const metrics = kernelMetrics();
  const src = await kernelModule.create({ root: proc.root, userHz: 100, metrics }, fakeCtx('source/procfs/kernel'));
  t.after(() => src.close?.());
  await pollRows(src, []);
  writeFileSync(join(proc.root, 'stat.new'), readFileSync(join(TESTDATA, 'normal', 't1', 'stat')));
  renameSync(join(proc.root, 'stat.new'), join(proc.root, 'stat'));
  const got = await pollRows(src, Object.values(metrics));
  assert.equal(got.find((r) => r.metric === 'kernel_context_switches')?.value, 1000n);
});

test('kernel: text that is not /proc/stat makes poll throw, naming the file', async (t) => {
  const proc = fakeProc(t, 'normal');
  const src = await kernelModule.create({ root: proc.root, userHz: 100, metrics: kernelMetrics() }, fakeCtx('source/procfs/kernel'));
  t.after(() => src.close?.());
  writeFileSync(join(proc.root, 'stat'), 'hello\n');
  await assert.rejects(async () => src.poll(new BatchBuilder(), TS), new RegExp(`${join(proc.root, 'stat')}: missing "cpu", "ctxt", "processes" lines`));
});

test('kernel: a file larger than the read buffer is read whole', async (t) => {
  const proc = fakeProc(t, 'normal');
  const metrics = kernelMetrics();
  const src = await kernelModule.create({ root: proc.root, userHz: 100, metrics }, fakeCtx('source/procfs/kernel'));
  t.after(() => src.close?.());
  // A 4096-CPU machine: 100 KiB of cpu lines before ctxt.
  const big = (extra: number) => {
    let s = `cpu  ${1000 + extra} 0 0 0 0 0 0 0 0 0\n`;
    for (let i = 0; i < 4096; i++) s += `cpu${i} ${10 + extra} 0 0 0 0 0 0 0 0 0\n`;
    return s + `ctxt ${5 + extra}\nprocesses 1\nprocs_running 1\n`;
  };
  writeFileSync(join(proc.root, 'stat'), big(0));
  await pollRows(src, []);
  writeFileSync(join(proc.root, 'stat'), big(1));
  const got = await pollRows(src, Object.values(metrics));
  assert.equal(got.filter((r) => r.metric === 'kernel_cpu_time').length, 9 * 4097);
  assert.equal(got.find((r) => r.resource === 'cpu_core:4095' && r.attrs === 'cpu_state=user')?.value, 10n);
  assert.equal(got.find((r) => r.metric === 'kernel_context_switches')?.value, 1n);
});

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
  const file = new ProcFile(path, (e) => fallbacks.push(e.message), brokenRead);
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

test('ProcFile reads at offset 0 through one descriptor while the file stays in place', (t) => {
  const proc = fakeProc(t, 'normal');
  const path = join(proc.root, 'stat');
  const positions: Array<number | null> = [];
  const spy = ((fd: number, buf: NodeJS.ArrayBufferView, offset: number, length: number, position: number | null) => {
    positions.push(position);
    return readSync(fd, buf, offset, length, position);
  }) as typeof readSync;
  const file = new ProcFile(path, undefined, spy);
  t.after(() => file.close());
  for (const snapshot of ['t0', 't1', 't0']) {
    writeFileSync(path, testdata('normal', snapshot, 'stat'));
    positions.length = 0;
    assert.equal(file.read(), testdata('normal', snapshot, 'stat'));
    assert.equal(positions[0], 0);
    assert.ok(positions.every((p) => p !== null));
  }
});

// ---------------------------------------------------------------------------------------------------------
// memory source

test('memory: every chosen entry is emitted in bytes on the first poll', async (t) => {
  const proc = fakeProc(t, 'normal');
  const entries = DEFAULT_MEMINFO_METRICS.map((key) => ({ key, metric: handle(snakeCase(key)) }));
  const src = await memoryModule.create({ root: proc.root, entries }, fakeCtx('source/procfs/memory'));
  t.after(() => src.close?.());
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
  const handles = entries.map((e) => e.metric);
  assert.deepEqual(await pollRows(src, handles), expected(24570436, 61440));
  proc.advance();
  assert.deepEqual(await pollRows(src, handles), expected(24470436, 71440));
});

test('memory: an entry this kernel lacks is skipped with one warning', async (t) => {
  const proc = fakeProc(t, 'missing-fields');
  const entries = DEFAULT_MEMINFO_METRICS.map((key) => ({ key, metric: handle(snakeCase(key)) }));
  const ctx = fakeCtx('source/procfs/memory');
  const src = await memoryModule.create({ root: proc.root, entries }, ctx);
  t.after(() => src.close?.());
  const handles = entries.map((e) => e.metric);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(
      (await pollRows(src, handles)).map((r) => r.metric),
      ['mem_total', 'mem_free', 'cached', 'active', 'inactive', 'mapped'],
    );
  }
  assert.equal(ctx.warnings.length, 2);
  assert.match(ctx.warnings[0]!, /has no "MemAvailable" entry on this kernel; mem_available will not be measured/);
  assert.match(ctx.warnings[1]!, /"SwapCached"/);
});

test('memory: a malformed meminfo makes poll throw, naming the file and line', async (t) => {
  const proc = fakeProc(t, 'normal');
  const src = await memoryModule.create({ root: proc.root, entries: [{ key: 'MemTotal', metric: handle('mem_total') }] }, fakeCtx('m'));
  t.after(() => src.close?.());
  writeFileSync(join(proc.root, 'meminfo'), 'MemTotal: 12 parsecs\n');
  await assert.rejects(async () => src.poll(new BatchBuilder(), TS), new RegExp(`${join(proc.root, 'meminfo')}: line 1 .*unknown unit "parsecs"`));
});

// ---------------------------------------------------------------------------------------------------------
// network source

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
  const metrics = networkMetrics();
  const src = await networkModule.create({ root: proc.root, metrics }, fakeCtx('source/procfs/network'));
  t.after(() => src.close?.());
  assert.deepEqual(await pollRows(src, Object.values(metrics)), []);
  proc.advance();
  assert.deepEqual(await pollRows(src, Object.values(metrics)), [
    ...netRows('lo', 'rx', 200, 2, 0, 0),
    ...netRows('lo', 'tx', 200, 2, 0, 0),
    ...netRows('eth0', 'rx', 10000, 10, 2, 1),
    ...netRows('eth0', 'tx', 1000, 10, 4, 3),
  ]);
  // Nothing changed since: every delta is zero, none is dropped.
  const still = await pollRows(src, Object.values(metrics));
  assert.equal(still.length, 16);
  assert.ok(still.every((r) => r.value === 0n));
});

test('network: counters crossing 2^32 and wrapping at 2^64 give true deltas', async (t) => {
  const proc = fakeProc(t, 'counter-wrap');
  const metrics = networkMetrics();
  const src = await networkModule.create({ root: proc.root, metrics }, fakeCtx('source/procfs/network'));
  t.after(() => src.close?.());
  await pollRows(src, []);
  proc.advance();
  assert.deepEqual(await pollRows(src, Object.values(metrics)), [...netRows('eth0', 'rx', 1000, 10, 0, 0), ...netRows('eth0', 'tx', 10, 2, 0, 0)]);
});

test('network: an interface that appears later counts from zero', async (t) => {
  const proc = fakeProc(t, 'missing-fields');
  const metrics = networkMetrics();
  const src = await networkModule.create({ root: proc.root, metrics }, fakeCtx('source/procfs/network'));
  t.after(() => src.close?.());
  await pollRows(src, []);
  proc.advance();
  assert.deepEqual(await pollRows(src, Object.values(metrics)), [
    ...netRows('lo', 'rx', 500, 5, 0, 0),
    ...netRows('lo', 'tx', 500, 5, 0, 0),
    ...netRows('eth1', 'rx', 700, 7, 1, 0),
    ...netRows('eth1', 'tx', 300, 3, 0, 0),
  ]);
});

test('network: a vanished net/dev makes poll throw a clear error', async (t) => {
  const proc = fakeProc(t, 'normal');
  const src = await networkModule.create({ root: proc.root, metrics: networkMetrics() }, fakeCtx('source/procfs/network'));
  t.after(() => src.close?.());
  rmSync(join(proc.root, 'net'), { recursive: true });
  await assert.rejects(async () => src.poll(new BatchBuilder(), TS), /net\/dev does not exist/);
});

test('every source reads the real /proc of this machine', async (t) => {
  const kernel = await kernelModule.create({ root: '/proc', userHz: 100, metrics: kernelMetrics() }, fakeCtx('k'));
  const memory = await memoryModule.create({ root: '/proc', entries: [{ key: 'MemTotal', metric: handle('mem_total') }] }, fakeCtx('m'));
  const network = await networkModule.create({ root: '/proc', metrics: networkMetrics() }, fakeCtx('n'));
  t.after(() => [kernel, memory, network].forEach((s) => s.close?.()));
  for (const s of [kernel, memory, network]) await s.poll(new BatchBuilder(), TS);
  const b = new BatchBuilder();
  await kernel.poll(b, TS);
  assert.ok(b.length >= 2 + 9, `kernel gave ${b.length} points`);
  const m = new BatchBuilder();
  await memory.poll(m, TS);
  assert.equal(m.length, 1);
  assert.ok(m.current.numberAt(0) > 0);
});

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

function fakeStart(): PluginStartContext & {
  metrics: Map<string, MetricSpec>;
  sources: Array<{ name: string; module: URL; config: unknown; trigger: SourceTrigger }>;
} {
  const metrics = new Map<string, MetricSpec>();
  const sources: Array<{ name: string; module: URL; config: unknown; trigger: SourceTrigger }> = [];
  let id = 0;
  const ctx = {
    metrics,
    sources,
    log: { error() {}, warn() {}, info() {}, debug() {} },
    metric(name: string, spec: MetricSpec): MetricHandle {
      metrics.set(name, spec);
      return { id: id++, name, type: spec.type === 'u64' ? U64 : 0 };
    },
    source(name: string, module: URL, config: unknown, trigger: SourceTrigger) {
      sources.push({ name, module, config, trigger });
    },
    transform() {
      throw new Error('procfs has no transform');
    },
    output() {
      throw new Error('procfs has no output');
    },
    serveControl() {
      throw new Error('procfs serves no control socket');
    },
  };
  return ctx as unknown as PluginStartContext & { metrics: typeof metrics; sources: typeof sources };
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
      groups: [{ poll_interval: '2s', flush_interval: '4s', memory_mode: 'quick' }],
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

test('start registers Alumet’s metrics and one source per enabled part', async () => {
  const { config } = parseConfig({ kernel: { poll_interval: '1s', flush_interval: '10s' }, memory: { metrics: ['MemTotal', 'SReclaimable', 'MemTotal'] } });
  const ctx = fakeStart();
  await procfs.start(config, ctx);
  assert.deepEqual(
    ctx.sources.map((s) => [s.name, s.trigger]),
    [
      ['kernel', { poll_interval: '1s', flush_interval: '10s' }],
      ['memory', { poll_interval: '5s' }],
      ['network', { poll_interval: '5s' }],
      ['process-watcher', { poll_interval: '2s' }],
    ],
  );
  assert.deepEqual(
    ctx.sources.map((s) => s.module.pathname.split('/').pop()),
    ['kernel.js', 'memory.js', 'network.js', 'processes.js'],
  );
  const spec = (name: string) => {
    const s = ctx.metrics.get(name);
    return s && `${s.type} ${String(s.unit)}`;
  };
  assert.equal(spec('kernel_cpu_time'), 'u64 ms');
  assert.equal(spec('kernel_context_switches'), 'u64 1');
  assert.equal(spec('kernel_new_forks'), 'u64 1');
  assert.equal(spec('kernel_n_procs_running'), 'u64 1');
  assert.equal(spec('kernel_n_procs_blocked'), 'u64 1');
  assert.equal(spec('mem_total'), 'u64 By');
  assert.equal(spec('s_reclaimable'), 'u64 By');
  assert.equal(spec('network_bytes'), 'u64 By');
  assert.equal(spec('network_packets'), 'u64 1');
  assert.equal(spec('network_packet_drops'), 'u64 1');
  assert.equal(spec('network_errors'), 'u64 1');
  const memory = ctx.sources[1]!.config as { entries: Array<{ key: string }> };
  assert.deepEqual(
    memory.entries.map((e) => e.key),
    ['MemTotal', 'SReclaimable'],
  );
  // Element configs cross to the worker by structured clone.
  for (const s of ctx.sources) assert.deepEqual(structuredClone(s.config), s.config);
});

test('start creates no source for a disabled part', async () => {
  const { config } = parseConfig({ kernel: { enabled: false }, network: { enabled: false }, processes: { enabled: false } });
  const ctx = fakeStart();
  await procfs.start(config, ctx);
  assert.deepEqual(
    ctx.sources.map((s) => s.name),
    ['memory'],
  );
  assert.equal(ctx.metrics.has('kernel_cpu_time'), false);
});
