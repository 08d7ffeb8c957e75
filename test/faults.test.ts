// Faults with real worker threads: transforms and outputs that throw (once, and every time), workers that
// exit, outputs that block, /proc files that vanish or change format. The pipeline keeps running, restarts
// with backoff, gives up after restart_max with the error shown, other elements never stop, and every point
// lost is counted. (Sources that throw or exit are in supervisor.test.ts.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sendControlLine } from '../src/control/client.js';
import { csvRows, REPO_ROOT, rmrf, startAgent, tempDir, waitFor } from './helpers/agent-process.js';
import { statusEntries, type StatusEntry } from './helpers/status.js';
import {
  countingSource,
  counters,
  element,
  faultyTransform,
  fileOutput,
  lines,
  outputBalance,
  pipeline,
  pluginModule,
  sum,
  syntheticSource,
  type TestPipeline,
} from './helpers/pipeline.js';

/** Waits until `name` has polled `more` more times than now: it keeps running. */
async function keepsPolling(p: TestPipeline, name: string, more = 5): Promise<void> {
  const before = counters(p.supervisor, name)['polls']!;
  await waitFor(() => counters(p.supervisor, name)['polls']! >= before + more, { what: `${name} to keep polling`, seen: () => JSON.stringify(counters(p.supervisor, name)) });
}

test('an output whose worker exits under load is respawned, and the points lost on the way to it are counted exactly', async (t) => {
  const dir = tempDir();
  const p = pipeline();
  t.after(() => p.supervisor.stopAll());
  t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
  const steady = join(dir, 'steady.txt');
  const exits = join(dir, 'exits.txt');
  await p.supervisor.start(
    [
      syntheticSource('s0', p.f64, 100, 500),
      syntheticSource('s1', p.f64, 100, 500),
      fileOutput('steady', { path: steady }),
      fileOutput('exits', { path: exits, exitOnce: { write: 50, marker: join(dir, 'exited') } }),
    ],
    p.registry.all(),
  );
  await waitFor(() => counters(p.supervisor, 'output/fixture/exits')['restarts']! >= 1, { what: 'the output worker to be respawned', seen: () => p.logText().slice(-500) });
  assert.equal(element(p.supervisor, 'output/fixture/exits').lastError, 'worker exited with code 4');
  const writtenAfter = sum(lines(exits));
  await waitFor(() => sum(lines(exits)) > writtenAfter + 5_000, { what: 'the respawned output to write' });
  await p.supervisor.stopAll();

  const b = p.supervisor.pointBalance();
  const lost = outputBalance(p.supervisor, 'output/fixture/exits');
  assert.equal(outputBalance(p.supervisor, 'output/fixture/steady').written, b.produced, 'the other output lost nothing');
  assert.ok(lost.dropped_crash > 0, 'points were in flight to it, or produced while it was down');
  assert.equal(lost.written + lost.dropped_crash, b.produced, `written + dropped_crash == produced: ${JSON.stringify(lost)}, produced ${b.produced}`);
  assert.equal(lost.unaccounted, 0);
  assert.equal(sum(lines(exits)), lost.written);
  assert.match(p.logText(), /output\/fixture\/exits: \d+ points were lost on their way to it when its worker died/);
});

test('a transform whose worker exits under load is respawned; what it lost is counted, and nothing it forwarded is lost', async (t) => {
  const dir = tempDir();
  const p = pipeline();
  t.after(() => p.supervisor.stopAll());
  t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
  const a = join(dir, 'a.txt');
  const b = join(dir, 'b.txt');
  await p.supervisor.start(
    [
      syntheticSource('s0', p.f64, 100, 500),
      syntheticSource('s1', p.f64, 100, 500),
      faultyTransform('t', { exitOnce: { batch: 40, marker: join(dir, 'exited') } }),
      fileOutput('a', { path: a }),
      fileOutput('b', { path: b, delayMs: 1 }),
    ],
    p.registry.all(),
  );
  await waitFor(() => counters(p.supervisor, 'transform/fixture/t')['restarts']! >= 1, { what: 'the transform worker to be respawned', seen: () => p.logText().slice(-500) });
  const after = sum(lines(b));
  await waitFor(() => sum(lines(b)) > after + 5_000, { what: 'points through the respawned transform' });
  await p.supervisor.stopAll();

  const bal = p.supervisor.pointBalance();
  const [tr] = bal.transforms;
  assert.ok(tr && tr.dropped_crash > 0, JSON.stringify(bal));
  assert.equal(tr.forwarded + tr.dropped_crash, bal.produced, `forwarded + dropped_crash == produced: ${JSON.stringify(tr)}, produced ${bal.produced}`);
  for (const name of ['output/fixture/a', 'output/fixture/b']) {
    const o = outputBalance(p.supervisor, name);
    assert.equal(o.written, tr.forwarded, `${name} wrote everything the transform forwarded`);
    assert.equal(o.unaccounted, 0);
  }
});

