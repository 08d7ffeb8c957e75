// Tests of the energy-estimation-tdp plugin: config checks; the plugin run by the agent behind procfs' kernel
// source on a fake /proc, in real worker threads (plugin harness); and, in this thread, the transform on
// crafted batches: units, batches forwarded or grown in place, metrics registered late, warnings.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F64, U64, type Batch, type PointView } from '../../protocol/batch.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import type { ElementContext } from '../../protocol/element.js';
import type { MetricHandle, MetricInfo } from '../../protocol/metrics.js';
import { Problems } from '../../agent/config/schema.js';
import { pluginConfig } from '../../agent/config/plugin-selection.js';
import { unitUniqueName } from '../../protocol/units.js';
import { fakeProc } from '../../../test/helpers/fake-proc.js';
import { startPlugin } from '../../../test/helpers/plugin-harness.js';
import procfs from '../procfs/index.js';
import tdp from './index.js';
import transformModule, { secondsPer, type TdpTransformConfig } from './transform.js';

const TS = { sec: 1_700_000_000, nsec: 123_456_789 };
const CPU_TIME: MetricInfo = { id: 3, name: 'kernel_cpu_time', description: '', type: U64, unit: { base: 's', prefix: 'milli' } };
const ENERGY: MetricInfo = { id: 9, name: 'estimated_consumed_energy', description: '', type: F64, unit: { base: 'J', prefix: '' } };
const MEM: MetricInfo = { id: 4, name: 'mem_total', description: '', type: U64, unit: { base: 'By', prefix: '' } };
const handleOf = (m: MetricInfo): MetricHandle => ({ id: m.id, name: m.name, type: m.type });

function fakeCtx(metrics: MetricInfo[]) {
  const warnings: string[] = [];
  const table = new Map(metrics.map((m) => [m.id, m]));
  const ctx = {
    name: 'transform/energy-estimation-tdp/transform',
    log: { error() {}, warn: (_o: unknown, msg?: string) => warnings.push(msg ?? ''), info() {}, debug() {} },
    metrics: table,
    isRestart: false,
  } as unknown as ElementContext;
  return { ctx, warnings, table };
}

const element = (wattsPerCpuSecond: number, input = 'kernel_cpu_time'): TdpTransformConfig => ({ input, output: handleOf(ENERGY), wattsPerCpuSecond });

/** kernel_cpu_time (user, idle on the machine; user on core 1) and a memory point, as procfs would send them. */
function procfsBatch(capacity: number): Batch {
  const b = new BatchBuilder(capacity);
  const cpu = handleOf(CPU_TIME);
  b.push(cpu, TS, 1500, { attributes: [['cpu_state', 'user']] });
  b.push(handleOf(MEM), TS, 4096);
  b.push(cpu, TS, 250, { attributes: [['cpu_state', 'idle']] });
  b.push(cpu, TS, 40, { resource: { kind: 'cpu_core', id: '1' }, attributes: [['cpu_state', 'user']] });
  return b.take();
}

const energyOf = (p: PointView) => ({ ...p, metric: ENERGY.id });

test('each kernel_cpu_time point gains an energy point in joules with the same timestamp, resource, consumer and attributes', async () => {
  const { ctx } = fakeCtx([CPU_TIME, ENERGY, MEM]);
  const tr = await transformModule.create(element(100), ctx);
  const input = procfsBatch(4);
  const before = [...input.points()];
  const out = await tr.apply(input);
  const got = [...out.points()];
  assert.equal(got.length, 7);
  assert.deepEqual(got.slice(0, 4), before); // the input points are kept, first, untouched
  // 1500 ms of CPU at 100 W = 150 J; 250 ms → 25 J; 40 ms → 4 J.
  assert.deepEqual(got.slice(4), [
    { ...energyOf(before[0]!), value: 150 },
    { ...energyOf(before[2]!), value: 25 },
    { ...energyOf(before[3]!), value: 4 },
  ]);
  assert.ok(got.slice(4).every((_, k) => out.type[4 + k] === F64));
});

