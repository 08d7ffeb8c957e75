// The batch data path's bulk operations: column copies, repeated templates, shared attribute sets, and the
// per-thread pool that lets big batch buffers be reused instead of allocated.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batch, BufferPool, F64, U64, bufferPool, type Attributes } from '../src/protocol/batch.js';
import { BatchBuilder } from '../src/protocol/batch-builder.js';
import type { MetricHandle } from '../src/protocol/metrics.js';

const F: MetricHandle = { id: 1, name: 'f', type: F64 };
const U: MetricHandle = { id: 2, name: 'u', type: U64 };
const TS = { sec: 1_700_000_000, nsec: 5 };
/** Points of a batch big enough to be pooled. */
const BIG = Math.ceil(BufferPool.MIN_BYTES / 40);

function emptyPool(): void {
  while (bufferPool.takeAny() !== undefined);
}

function template(): Batch {
  const b = new BatchBuilder(4);
  b.push(F, { sec: 0, nsec: 0 }, 1.5, { attributes: [['a', 'x']] });
  b.push(U, { sec: 0, nsec: 0 }, 2n ** 60n, { resource: { kind: 'cpu_core', id: '3' } });
  return b.take();
}

test('appendAll repeats a template in one batch poll after poll, also after other pushes', () => {
  const tpl = template();
  const b = new BatchBuilder(1);
  b.appendAll(tpl, { sec: 10, nsec: 1 });
  b.push(F, TS, 7, { consumer: { kind: 'process', id: '42' }, attributes: [['b', true]] });
  b.appendAll(tpl, { sec: 11, nsec: 2 });
  b.appendAll(tpl, { sec: 12, nsec: 3 });
  const points = [...b.take().points()];
  assert.equal(points.length, 7);
  for (const [at, sec] of [[0, 10], [3, 11], [5, 12]] as const) {
    assert.deepEqual(points[at], { metric: 1, timestamp: { sec, nsec: sec - 9 }, value: 1.5, resource: { kind: 'local_machine', id: '' }, consumer: { kind: 'local_machine', id: '' }, attributes: [['a', 'x']] });
    assert.deepEqual(points[at + 1], { metric: 2, timestamp: { sec, nsec: sec - 9 }, value: 2n ** 60n, resource: { kind: 'cpu_core', id: '3' }, consumer: { kind: 'local_machine', id: '' }, attributes: [] });
  }
  assert.deepEqual(points[2]!.consumer, { kind: 'process', id: '42' });
  assert.deepEqual(points[2]!.attributes, [['b', true]]);
});

test('appendAll of a template that grew since the batch adopted it copies point by point, correctly', () => {
  const tpl = template();
  const b = new BatchBuilder(8);
  b.appendAll(tpl, TS);
  tpl.resId[1] = tpl.intern('7'); // a new string in the template's table: its indexes no longer match the batch's
  b.appendAll(tpl, TS);
  const points = [...b.take().points()];
  assert.deepEqual(points[1]!.resource, { kind: 'cpu_core', id: '3' });
  assert.deepEqual(points[3]!.resource, { kind: 'cpu_core', id: '7' });
});

test('one attribute array pushed for many points is stored once; equal but distinct arrays stay apart', () => {
  const shared: Attributes = [['domain', 'package'], ['socket', 0n]];
  const b = new BatchBuilder(4);
  for (let i = 0; i < 10; i++) b.push(F, TS, i, { attributes: shared });
  b.push(F, TS, 10, { attributes: [['domain', 'package'], ['socket', 0n]] });
  const batch = b.take();
  assert.equal(batch.attrSets.length, 2);
  for (let i = 0; i < 11; i++) assert.deepEqual(batch.attributesAt(i), shared);
  const copy = new Batch(11);
  for (let i = 0; i < 11; i++) copy.copyPointFrom(batch, i);
  assert.equal(copy.attrSets.length, 2, 'copying keeps the sharing');
});

test('withRoom and copyRangeFrom keep every column, u64 bit patterns included', () => {
  const b = new BatchBuilder(2);
  b.push(U, TS, 2n ** 64n - 1n, { attributes: [['k', 1n]] });
  b.push(F, { sec: 3, nsec: 999_999_999 }, -0.5, { resource: { kind: 'r', id: 'i' } });
  const batch = b.take();
  const before = [...batch.points()];
  const grown = batch.withRoom(100);
  assert.notEqual(grown, batch);
  assert.deepEqual([...grown.points()], before);
  assert.equal(grown.strings, batch.strings, 'tables are shared, not copied');
});

test('a released big buffer carries the next batch of its size; a new Batch on it is zero-filled', () => {
  emptyPool();
  const first = Batch.forWriting(BIG);
  first.value.fill(3);
  first.attrs.fill(9);
  first.length = 5;
  const buffer = first.buffer;
  first.release();
  first.release(); // a second release does nothing
  assert.equal(first.length, 5, 'the counters still read the released batch length');
  assert.equal(bufferPool.size, 1);
  const reused = new Batch(BIG);
  assert.equal(reused.buffer, buffer, 'the pooled buffer is reused');
  assert.ok(reused.attrs.every((x) => x === 0) && reused.value.every((x) => x === 0), 'new Batch is all zeros');
  assert.equal(bufferPool.size, 0);
});

test('small and detached buffers are not pooled, and the pool keeps at most MAX_BUFFERS', () => {
  emptyPool();
  new Batch(4).release();
  const sent = Batch.forWriting(BIG);
  structuredClone(sent.buffer, { transfer: [sent.buffer] }); // transferred away, as a link sends it

  sent.release();
  assert.equal(bufferPool.size, 0);
  const many = Array.from({ length: BufferPool.MAX_BUFFERS + 5 }, () => Batch.forWriting(BIG));
  for (const b of many) b.release();
  assert.equal(bufferPool.size, BufferPool.MAX_BUFFERS);
  emptyPool();
});

test('a clone made on a pooled buffer is an exact copy', () => {
  emptyPool();
  const b = new BatchBuilder(BIG);
  for (let i = 0; i < BIG; i++) b.push(i % 2 ? U : F, { sec: i, nsec: i }, i % 2 ? BigInt(i) * 2n ** 40n : i / 3, { attributes: [['i', BigInt(i % 3)]] });
  const batch = b.take();
  Batch.forWriting(BIG).release();
  assert.equal(bufferPool.size, 1);
  const clone = batch.clone();
  assert.equal(bufferPool.size, 0, 'the clone took the spare buffer');
  assert.deepEqual([...clone.points()], [...batch.points()]);
});