test('a transform that throws once is restarted in place; the batch passes through and nothing is lost', async (t) => {
  const dir = tempDir();
  const p = pipeline();
  t.after(() => p.supervisor.stopAll());
  t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
  const out = join(dir, 'o.txt');
  await p.supervisor.start(
    [countingSource('s', { metric: p.metric, points: 10 }, 2), faultyTransform('t', { failOn: [5] }), fileOutput('o', { path: out })],
    p.registry.all(),
  );
  await waitFor(() => counters(p.supervisor, 'transform/fixture/t')['restarts'] === 1, { what: 'the transform restart' });
  await waitFor(() => element(p.supervisor, 'transform/fixture/t').state === 'running', { what: 'the transform to run again' });
  assert.match(element(p.supervisor, 'transform/fixture/t').lastError ?? '', /fixture transform failure on batch 5/);
  await keepsPolling(p, 'source/fixture/s');
  await p.supervisor.stopAll();
  const b = p.supervisor.pointBalance();
  assert.equal(counters(p.supervisor, 'transform/fixture/t')['errors'], 1);
  assert.equal(outputBalance(p.supervisor, 'output/fixture/o').written, b.produced);
  assert.equal(sum(lines(out)), b.produced);
});

test('a transform that always throws: restarts back off (doubling up to the maximum), then it is left failed and bypassed', async (t) => {
  const dir = tempDir();
  const p = pipeline({ restart_max: 4, restart_backoff: '10ms', restart_backoff_max: '40ms' });
  t.after(() => p.supervisor.stopAll());
  t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
  const out = join(dir, 'o.txt');
  await p.supervisor.start(
    [countingSource('s', { metric: p.metric, points: 10 }, 2), faultyTransform('t', { failFrom: 3 }), fileOutput('o', { path: out })],
    p.registry.all(),
  );
  await waitFor(() => /giving up/.test(p.logText()), { what: 'the supervisor to give up', seen: () => p.logText().slice(-800) });
  const tr = element(p.supervisor, 'transform/fixture/t');
  assert.equal(tr.state, 'failed');
  assert.equal(tr.counters['restarts'], 4);
  assert.match(tr.lastError ?? '', /fixture transform failure on batch \d+/);
  const delays = [...p.logText().matchAll(/transform\/fixture\/t failed \(.*?\); restarting in (\d+) ms/g)].map((m) => Number(m[1]));
  assert.deepEqual(delays, [10, 20, 40, 40], 'the wait doubles from restart_backoff up to restart_backoff_max');
  assert.match(p.logText(), /transform\/fixture\/t failed 5 times; giving up \(restart_max = 4\): fixture transform failure/);
  // Given up on, the transform is bypassed: the data still flows, unchanged, and the source never stopped.
  await keepsPolling(p, 'source/fixture/s');
  const written = sum(lines(out));
  await waitFor(() => sum(lines(out)) > written + 100, { what: 'points to keep reaching the output' });
  await p.supervisor.stopAll();
  assert.equal(outputBalance(p.supervisor, 'output/fixture/o').written, p.supervisor.pointBalance().produced);
  assert.equal(element(p.supervisor, 'transform/fixture/t').state, 'failed', 'a failed element stays failed through shutdown');
});

