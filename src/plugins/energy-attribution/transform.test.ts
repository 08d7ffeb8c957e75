// Tests of the energy-attribution transform called in this thread on crafted batches: the Rust plugin's
// own test scenario gives the same values here; every per_resource variable is bound; retention, filters,
// attributes, values that are not numbers, and input metrics that do not exist.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F64, U64, type AttrValue, type Batch, type ResourceRef, type Timestamp } from '../../protocol/batch.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import type { MetricHandle, MetricInfo } from '../../protocol/metrics.js';
import { fakeContext } from '../../../test/helpers/element-context.js';
import transformModule, { type AttributionTransformConfig } from './transform.js';
import type { FormulaConfig } from './config.js';

const ENERGY: MetricInfo = { id: 1, name: 'rapl_consumed_energy', description: '', type: U64, unit: { base: 'J', prefix: '' } };
const USAGE: MetricInfo = { id: 2, name: 'cpu_usage_percent', description: '', type: F64, unit: { base: '1', prefix: '' } };
const OUT: MetricInfo = { id: 9, name: 'attributed_energy', description: '', type: F64, unit: { base: 'J', prefix: '' } };
const handle = (m: MetricInfo): MetricHandle => ({ id: m.id, name: m.name, type: m.type });
const MACHINE: ResourceRef = { kind: 'local_machine', id: '' };
const pid = (n: number): ResourceRef => ({ kind: 'process', id: String(n) });

/** `"07.10"` → 2025-05-02T00:00:07.10Z, the day of the Rust plugin's test. */
function at(seconds: string): Timestamp {
  const ms = Date.parse(`2025-05-02T00:00:${seconds}Z`);
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}

/** The Rust plugin's test config (tests/transform.rs). */
const CPU_FORMULA: Required<FormulaConfig> = {
  expr: 'cpu_energy * cpu_usage / 100.0',
  ref: 'cpu_energy',
  retention_time: '60s',
  per_resource: { cpu_energy: { metric: 'rapl_consumed_energy', resource_kind: 'local_machine', keep_attributes: true, attributes: { domain: 'package_total' } } },
  per_consumer: { cpu_usage: { metric: 'cpu_usage_percent', keep_attributes: true, attributes: { kind: 'total' } } },
};

async function transform(formula: Required<FormulaConfig> = CPU_FORMULA, metrics: MetricInfo[] = [ENERGY, USAGE, OUT]) {
  const warnings: string[] = [];
  const ctx = fakeContext({
    name: 'transform/energy-attribution/attributed_energy',
    metrics: new Map(metrics.map((m) => [m.id, m])),
    log: { error() {}, warn: (o: unknown, msg?: string) => void warnings.push(typeof o === 'string' ? o : (msg ?? '')), info() {}, debug() {} },
  });
  const config: AttributionTransformConfig = { name: 'attributed_energy', formula, output: handle(OUT) };
  return { tr: await transformModule.create(config, ctx), warnings };
}

class Points {
  readonly #b = new BatchBuilder(4);
  energy(t: string, value: number, domain = 'package_total'): this {
    this.#b.push(handle(ENERGY), at(t), value, { attributes: [['domain', domain]] });
    return this;
  }
  usage(t: string, process: number, value: number, kind = 'total'): this {
    this.#b.push(handle(USAGE), at(t), value, { consumer: pid(process), attributes: [['kind', kind]] });
    return this;
  }
  take(): Batch {
    return this.#b.take();
  }
}

interface Out {
  t: Timestamp;
  consumer: string;
  value: number;
  attributes: Record<string, AttrValue>;
}

/** The attributed points of a batch the transform returned (its input points come first, untouched). */
function attributed(batch: Batch): Out[] {
  return [...batch.points()]
    .filter((p) => p.metric === OUT.id)
    .map((p) => ({ t: p.timestamp, consumer: p.consumer.id, value: p.value as number, attributes: Object.fromEntries(p.attributes) }));
}

