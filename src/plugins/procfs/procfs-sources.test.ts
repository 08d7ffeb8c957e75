// Tests of procfs' kernel, memory and network sources called in this thread on fake /proc trees, for what a
// direct call shows best: kernels that lack columns or entries (with their warnings), another USER_HZ, huge
// files, and files that vanish, are replaced or hold garbage. procfs.test.ts runs them in worker threads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { U64, type Batch } from '../../protocol/batch.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import type { ElementContext, Source } from '../../protocol/element.js';
import type { MetricHandle } from '../../protocol/metrics.js';
import { PROCFS_TESTDATA as TESTDATA, fakeProc } from '../../../test/helpers/fake-proc.js';
import { DEFAULT_MEMINFO_METRICS } from './config.js';
import kernelModule, { type KernelSourceConfig } from './kernel.js';
import memoryModule from './memory.js';
import networkModule, { type NetworkSourceConfig } from './network.js';
import { snakeCase } from './parse.js';

const TS = { sec: 1_700_000_000, nsec: 5 };

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

// ---------------------------------------------------------------------------------------------------------

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


test('network: a vanished net/dev makes poll throw a clear error', async (t) => {
  const proc = fakeProc(t, 'normal');
  const src = await networkModule.create({ root: proc.root, metrics: networkMetrics() }, fakeCtx('source/procfs/network'));
  t.after(() => src.close?.());
  rmSync(join(proc.root, 'net'), { recursive: true });
  await assert.rejects(async () => src.poll(new BatchBuilder(), TS), /net\/dev does not exist/);
});