test('a batch with room gets the energy points appended in place', async () => {
  const { ctx } = fakeCtx([CPU_TIME, ENERGY, MEM]);
  const tr = await transformModule.create(element(100), ctx);
  const input = procfsBatch(64);
  assert.ok(input.capacity >= 7);
  const out = await tr.apply(input);
  assert.equal(out, input);
  assert.equal(out.length, 7);
});

test('joules follow tdp × nb_vcpu / nb_cpu and the unit of the input, whatever the poll interval', async () => {
  const cases: Array<[string, number, bigint | number, number]> = [
    // [unit prefix, watts per CPU-second, input value, joules]
    ['milli', 100, 5000n, 500],
    ['', 100, 2, 200],
    ['micro', 40, 2_500_000n, 100],
    ['nano', 65, 1_000_000_000n, 65],
  ];
  for (const [prefix, watts, value, joules] of cases) {
    const input: MetricInfo = { ...CPU_TIME, id: 20, name: 'cpu_time_delta', unit: { base: 's', prefix } };
    const { ctx } = fakeCtx([input, ENERGY]);
    const tr = await transformModule.create(element(watts, 'cpu_time_delta'), ctx);
    const b = new BatchBuilder(1);
    b.push(handleOf(input), TS, value);
    const out = await tr.apply(b.take());
    assert.equal(out.length, 2, prefix);
    assert.ok(Math.abs(out.numberAt(1) - joules) < 1e-9 * joules, `${prefix}: ${out.numberAt(1)} J, expected ${joules}`);
  }
});

test('a batch without the input metric is forwarded as the same object', async () => {
  const { ctx } = fakeCtx([CPU_TIME, ENERGY, MEM]);
  const tr = await transformModule.create(element(100), ctx);
  const b = new BatchBuilder(1);
  b.push(handleOf(MEM), TS, 1);
  const batch = b.take();
  assert.equal(await tr.apply(batch), batch);
  const empty = new BatchBuilder().take();
  assert.equal(await tr.apply(empty), empty);
});

test('an input metric registered after the transform started is picked up', async () => {
  const { ctx, table } = fakeCtx([ENERGY, MEM]);
  const tr = await transformModule.create(element(100), ctx);
  const first = procfsBatch(4);
  assert.equal((await tr.apply(first)).length, 4); // id 3 unknown to this worker yet: passed through
  table.set(CPU_TIME.id, CPU_TIME);
  assert.equal((await tr.apply(procfsBatch(4))).length, 7);
});

test('an input metric whose unit is not a time is passed through with one warning', async () => {
  const notTime: MetricInfo = { ...CPU_TIME, unit: { base: 'W', prefix: '' } };
  const { ctx, warnings } = fakeCtx([notTime, ENERGY, MEM]);
  const tr = await transformModule.create(element(100), ctx);
  for (let k = 0; k < 3; k++) {
    const batch = procfsBatch(4);
    assert.equal(await tr.apply(batch), batch);
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /kernel_cpu_time has unit W, not a time \(s, ms, us, ns\): no energy is estimated from it/);
});

test('secondsPer knows every time prefix and refuses other units', () => {
  assert.equal(secondsPer({ base: 's', prefix: 'milli' }), 1e-3);
  assert.equal(secondsPer({ base: 's', prefix: '' }), 1);
  assert.equal(secondsPer({ base: 's', prefix: 'nano' }), 1e-9);
  assert.equal(secondsPer({ base: 'J', prefix: 'milli' }), undefined);
});

// ---------------------------------------------------------------------------------------------------------
// plugin definition

function parse(input: unknown) {
  const problems = new Problems();
  const config = pluginConfig(tdp, input, problems);
  return { config, problems: problems.list };
}

test('the keys and defaults are those of the Rust plugin, and pass check', () => {
  const { config, problems } = parse({});
  assert.deepEqual(problems, []);
  assert.deepEqual(config, { poll_interval: '5s', tdp: 100, nb_vcpu: 1, nb_cpu: 1 });
  assert.deepEqual(parse({ poll_interval: '1s', tdp: 65, nb_vcpu: 4, nb_cpu: 16 }).problems, []);
});