const both = { domain: 'package_total', kind: 'total' };
const expected = (t: string, process: number, value: number, attributes: Record<string, AttrValue> = both): Out => ({ t: at(t), consumer: String(process), value, attributes });

test('the Rust plugin’s test scenario gives the same attributed points, with the input points untouched', async () => {
  const { tr } = await transform();
  // Not enough data yet: usage is known at 01 only, between the energy points 00 and 02.
  const first = new Points().energy('00.00', 0).energy('02.00', 100).usage('01.00', 1, 50).take();
  const before = [...first.points()];
  const out1 = await tr.apply(first);
  assert.deepEqual([...out1.points()], before);

  const out2 = await tr.apply(new Points().energy('04.00', 100).usage('02.00', 1, 80).usage('03.00', 1, 100).usage('05.00', 1, 0).take());
  assert.deepEqual([...out2.points()].slice(0, 4).map((p) => p.metric), [ENERGY.id, USAGE.id, USAGE.id, USAGE.id]);
  // 80 % of 100 J at 02; at 04 the usage is halfway between 100 % (03) and 0 % (05).
  assert.deepEqual(attributed(out2), [expected('02.00', 1, 80), expected('04.00', 1, 50)]);

  const out3 = await tr.apply(new Points().energy('06.00', 500).usage('06.00', 1, 90).usage('06.00', 2, 10).take());
  assert.deepEqual(attributed(out3), [expected('06.00', 1, 450), expected('06.00', 2, 50)]);

  // The reference at 10 Hz for a second; process 1 measured at 1 Hz, process 2 at 10 Hz, then after a gap.
  const fast = new Points().energy('07.00', 500);
  for (let k = 1; k <= 9; k++) fast.energy(`07.${k}0`, 500);
  fast.energy('08.00', 500).energy('09.00', 500).energy('10.00', 500);
  fast.usage('07.00', 1, 90).usage('08.00', 1, 1);
  for (let k = 0; k <= 6; k++) fast.usage(`07.${k}0`, 2, 10);
  fast.usage('08.00', 2, 25);
  const out4 = attributed(await tr.apply(fast.take()));
  const times = ['07.00', '07.10', '07.20', '07.30', '07.40', '07.50', '07.60', '07.70', '07.80', '07.90', '08.00'];
  const one = [450.0, 405.5, 361.0, 316.49999999999994, 272.0, 227.5, 183.0, 138.50000000000003, 93.99999999999999, 49.49999999999999, 5.0];
  const two = [50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 68.75, 87.5, 106.24999999999999, 125.0];
  assert.deepEqual(out4.filter((o) => o.consumer === '1'), times.map((t, k) => expected(t, 1, one[k]!)));
  assert.deepEqual(out4.filter((o) => o.consumer === '2'), times.map((t, k) => expected(t, 2, two[k]!)));
});

test('every per_resource variable is bound, interpolated at the reference timestamps like the others', async () => {
  // Package and DRAM energy come from one metric, told apart by their domain; DRAM is measured half a
  // second after the package, so it is interpolated.
  const { tr } = await transform({
    ...CPU_FORMULA,
    expr: '(pkg + dram) * cpu_usage / 100.0',
    ref: 'pkg',
    per_resource: {
      pkg: { metric: 'rapl_consumed_energy', keep_attributes: false, attributes: { domain: 'package_total' } },
      dram: { metric: 'rapl_consumed_energy', keep_attributes: false, attributes: { domain: 'dram_total' } },
    },
  });
  const batch = new Points()
    .energy('00.00', 100)
    .energy('01.00', 100)
    .energy('02.00', 100)
    .energy('00.50', 10, 'dram_total')
    .energy('01.50', 30, 'dram_total')
    .energy('02.50', 50, 'dram_total')
    .usage('00.00', 7, 40)
    .usage('02.00', 7, 60)
    .take();
  const out = attributed(await tr.apply(batch));
  // At 01: dram = 20 (between 10 and 30), usage = 50 → 120 × 50 % = 60; at 02: dram = 40, usage 60 → 84.
  assert.deepEqual(out, [expected('01.00', 7, 60, { kind: 'total' }), expected('02.00', 7, 84, { kind: 'total' })]);
});

