// Outputs with batching (push outputs) with real worker threads: the agent gathers points into writes of
// `maxPoints`, sends a partial one after `flushIntervalMs`, keeps everything in the backlog while the
// destination asks for retries (the sources never wait), bounds that backlog, and loses nothing it counts
// (points the destination stores as one with another are counted collapsed, not written).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rmrf, tempDir, waitFor } from './helpers/agent-process.js';
import { countingSource as source, counters, element, fixture, outputBalance, pipeline } from './helpers/pipeline.js';
import type { ElementDecl } from '../src/agent/element-record.js';
import type { PushOutputConfig } from './fixtures/push-output.js';

const OUTPUT = 'output/fixture/push';

function pushOutput(config: PushOutputConfig): ElementDecl {
  return { kind: 'output', plugin: 'fixture', element: 'push', moduleUrl: fixture('push-output'), config };
}

/** The writes the fixture made: the values of each, in order. */
function writes(path: string): number[][] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [n, values] = line.split(' ');
      const xs = values!.split(',').map(Number);
      assert.equal(xs.length, Number(n));
      return xs;
    });
}

/** 1, 2, …, n: the counting source's values with one point per poll. */
const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

function setup(overrides: Partial<PushOutputConfig>, settings = {}) {
  const dir = tempDir();
  const config: PushOutputConfig = {
    path: join(dir, 'writes.txt'),
    downMarker: join(dir, 'down'),
    retryAfterMs: 20,
    maxPoints: 10,
    flushIntervalMs: 3_600_000,
    backlogPoints: 1_000_000,
    ...overrides,
  };
  const p = pipeline(settings);
  return { dir, config, ...p };
}

test('points are written in writes of exactly maxPoints, in order; the drain writes the rest', async (t) => {
  const { dir, config, supervisor, registry, metric } = setup({ maxPoints: 10 });
  t.after(async () => {
    await supervisor.stopAll();
    rmrf(dir);
  });
  await supervisor.start([source('s', { metric, points: 1 }, 2), pushOutput(config)], registry.all());
  await waitFor(() => writes(config.path).length >= 5, { what: 'five full writes' });
  const beforeDrain = writes(config.path).length;
  await supervisor.stopAll();
  const all = writes(config.path);
  const produced = counters(supervisor, 'source/fixture/s')['points_out']!;
  assert.ok(all.slice(0, beforeDrain).every((w) => w.length === 10), `every write before the drain is full: ${all.map((w) => w.length).join(' ')}`);
  assert.ok(all.every((w) => w.length <= 10));
  assert.deepEqual(all.flat(), upTo(produced), 'every point once, in order');
  assert.equal(counters(supervisor, OUTPUT)['points_out'], produced);
  assert.equal(counters(supervisor, OUTPUT)['batches_out'], all.length);
  assert.equal(outputBalance(supervisor, OUTPUT).unaccounted, 0);
});

test('a write that is not full goes once its oldest point has waited flushIntervalMs', async (t) => {
  const { dir, config, supervisor, registry, metric } = setup({ maxPoints: 1_000_000, flushIntervalMs: 100 });
  t.after(async () => {
    await supervisor.stopAll();
    rmrf(dir);
  });
  await supervisor.start([source('s', { metric, points: 1 }, 5), pushOutput(config)], registry.all());
  // Only the flush interval can write anything here: a million points would take over an hour.
  await waitFor(() => writes(config.path).length >= 3, { what: 'three writes by the flush interval' });
  await supervisor.stopAll();
  const produced = counters(supervisor, 'source/fixture/s')['points_out']!;
  assert.deepEqual(writes(config.path).flat(), upTo(produced));
});

