// Exact point accounting: synthetic sources at a high rate through two outputs, one of them slow, shut down
// under load. Every output that was not paused or stopped wrote exactly what the sources produced; a paused
// output with a small backlog accounts for every point as written or dropped_backlog; the shutdown log
// names every output and every cause of loss.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sendControlLine } from '../src/control/client.js';
import { csvRows, rmrf, startAgent, tempDir, waitFor } from './helpers/agent-process.js';
import { statusEntries } from './helpers/status.js';
import { counters, faultyTransform, fileOutput, lines, outputBalance, pipeline, sum, syntheticSource, type TestPipeline } from './helpers/pipeline.js';

const FAST = 'output/fixture/fast';
const SLOW = 'output/fixture/slow';

/** Three synthetic sources at 1 kHz, 300 points a poll, into a fast and a slow (3 ms a batch) output. */
async function startLoaded(p: TestPipeline, dir: string, opts: { transform?: boolean } = {}): Promise<{ fast: string; slow: string }> {
  const fast = join(dir, 'fast.txt');
  const slow = join(dir, 'slow.txt');
  await p.supervisor.start(
    [
      syntheticSource('s0', p.f64, 300, 1000),
      syntheticSource('s1', p.f64, 300, 1000),
      syntheticSource('s2', p.f64, 300, 1000),
      ...(opts.transform ? [faultyTransform('pass', {})] : []),
      fileOutput('fast', { path: fast }),
      fileOutput('slow', { path: slow, delayMs: 3 }),
    ],
    p.registry.all(),
  );
  return { fast, slow };
}

/** The balance line the supervisor logged at shutdown. */
function balanceLine(p: TestPipeline): string {
  const line = p.logs.map((l) => l.msg).find((m) => m.startsWith('point balance: '));
  assert.ok(line, `a point balance is logged; logs:\n${p.logText().slice(-2000)}`);
  return line;
}

for (const transform of [false, true]) {
  test(`shut down under load${transform ? ', through a transform' : ''}: each output wrote exactly what the sources produced`, async (t) => {
    const dir = tempDir();
    const p = pipeline();
    t.after(() => p.supervisor.stopAll());
    t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
    const files = await startLoaded(p, dir, { transform });
    await waitFor(() => sum(lines(files.slow)) >= 50_000, { what: '50000 points in the slow output', seen: () => String(sum(lines(files.slow))) });
    await p.supervisor.stopAll();

    const b = p.supervisor.pointBalance();
    assert.ok(b.produced >= 50_000, `produced ${b.produced}`);
    for (const name of [FAST, SLOW]) {
      const o = outputBalance(p.supervisor, name);
      assert.equal(o.written, b.produced, `${name} wrote every point produced (${JSON.stringify(o)})`);
      assert.equal(o.received, b.produced, `${name} received every point`);
      assert.equal(o.dropped_backlog + o.dropped_crash + o.backlog, 0, `${name} dropped nothing`);
      assert.equal(o.unaccounted, 0);
    }
    assert.equal(sum(lines(files.fast)), b.produced, 'the fast file holds every point');
    assert.equal(sum(lines(files.slow)), b.produced, 'the slow file holds every point');
    if (transform) {
      assert.deepEqual(b.transforms, [{ name: 'transform/fixture/pass', received: b.produced, forwarded: b.produced, dropped_crash: 0 }]);
    }
    const line = balanceLine(p);
    assert.match(line, new RegExp(`^point balance: produced=${b.produced}; `));
    for (const name of [FAST, SLOW]) assert.match(line, new RegExp(`${name}: written=${b.produced} received=${b.produced} dropped_backlog=0 dropped_crash=0(;|$)`));
    if (transform) assert.match(line, new RegExp(`transform/fixture/pass: received=${b.produced} forwarded=${b.produced} dropped_crash=0$`));
  });
}

test('a paused output with a small backlog accounts exactly: written + dropped_backlog == produced', async (t) => {
  const dir = tempDir();
  const p = pipeline({ output_backlog: 5_000 });
  t.after(() => p.supervisor.stopAll());
  t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
  const files = await startLoaded(p, dir);
  assert.deepEqual(await p.supervisor.apply([SLOW], { type: 'pause' }), []);
  await waitFor(() => counters(p.supervisor, SLOW)['dropped_backlog']! > 20_000, {
    what: 'the paused output to drop 20000 points from its backlog',
    seen: () => JSON.stringify(counters(p.supervisor, SLOW)),
  });
  const whilePaused = counters(p.supervisor, SLOW);
  assert.ok(whilePaused['backlog_points']! <= 5_000, `the backlog stays within output_backlog: ${whilePaused['backlog_points']}`);
  await p.supervisor.stopAll(); // still paused: the drain writes what the backlog holds

  const b = p.supervisor.pointBalance();
  const slow = outputBalance(p.supervisor, SLOW);
  assert.equal(outputBalance(p.supervisor, FAST).written, b.produced, 'the running output wrote everything');
  assert.ok(slow.dropped_backlog > 20_000);
  assert.equal(slow.written + slow.dropped_backlog, b.produced, `written + dropped_backlog == produced (${JSON.stringify(slow)}, produced ${b.produced})`);
  assert.equal(slow.dropped_crash, 0);
  assert.equal(slow.unaccounted, 0);
  assert.equal(sum(lines(files.slow)), slow.written, 'the file holds what was counted written');
  assert.match(balanceLine(p), new RegExp(`${SLOW}: written=${slow.written} received=${b.produced} dropped_backlog=${slow.dropped_backlog} dropped_crash=0`));
});

