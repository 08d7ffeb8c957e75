// The supervisor with real worker threads and fixture elements: wiring, accounting, restarts, shutdown.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, rmrf, waitFor } from './helpers/agent-process.js';
import { countingSource as source, counters, fileOutput as output, fixture, lines, pipeline, sum } from './helpers/pipeline.js';

test('every point a source produced reaches every output through the transform, and shutdown loses none', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const { supervisor, registry, metric: handle } = pipeline();
  const a = join(dir, 'a.txt');
  const b = join(dir, 'b.txt');
  const seen = join(dir, 'transform.txt');
  await supervisor.start(
    [
      source('one', { metric: handle, points: 50 }, 2),
      source('two', { metric: handle, points: 30 }, 3),
      { kind: 'transform', plugin: 'fixture', element: 'double', moduleUrl: fixture('double-transform'), config: { path: seen } },
      output('a', { path: a }),
      output('b', { path: b, delayMs: 5 }),
    ],
    registry.all(),
  );
  await waitFor(() => sum(lines(b)) >= 2000, { what: '2000 points in the slow output', seen: () => String(sum(lines(b))) });
  await supervisor.stopAll();
  const produced = counters(supervisor, 'source/fixture/one')['points_out']! + counters(supervisor, 'source/fixture/two')['points_out']!;
  assert.ok(produced >= 2000);
  assert.equal(sum(lines(seen)), produced, 'the transform saw every point');
  assert.equal(sum(lines(a)), produced, 'output a wrote every point');
  assert.equal(sum(lines(b)), produced, 'the slow output wrote every point');
  assert.equal(counters(supervisor, 'output/fixture/b')['points_out'], produced);
  assert.equal(counters(supervisor, 'transform/fixture/double')['points_in'], produced);
});

test('when an output fails to be created, the start fails and the shutdown that follows ends the outputs that were created', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const { supervisor, registry, metric: handle } = pipeline();
  const closed = join(dir, 'closed');
  const start = supervisor.start(
    [source('s', { metric: handle, points: 1 }), output('fine', { path: join(dir, 'fine.txt'), closedMarker: closed }), output('broken', { path: join(dir, 'b.txt'), failCreate: 'no server' })],
    registry.all(),
  );
  await assert.rejects(start, /output\/fixture\/broken failed to start: no server/);
  await supervisor.stopAll();
  assert.ok(existsSync(closed), 'the output created beside the broken one was closed, its worker ended');
});

test('a source that throws once is restarted and the other source never stops polling', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const { supervisor, registry, metric: handle } = pipeline();
  const out = join(dir, 'out.txt');
  await supervisor.start([source('flaky', { metric: handle, points: 1, failOn: [3] }), source('steady', { metric: handle, points: 1 }), output('o', { path: out })], registry.all());
  await waitFor(() => counters(supervisor, 'source/fixture/flaky')['restarts']! >= 1, { what: 'a restart of the flaky source' });
  const flaky = supervisor.elements().find((e) => e.name === 'source/fixture/flaky')!;
  assert.match(flaky.lastError ?? '', /fixture failure on poll 3/);
  const pollsAfterRestart = counters(supervisor, 'source/fixture/flaky')['polls']!;
  await waitFor(() => counters(supervisor, 'source/fixture/flaky')['polls']! > pollsAfterRestart + 5, { what: 'the restarted source to poll again' });
  assert.equal(supervisor.elements().find((e) => e.name === 'source/fixture/flaky')!.state, 'running');
  assert.equal(counters(supervisor, 'source/fixture/steady')['errors'], 0);
  const steadyBefore = counters(supervisor, 'source/fixture/steady')['polls']!;
  await waitFor(() => counters(supervisor, 'source/fixture/steady')['polls']! > steadyBefore + 5, { what: 'the steady source to keep polling' });
  await supervisor.stopAll();
});

test('a source that always throws is left failed after restart_max restarts, with its error', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const { supervisor, registry, metric: handle } = pipeline({ restart_max: 2 });
  await supervisor.start([source('broken', { metric: handle, points: 1, failFrom: 1 }), source('fine', { metric: handle, points: 1 }), output('o', { path: join(dir, 'o.txt') })], registry.all());
  await waitFor(() => counters(supervisor, 'source/fixture/broken')['restarts'] === 2 && counters(supervisor, 'source/fixture/broken')['errors'] === 3, {
    what: 'two restarts and a third failure',
    seen: () => JSON.stringify(counters(supervisor, 'source/fixture/broken')),
  });
  const broken = supervisor.elements().find((e) => e.name === 'source/fixture/broken')!;
  assert.equal(broken.state, 'failed');
  assert.match(broken.lastError ?? '', /fixture failure/);
  const finePolls = counters(supervisor, 'source/fixture/fine')['polls']!;
  await waitFor(() => counters(supervisor, 'source/fixture/fine')['polls']! > finePolls + 3, { what: 'the healthy source to keep polling' });
  await supervisor.stopAll();
});

test('a worker that exits is spawned again, wired again, and keeps delivering', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const { supervisor, registry, metric: handle } = pipeline();
  const out = join(dir, 'o.txt');
  await supervisor.start([source('exits', { metric: handle, points: 2, exitOnce: { poll: 4, marker: join(dir, 'exited') } }), output('o', { path: out })], registry.all());
  await waitFor(() => counters(supervisor, 'source/fixture/exits')['restarts']! >= 1, { what: 'the worker to be respawned' });
  assert.equal(supervisor.elements().find((e) => e.name === 'source/fixture/exits')!.lastError, 'worker exited with code 3');
  const written = sum(lines(out));
  await waitFor(() => sum(lines(out)) > written + 10, { what: 'points from the respawned source', seen: () => String(sum(lines(out))) });
  await supervisor.stopAll();
  assert.equal(counters(supervisor, 'source/fixture/exits')['restarts'], 1);
  assert.equal(sum(lines(out)), counters(supervisor, 'source/fixture/exits')['points_out']);
});

test('an output that fails a write keeps the batch and writes it after its restart', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const { supervisor, registry, metric: handle } = pipeline();
  const out = join(dir, 'o.txt');
  await supervisor.start([source('s', { metric: handle, points: 10 }), output('o', { path: out, failOn: [2] })], registry.all());
  await waitFor(() => counters(supervisor, 'output/fixture/o')['restarts']! >= 1, { what: 'the output restart' });
  await waitFor(() => sum(lines(out)) >= 200, { what: '200 points written' });
  await supervisor.stopAll();
  assert.equal(sum(lines(out)), counters(supervisor, 'source/fixture/s')['points_out'], 'nothing lost to the failed write');
});