test('an output that always throws is left failed; its backlog stays bounded and is counted at shutdown', async (t) => {
  const dir = tempDir();
  const p = pipeline({ restart_max: 2, output_backlog: 3_000 });
  t.after(() => p.supervisor.stopAll());
  t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
  const good = join(dir, 'good.txt');
  await p.supervisor.start(
    [
      countingSource('s', { metric: p.metric, points: 100 }, 2),
      fileOutput('good', { path: good }),
      fileOutput('bad', { path: join(dir, 'bad.txt'), failFrom: 3 }),
    ],
    p.registry.all(),
  );
  await waitFor(() => element(p.supervisor, 'output/fixture/bad').state === 'failed' && /giving up/.test(p.logText()), { what: 'the output to be given up on' });
  await waitFor(() => counters(p.supervisor, 'output/fixture/bad')['dropped_backlog']! > 3_000, { what: 'the failed output to drop from its full backlog' });
  assert.ok(counters(p.supervisor, 'output/fixture/bad')['backlog_points']! <= 3_000);
  assert.match(element(p.supervisor, 'output/fixture/bad').lastError ?? '', /fixture write failure/);
  await keepsPolling(p, 'source/fixture/s');
  await p.supervisor.stopAll();
  const b = p.supervisor.pointBalance();
  const bad = outputBalance(p.supervisor, 'output/fixture/bad');
  assert.equal(outputBalance(p.supervisor, 'output/fixture/good').written, b.produced);
  assert.ok(bad.dropped_crash > 0, 'its last backlog could not be written');
  assert.equal(bad.written + bad.dropped_backlog + bad.dropped_crash, b.produced, JSON.stringify(bad));
  assert.equal(bad.unaccounted, 0);
});

test('an output that blocks for seconds slows the pipeline down; nothing is lost and shutdown completes', async (t) => {
  const dir = tempDir();
  const p = pipeline();
  t.after(() => p.supervisor.stopAll());
  t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
  const slow = join(dir, 'slow.txt');
  await p.supervisor.start(
    [
      syntheticSource('s', p.f64, 100, 1000),
      fileOutput('fast', { path: join(dir, 'fast.txt') }),
      fileOutput('slow', { path: slow, block: { write: 20, ms: 2_000, marker: join(dir, 'blocked') } }),
    ],
    p.registry.all(),
  );
  await waitFor(() => existsSync(join(dir, 'blocked')), { what: 'the write to block' });
  // While the write is blocked, the source runs out of credit and counts the ticks it skips.
  const missed = counters(p.supervisor, 'source/synthetic/s')['missed_ticks']!;
  await waitFor(() => counters(p.supervisor, 'source/synthetic/s')['missed_ticks']! > missed + 20, { what: 'the source to skip ticks while the output blocks' });
  assert.equal(element(p.supervisor, 'output/fixture/slow').state, 'running');
  const during = counters(p.supervisor, 'output/fixture/slow')['points_out']!;
  await waitFor(() => counters(p.supervisor, 'output/fixture/slow')['points_out']! > during + 5_000, { what: 'the output to write again after the block' });
  await p.supervisor.stopAll();
  const b = p.supervisor.pointBalance();
  for (const name of ['output/fixture/fast', 'output/fixture/slow']) assert.equal(outputBalance(p.supervisor, name).written, b.produced, name);
  assert.equal(sum(lines(slow)), b.produced);
});