test('while the destination asks for retries the sources go on, the backlog grows, status shows retries and the error; then all is written once', async (t) => {
  const { dir, config, supervisor, registry, metric } = setup({ maxPoints: 25, retryAfterMs: 30 });
  t.after(async () => {
    await supervisor.stopAll();
    rmrf(dir);
  });
  writeFileSync(config.downMarker, '');
  await supervisor.start([source('s', { metric, points: 1 }, 2), pushOutput(config)], registry.all());
  // 200 points held, acknowledged one-point batches: far beyond the 4-batch credit window of a waiting source.
  await waitFor(() => counters(supervisor, OUTPUT)['retries']! >= 5 && counters(supervisor, OUTPUT)['backlog_points']! >= 200, {
    what: 'retries while the backlog grows',
    seen: () => JSON.stringify(counters(supervisor, OUTPUT)),
  });
  assert.equal(counters(supervisor, OUTPUT)['points_out'], 0);
  assert.equal(element(supervisor, OUTPUT).lastError, 'fixture server down');
  assert.equal(element(supervisor, OUTPUT).state, 'running', 'a retry is not a failure');
  rmSync(config.downMarker);
  await waitFor(() => writes(config.path).flat().length >= 300, { what: '300 points written after the outage' });
  await supervisor.stopAll();
  const produced = counters(supervisor, 'source/fixture/s')['points_out']!;
  assert.deepEqual(writes(config.path).flat(), upTo(produced), 'every point once, in order');
  assert.equal(counters(supervisor, OUTPUT)['points_out'], produced);
  assert.equal(counters(supervisor, OUTPUT)['backlog_points'], 0);
  assert.equal(outputBalance(supervisor, OUTPUT).unaccounted, 0);
});

test('beyond backlogPoints the oldest points are dropped and counted; the newest are written, in order', async (t) => {
  const { dir, config, supervisor, registry, metric } = setup({ maxPoints: 10, backlogPoints: 50, retryAfterMs: 30 });
  t.after(async () => {
    await supervisor.stopAll();
    rmrf(dir);
  });
  writeFileSync(config.downMarker, '');
  await supervisor.start([source('s', { metric, points: 1 }, 2), pushOutput(config)], registry.all());
  await waitFor(() => counters(supervisor, OUTPUT)['dropped_backlog']! >= 100, { what: '100 points dropped from the full backlog' });
  assert.ok(counters(supervisor, OUTPUT)['backlog_points']! <= 50 + 10, 'the backlog stays near its limit');
  rmSync(config.downMarker);
  await waitFor(() => counters(supervisor, OUTPUT)['points_out']! >= 100, { what: '100 points written after the outage' });
  await supervisor.stopAll();
  const produced = counters(supervisor, 'source/fixture/s')['points_out']!;
  const written = writes(config.path).flat();
  const dropped = counters(supervisor, OUTPUT)['dropped_backlog']!;
  assert.equal(written.length + dropped, produced, 'written + dropped = produced');
  assert.deepEqual([...written].sort((a, b) => a - b), written, 'in order');
  assert.equal(new Set(written).size, written.length, 'no point twice');
  assert.equal(written.at(-1), produced, 'the newest point is written');
  assert.equal(outputBalance(supervisor, OUTPUT).unaccounted, 0);
});

test('points a write reports collapsed are counted collapsed, not written, and the balance stays exact', async (t) => {
  const { dir, config, supervisor, registry, metric, logText } = setup({ maxPoints: 10, collapseMultiplesOf: 3 });
  t.after(async () => {
    await supervisor.stopAll();
    rmrf(dir);
  });
  await supervisor.start([source('s', { metric, points: 1 }, 2), pushOutput(config)], registry.all());
  await waitFor(() => writes(config.path).length >= 5, { what: 'five writes' });
  await supervisor.stopAll();
  const produced = counters(supervisor, 'source/fixture/s')['points_out']!;
  const collapsed = Math.floor(produced / 3);
  assert.deepEqual(writes(config.path).flat(), upTo(produced), 'every point sent once');
  assert.equal(counters(supervisor, OUTPUT)['collapsed'], collapsed);
  assert.equal(counters(supervisor, OUTPUT)['points_out'], produced - collapsed);
  const balance = outputBalance(supervisor, OUTPUT);
  assert.equal(balance.collapsed, collapsed);
  assert.equal(balance.unaccounted, 0);
  assert.match(logText(), new RegExp(`output/fixture/push: written=${produced - collapsed} .*collapsed=${collapsed}`), 'the shutdown balance shows them');
});