test('points older than retention_time before the newest reference point are dropped, never attributed', async () => {
  const run = async (retention: string): Promise<string[]> => {
    const { tr } = await transform({ ...CPU_FORMULA, retention_time: retention });
    const seen: Out[] = [];
    seen.push(...attributed(await tr.apply(new Points().energy('00.00', 10).energy('01.00', 10).usage('00.50', 3, 50).take())));
    seen.push(...attributed(await tr.apply(new Points().energy('10.00', 10).take())));
    seen.push(...attributed(await tr.apply(new Points().usage('10.50', 3, 50).energy('11.00', 10).take())));
    seen.push(...attributed(await tr.apply(new Points().usage('11.50', 3, 50).take())));
    return seen.map((o) => `${o.t.sec % 60}`);
  };
  // With 60 s, the usage sample at 00.5 stays, and the references at 1 and 10 are attributed once usage
  // is known after them; with 2 s it has expired when the reference reaches 10, and only 11 is attributed.
  assert.deepEqual(await run('60s'), ['1', '10', '11']);
  assert.deepEqual(await run('2s'), ['11']);
});

test('filters select the series by resource, consumer and attribute; keep_attributes = false leaves a series’ attributes out', async () => {
  const { tr } = await transform({
    ...CPU_FORMULA,
    per_consumer: { cpu_usage: { metric: 'cpu_usage_percent', consumer_kind: 'process', consumer_id: '5', keep_attributes: false, attributes: { kind: 'total' } } },
  });
  const batch = new Points()
    .energy('00.00', 100)
    .energy('00.00', 999, 'dram_total')
    .energy('01.00', 100)
    .usage('00.00', 5, 20)
    .usage('01.00', 5, 30)
    .usage('00.00', 5, 99, 'user')
    .usage('01.00', 5, 99, 'user')
    .usage('00.00', 6, 50)
    .usage('01.00', 6, 50)
    .take();
  assert.deepEqual(attributed(await tr.apply(batch)), [expected('00.00', 5, 20, { domain: 'package_total' }), expected('01.00', 5, 30, { domain: 'package_total' })]);
});

test('a batch with no point of the formula’s series is forwarded as the same object', async () => {
  const { tr } = await transform();
  const other: MetricInfo = { ...USAGE, id: 3, name: 'mem_total' };
  const b = new BatchBuilder();
  b.push(handle(other), at('00.00'), 1);
  const batch = b.take();
  assert.equal(await tr.apply(batch), batch);
});

test('a formula value that is not a number (a division by zero) is skipped, with one warning', async () => {
  const { tr, warnings } = await transform({ ...CPU_FORMULA, expr: 'cpu_energy / cpu_usage' });
  const out = attributed(await tr.apply(new Points().energy('00.00', 10).energy('01.00', 10).energy('02.00', 10).usage('00.00', 1, 0).usage('01.00', 1, 0).usage('02.00', 1, 5).take()));
  assert.deepEqual(out, [expected('02.00', 1, 2)]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /formula attributed_energy gave a value that is not a number/);
});

test('an input metric that no plugin registers fails the transform’s creation with the closest name', async () => {
  await assert.rejects(
    transform({ ...CPU_FORMULA, per_consumer: { cpu_usage: { metric: 'cpu_usage_percnt', keep_attributes: true, attributes: {} } } }),
    /formula attributed_energy: per_consumer\.cpu_usage reads metric "cpu_usage_percnt", which no enabled plugin registers; did you mean "cpu_usage_percent"\?/,
  );
});