test('an output still blocked when shutdown_timeout passes: the shutdown completes and the balance shows what was not written', async (t) => {
  const dir = tempDir();
  const p = pipeline({ shutdown_timeout: '500ms' });
  t.after(() => p.supervisor.stopAll());
  t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
  await p.supervisor.start(
    [
      syntheticSource('s', p.f64, 100, 1000),
      fileOutput('fast', { path: join(dir, 'fast.txt') }),
      fileOutput('stuck', { path: join(dir, 'stuck.txt'), block: { write: 10, ms: 600_000, marker: join(dir, 'blocked') } }),
    ],
    p.registry.all(),
  );
  // Write 10 blocks; with a window of 4 batches, the source's credits on that link are spent once batch 13
  // has arrived, and it sends nothing more: the other output then has written all there is.
  await waitFor(() => existsSync(join(dir, 'blocked')), { what: 'the write to block' });
  const sent = (): number => counters(p.supervisor, 'source/synthetic/s')['points_out']!;
  const stuckIn = (): number => counters(p.supervisor, 'output/fixture/stuck')['batches_in']!;
  await waitFor(() => stuckIn() === 13 && counters(p.supervisor, 'output/fixture/fast')['points_out'] === sent(), {
    what: 'the pipeline to back up behind the stuck output',
    seen: () => `${JSON.stringify(counters(p.supervisor, 'source/synthetic/s'))} ${JSON.stringify(counters(p.supervisor, 'output/fixture/fast'))}`,
  });
  await p.supervisor.stopAll();
  const b = p.supervisor.pointBalance();
  const stuck = outputBalance(p.supervisor, 'output/fixture/stuck');
  assert.equal(outputBalance(p.supervisor, 'output/fixture/fast').written, b.produced, 'the other output wrote everything sent');
  assert.ok(stuck.unaccounted !== undefined && stuck.unaccounted > 0, JSON.stringify(stuck));
  assert.equal(stuck.written + stuck.dropped_backlog + stuck.dropped_crash + stuck.backlog + stuck.unaccounted, b.produced);
  assert.match(p.logText(), /output\/fixture\/stuck did not shut down cleanly: .*drain timed out after 500 ms/);
  assert.match(p.logText(), new RegExp(`output/fixture/stuck: written=${stuck.written} .*unaccounted=${stuck.unaccounted}`));
});

// ---- /proc files that vanish or change format ----

function fakeProc(dir: string): string {
  const root = join(dir, 'proc');
  cpSync(join(REPO_ROOT, 'src/plugins/procfs/testdata/normal/t0'), root, { recursive: true });
  return root;
}

function memorySource(p: TestPipeline, root: string): import('../src/agent/element-record.js').ElementDecl {
  const metric = p.registry.register('mem_total', p.registry.all()[0]!.type, { base: 'By', prefix: '' }, 'MemTotal');
  return {
    kind: 'source',
    plugin: 'procfs',
    element: 'memory',
    moduleUrl: pluginModule('procfs/memory'),
    config: { root, entries: [{ key: 'MemTotal', metric: { id: metric.id, name: metric.name, type: metric.type } }] },
    pollNs: 5_000_000n,
  };
}

test('a /proc file that vanishes after it was opened: the source fails with the path, retries, gives up, and nothing else stops', async (t) => {
  const dir = tempDir();
  const root = fakeProc(dir);
  const p = pipeline({ restart_max: 3 });
  t.after(() => p.supervisor.stopAll());
  t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
  const out = join(dir, 'o.txt');
  await p.supervisor.start([memorySource(p, root), countingSource('steady', { metric: p.metric, points: 1 }, 5), fileOutput('o', { path: out })], p.registry.all());
  await keepsPolling(p, 'source/procfs/memory', 3);
  rmSync(join(root, 'meminfo')); // the source holds it open: the next read finds it unlinked
  await waitFor(() => /source\/procfs\/memory failed \d+ times; giving up/.test(p.logText()), { what: 'the source to be given up on', seen: () => p.logText().slice(-800) });
  const memory = element(p.supervisor, 'source/procfs/memory');
  assert.equal(memory.state, 'failed');
  assert.equal(memory.counters['restarts'], 3);
  assert.match(memory.lastError ?? '', new RegExp(`${join(root, 'meminfo').replaceAll('/', '\\/')} does not exist \\(it vanished or was never there\\)`));
  await keepsPolling(p, 'source/fixture/steady');
  await p.supervisor.stopAll();
  assert.equal(outputBalance(p.supervisor, 'output/fixture/o').written, p.supervisor.pointBalance().produced);
});

