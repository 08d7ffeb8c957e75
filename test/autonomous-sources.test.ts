// Autonomous sources with real worker threads: they send when they like, pause and resume on request, refuse
// set-period and trigger-now, register metrics while the agent runs (every output knows a metric before its
// first point arrives), and ask for run-time children that run on their own thread; the balance is exact.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { rmrf, tempDir, waitFor } from './helpers/agent-process.js';
import { counters, element, fixture, outputBalance, pipeline } from './helpers/pipeline.js';
import type { ElementDecl } from '../src/agent/element-record.js';
import type { AutonomousFixtureConfig } from './fixtures/autonomous-source.js';

function autonomous(element: string, config: AutonomousFixtureConfig): ElementDecl {
  return { kind: 'source', plugin: 'fixture', element, moduleUrl: fixture('autonomous-source'), config };
}

function recorder(path: string): ElementDecl {
  return { kind: 'output', plugin: 'fixture', element: 'recorder', moduleUrl: fixture('point-recorder'), config: { path } };
}

interface Recorded {
  metric: string;
  attributes: { thread: { u64: string } };
}

function recorded(path: string): Recorded[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Recorded);
}

test('an autonomous source sends when it likes, pauses and resumes, and refuses set-period and trigger-now', async (t) => {
  const dir = tempDir();
  const { supervisor, registry } = pipeline();
  t.after(async () => {
    await supervisor.stopAll();
    rmrf(dir);
  });
  const out = join(dir, 'points.jsonl');
  await supervisor.start([autonomous('a', { metric: 'relayed_a', everyMs: 5, points: 3 }), autonomous('b', { metric: 'relayed_b', everyMs: 5, points: 3 }), recorder(out)], registry.all());
  const ofMetric = (name: string): number => recorded(out).filter((p) => p.metric === name).length;
  // The output names the metrics the sources registered after the start: it knew them before their points came.
  await waitFor(() => ofMetric('relayed_a') >= 30 && ofMetric('relayed_b') >= 30, { what: 'points of both registered metrics', seen: () => JSON.stringify(recorded(out).slice(-2)) });
  assert.equal(recorded(out).filter((p) => p.metric.startsWith('unknown_metric')).length, 0);
  assert.equal(element(supervisor, 'source/fixture/a').period, undefined, 'no period is listed');

  assert.deepEqual(await supervisor.apply(['source/fixture/a'], { type: 'pause' }), []);
  const pausedAt = counters(supervisor, 'source/fixture/a')['points_out']!;
  const bAt = counters(supervisor, 'source/fixture/b')['points_out']!;
  await waitFor(() => counters(supervisor, 'source/fixture/b')['points_out']! >= bAt + 60, { what: '20 more batches of the running source' });
  assert.equal(counters(supervisor, 'source/fixture/a')['points_out'], pausedAt, 'the paused source sent nothing');
  assert.equal(element(supervisor, 'source/fixture/a').state, 'paused');
  assert.deepEqual(await supervisor.apply(['source/fixture/a'], { type: 'resume' }), []);
  await waitFor(() => counters(supervisor, 'source/fixture/a')['points_out']! > pausedAt, { what: 'points after resume' });

  assert.deepEqual(await supervisor.apply(['source/fixture/a'], { type: 'set-period', periodNs: 1_000_000n, text: '1ms' }), [
    { name: 'source/fixture/a', error: 'an autonomous source has no period' },
  ]);
  assert.deepEqual(await supervisor.apply(['source/fixture/a'], { type: 'trigger-now' }), [{ name: 'source/fixture/a', error: 'an autonomous source cannot be triggered' }]);

  await supervisor.stopAll();
  const balance = outputBalance(supervisor, 'output/fixture/recorder');
  assert.equal(balance.unaccounted, 0);
  assert.equal(balance.written, supervisor.pointBalance().produced);
  assert.equal(recorded(out).length, balance.written);
});

test('metrics registered at run time take the Rename reaction: a clash of unit becomes <name>_<suffix>', async (t) => {
  const dir = tempDir();
  const { supervisor, registry } = pipeline();
  t.after(async () => {
    await supervisor.stopAll();
    rmrf(dir);
  });
  const out = join(dir, 'points.jsonl');
  await supervisor.start([autonomous('a', { metric: 'energy', unit: 'J', everyMs: 10, points: 1 }), autonomous('b', { metric: 'energy', unit: 'W', everyMs: 10, points: 1 }), recorder(out)], registry.all());
  await waitFor(() => new Set(recorded(out).map((p) => p.metric)).size === 2, { what: 'points of both metrics', seen: () => [...new Set(recorded(out).map((p) => p.metric))].join(', ') });
  const names = new Set(recorded(out).map((p) => p.metric));
  // Whichever registered first keeps the name; the other is renamed with its own suffix.
  assert.ok(names.has('energy') && (names.has('energy_from-a') || names.has('energy_from-b')), [...names].join(', '));
  assert.equal(registry.all().filter((m) => m.name.startsWith('energy')).length, 2);
});

test('run-time children of an autonomous source run on its thread, are listed, and one stops without stopping its thread-mates', async (t) => {
  const dir = tempDir();
  const { supervisor, registry } = pipeline();
  t.after(async () => {
    await supervisor.stopAll();
    rmrf(dir);
  });
  const out = join(dir, 'points.jsonl');
  await supervisor.start([autonomous('parent', { metric: 'relayed', everyMs: 10, points: 1, children: 2 }), recorder(out)], registry.all());
  for (const child of ['child-0', 'child-1']) {
    await waitFor(() => supervisor.elements().find((e) => e.name === `source/fixture/${child}` && e.counters['points_out']! > 0), { what: `${child} sending` });
  }
  const threads = new Set(recorded(out).map((p) => p.attributes.thread.u64));
  assert.equal(threads.size, 1, `one thread for the parent and its children: ${[...threads].join(', ')}`);
  assert.equal(element(supervisor, 'source/fixture/child-0').thread, element(supervisor, 'source/fixture/parent').thread);

  // Stopping one child leaves its thread-mates sending.
  assert.deepEqual(await supervisor.apply(['source/fixture/child-0'], { type: 'stop' }), []);
  const parentAt = counters(supervisor, 'source/fixture/parent')['points_out']!;
  await waitFor(() => counters(supervisor, 'source/fixture/parent')['points_out']! > parentAt + 5, { what: 'the parent sending after a child stopped' });
  await supervisor.stopAll();
  assert.equal(outputBalance(supervisor, 'output/fixture/recorder').unaccounted, 0);
  assert.equal(recorded(out).length, supervisor.pointBalance().produced);
});