test('an output paused, overflowing, then resumed under load accounts exactly too', async (t) => {
  const dir = tempDir();
  const p = pipeline({ output_backlog: 5_000 });
  t.after(() => p.supervisor.stopAll());
  t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
  const files = await startLoaded(p, dir);
  await p.supervisor.apply([FAST], { type: 'pause' });
  await waitFor(() => counters(p.supervisor, FAST)['dropped_backlog']! > 10_000, { what: 'drops from the backlog' });
  await p.supervisor.apply([FAST], { type: 'resume' });
  const resumedAt = counters(p.supervisor, FAST)['points_out']!;
  await waitFor(() => counters(p.supervisor, FAST)['points_out']! > resumedAt + 20_000, { what: 'the resumed output to write 20000 more points' });
  await p.supervisor.stopAll();

  const b = p.supervisor.pointBalance();
  const fast = outputBalance(p.supervisor, FAST);
  assert.equal(fast.written + fast.dropped_backlog, b.produced, JSON.stringify(fast));
  assert.equal(fast.backlog, 0, 'the backlog was written on resume');
  assert.equal(sum(lines(files.fast)), fast.written);
  assert.equal(outputBalance(p.supervisor, SLOW).written, b.produced);
});

test('a stopped output wrote everything it received, and the balance leaves it out of the comparison', async (t) => {
  const dir = tempDir();
  const p = pipeline();
  t.after(() => p.supervisor.stopAll());
  t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
  const files = await startLoaded(p, dir);
  await waitFor(() => sum(lines(files.slow)) >= 10_000, { what: '10000 points in the slow output' });
  assert.deepEqual(await p.supervisor.apply([SLOW], { type: 'stop' }), []);
  const fastAtStop = counters(p.supervisor, FAST)['points_out']!;
  await waitFor(() => counters(p.supervisor, FAST)['points_out']! > fastAtStop + 20_000, { what: 'the other output to keep writing' });
  await p.supervisor.stopAll();

  const b = p.supervisor.pointBalance();
  const slow = outputBalance(p.supervisor, SLOW);
  assert.equal(slow.written, slow.received, 'the stopped output wrote all it had received');
  assert.ok(slow.written < b.produced);
  assert.equal(slow.input, undefined);
  assert.equal(sum(lines(files.slow)), slow.written);
  assert.equal(outputBalance(p.supervisor, FAST).written, b.produced);
  assert.match(balanceLine(p), new RegExp(`${SLOW}: written=${slow.written} received=${slow.written} dropped_backlog=0 dropped_crash=0 \\(stopped\\)`));
});

test('the real agent: a paused csv output with a small backlog logs a balance where written + dropped_backlog == produced', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  writeFileSync(
    join(dir, 'c.toml'),
    [
      '[pipeline]',
      'output_backlog = 2000',
      '[plugins.synthetic]',
      'poll_interval = "1ms"',
      'points_per_poll = 50',
      'sources = 2',
      '[plugins.csv]',
      'output_path = "out.csv"',
      'force_flush = false',
      '[plugins.socket-control]',
      'socket_path = "s.sock"',
      '',
    ].join('\n'),
  );
  const agent = startAgent(['--config', 'c.toml'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');
  const socket = join(dir, 's.sock');
  assert.equal((await sendControlLine(socket, 'control output/csv/csv pause', 10_000)).status, 'ok');
  await waitFor(async () => (await statusEntries(socket, 'output/csv/csv'))[0]!.counters['dropped_backlog']! >= 10_000, {
    what: 'the paused csv output to drop 10000 points',
  });
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0, agent.output().slice(-2000));
  const m = /point balance: produced=(\d+); output\/csv\/csv: written=(\d+) received=(\d+) dropped_backlog=(\d+) dropped_crash=(\d+)"/.exec(agent.output());
  assert.ok(m, `the balance is logged: ${agent.output().slice(-1500)}`);
  const [produced, written, received, droppedBacklog, droppedCrash] = m.slice(1).map(Number) as [number, number, number, number, number];
  assert.ok(droppedBacklog >= 10_000);
  assert.equal(received, produced);
  assert.equal(written + droppedBacklog, produced);
  assert.equal(droppedCrash, 0);
  const rows = csvRows(join(dir, 'out.csv'));
  assert.equal(rows.length, written, 'one row per point written');
  // Held batches are copied into smaller buffers (output-actor.ts): the copies keep every column.
  for (const r of rows) assert.ok(r.length === 8 && r[0] === 'synthetic_0' && /^\d+$/.test(r[2]!) && r[3] === 'local_machine', `a complete row: ${r.join(';')}`);
});