test('a /proc file that vanishes and comes back before the restart limit: the source is restarted and measures again', async (t) => {
  const dir = tempDir();
  const root = fakeProc(dir);
  const p = pipeline({ restart_max: 1000, restart_backoff: '20ms', restart_backoff_max: '20ms' });
  t.after(() => p.supervisor.stopAll());
  t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
  await p.supervisor.start([memorySource(p, root), fileOutput('o', { path: join(dir, 'o.txt') })], p.registry.all());
  await keepsPolling(p, 'source/procfs/memory', 3);
  const meminfo = join(root, 'meminfo');
  const saved = join(dir, 'meminfo.saved');
  cpSync(meminfo, saved);
  rmSync(meminfo);
  await waitFor(() => counters(p.supervisor, 'source/procfs/memory')['restarts']! >= 2, { what: 'failed restarts while the file is missing' });
  cpSync(saved, meminfo);
  await waitFor(() => element(p.supervisor, 'source/procfs/memory').state === 'running', { what: 'the source to run again' });
  await keepsPolling(p, 'source/procfs/memory', 3);
});

test('a /proc file whose format changes: the error names the file and the line, and the source retries', async (t) => {
  const dir = tempDir();
  const root = fakeProc(dir);
  const p = pipeline({ restart_max: 2 });
  t.after(() => p.supervisor.stopAll());
  t.after(() => rmrf(dir)); // after the pipeline has stopped writing there
  await p.supervisor.start([memorySource(p, root), countingSource('steady', { metric: p.metric, points: 1 }, 5), fileOutput('o', { path: join(dir, 'o.txt') })], p.registry.all());
  await keepsPolling(p, 'source/procfs/memory', 3);
  writeFileSync(join(root, 'meminfo.new'), 'MemTotal:  lots kB\n\u0000\u00ff garbage\n');
  cpSync(join(root, 'meminfo.new'), join(root, 'meminfo')); // in place: same file, new content
  await waitFor(() => element(p.supervisor, 'source/procfs/memory').state === 'failed' && /giving up/.test(p.logText()), { what: 'the source to be given up on' });
  assert.match(element(p.supervisor, 'source/procfs/memory').lastError ?? '', /meminfo: .*line 1/);
  await keepsPolling(p, 'source/fixture/steady');
});

test('the real agent: a procfs source whose file vanishes shows failed with its error in status; the others keep measuring', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const root = fakeProc(dir);
  writeFileSync(
    join(dir, 'c.toml'),
    [
      '[pipeline]',
      'restart_max = 2',
      'restart_backoff = "20ms"',
      '[plugins.procfs]',
      `root = ${JSON.stringify(root)}`,
      'kernel.poll_interval = "20ms"',
      'memory.poll_interval = "20ms"',
      'network.poll_interval = "20ms"',
      'processes.enabled = false',
      '[plugins.csv]',
      'output_path = "out.csv"',
      '[plugins.socket-control]',
      'socket_path = "s.sock"',
      '',
    ].join('\n'),
  );
  const agent = startAgent(['--config', 'c.toml'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');
  const socket = join(dir, 's.sock');
  const memory = async (): Promise<StatusEntry> => (await statusEntries(socket, 'source/procfs/memory'))[0]!;
  await waitFor(async () => (await memory()).counters['polls']! > 0, { what: 'the memory source to poll' });
  rmSync(join(root, 'meminfo'));
  await waitFor(async () => ((m) => m.state === 'failed' && m.counters['restarts'] === 2)(await memory()), {
    what: 'memory to be left failed after 2 restarts',
    seen: () => agent.output().slice(-1000),
  });
  assert.match((await memory()).last_error ?? '', /meminfo does not exist \(it vanished or was never there\)/);
  const list = (await sendControlLine(socket, 'list', 10_000)).lines;
  assert.ok(list.includes('source/procfs/kernel running 20ms'), list.join('\n'));
  assert.ok(list.includes('source/procfs/network running 20ms'), list.join('\n'));
  const kernelRows = (): number => csvRows(join(dir, 'out.csv')).filter((r) => r[0]!.startsWith('kernel_')).length;
  const before = kernelRows();
  await waitFor(() => kernelRows() > before + 10, { what: 'kernel rows to keep coming' });
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0, agent.output().slice(-1500));
});