test('keys the Rust plugin no longer has are unknown keys that list the valid ones', () => {
  // cpu_usage_per_pod: releases 0.9.0 to 0.9.3; cpu_usage and cpu_time_conversion_factor: between releases.
  for (const key of ['cpu_usage_per_pod', 'cpu_usage', 'cpu_time_conversion_factor']) {
    assert.deepEqual(parse({ [key]: 'x' }).problems, [`plugins.energy-estimation-tdp.${key}: unknown key (valid keys: poll_interval, tdp, nb_vcpu, nb_cpu)`]);
  }
});

test('config problems name the key and what is valid', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ nb_cpu: 0 }, /^plugins\.energy-estimation-tdp\.nb_cpu: must be > 0/],
    [{ tdp: -5 }, /^plugins\.energy-estimation-tdp\.tdp: must be >= 0, got -5/],
    [{ tdp: '100W' }, /^plugins\.energy-estimation-tdp\.tdp: expected a number, got the string "100W"/],
    [{ nb_vcpus: 2 }, /^plugins\.energy-estimation-tdp\.nb_vcpus: unknown key; did you mean "nb_vcpu"\?/],
    [{ poll_interval: '5' }, /^plugins\.energy-estimation-tdp\.poll_interval: .*the number 5 has no unit/],
  ];
  for (const [input, message] of cases) {
    const { problems } = parse(input);
    assert.equal(problems.length, 1, `${JSON.stringify(input)} → ${problems.join(' | ')}`);
    assert.match(problems[0]!, message);
  }
});

test('start registers estimated_consumed_energy in J and adds the transform, which turns procfs CPU time into joules with tdp × nb_vcpu / nb_cpu', async (t) => {
  const proc = fakeProc(t, 'normal');
  const kernelOnly = { root: proc.root, kernel: { poll_interval: '1h' }, memory: { enabled: false }, network: { enabled: false }, processes: { enabled: false } };
  const run = await startPlugin(t, tdp, {
    config: { tdp: 65, nb_vcpu: 4, nb_cpu: 16 },
    with: [{ plugin: procfs, config: kernelOnly }],
  });
  const energy = run.agent.registry.byName('estimated_consumed_energy');
  assert.ok(energy);
  assert.deepEqual([energy.type, unitUniqueName(energy.unit), energy.description], [F64, 'J', "CPU's estimated energy consumption"]);
  assert.deepEqual(
    run.elements().filter((e) => e.kind === 'transform').map((e) => e.name),
    ['transform/energy-estimation-tdp/transform'],
  );
  assert.deepEqual(run.logs.filter((l) => l.level >= 40).map((l) => l.msg), []);

  // The first poll is procfs' baseline; the second gives the CPU time deltas, and with them the energy.
  await run.waitForElement('source/procfs/kernel', 'the first poll', (e) => e.counters['polls'] === 1 && e.counters['points_out']! > 0);
  proc.advance();
  await run.trigger('source/procfs/kernel');
  await run.waitForPoints('energy points', (points) => points.some((p) => p.metric === 'estimated_consumed_energy'));
  const points = await run.stop();
  const cpu = points.filter((p) => p.metric === 'kernel_cpu_time');
  const joules = points.filter((p) => p.metric === 'estimated_consumed_energy');
  assert.ok(cpu.length > 0);
  assert.equal(joules.length, cpu.length);
  // tdp × nb_vcpu / nb_cpu = 65 × 4 / 16 = 16.25 W per CPU-second; kernel_cpu_time is in ms.
  cpu.forEach((c, k) => {
    const e = joules[k]!;
    assert.deepEqual([e.timestamp, e.resource, e.consumer, e.attributes], [c.timestamp, c.resource, c.consumer, c.attributes]);
    assert.equal(e.type, 'f64');
    assert.ok(Math.abs((e.value as number) - (Number(c.value) / 1000) * 16.25) < 1e-9, `${c.value} ms → ${e.value} J`);
  });
  assert.ok(cpu.some((c) => c.value > 0n && c.attributes['cpu_state'] === 'user'));
});
