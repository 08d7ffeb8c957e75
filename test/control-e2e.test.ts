// Socket control against the real agent binary: every action's effect is checked on the CSV file and on the
// elements' counters, by counts (never by timing), over the real socket, with our client, the CLI and socat.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sendControlLine, type ControlReply } from '../src/control/client.js';
import { ControlDispatcher } from '../src/control/dispatch.js';
import { SocketServer } from '../src/control/socket-server.js';
import type { ElementDecl } from '../src/agent/element-record.js';
import type { Supervisor } from '../src/agent/supervisor.js';
import { controlTarget } from '../src/control/control-target.js';
import type { MetricHandle } from '../src/protocol/metrics.js';
import { assertCompleteCsv, balance, csvRows, MAIN_JS, rmrf, runAgentToEnd, startAgent, tempDir, waitFor, type AgentProcess } from './helpers/agent-process.js';
import { pipeline } from './helpers/pipeline.js';
import { statusEntries } from './helpers/status.js';

const SOCKET = 'alumet-control.sock';
const MEMORY = 'source/procfs/memory';
const KERNEL = 'source/procfs/kernel';
const CSV_OUT = 'output/csv/csv';
const FILTER = 'transform/filter/filter';
/** The memory source measures MemTotal alone: one point, so one `mem_total_B` row, per poll. */
const MEM_ROW = 'mem_total_B';

interface Status {
  readonly state: string;
  readonly period: string | undefined;
  readonly c: Readonly<Record<string, number>>;
}

interface Running {
  readonly dir: string;
  readonly agent: AgentProcess;
  readonly csv: string;
  send(line: string): Promise<ControlReply>;
  /** Sends `line`, asserts a one-line `ok` reply equal to (or matching) `want`, and returns it. */
  ok(line: string, want: string | RegExp): Promise<string>;
  status(name: string): Promise<Status>;
  list(): Promise<string[]>;
  rows(metric?: string): number;
}

interface AgentConfig {
  /** Memory source poll interval (the source under control). */
  memoryPeriod?: string;
  memoryFlush?: string;
  /** Adds the filter transform with these `exclude` names. */
  exclude?: string[];
}

/**
 * The agent under test: the kernel source is a 50 ms heartbeat that proves time went by, the memory source
 * is the one the tests control, the csv output writes `out.csv` in the temp dir, the socket is the default
 * `alumet-control.sock` in the same dir (a short path, as socat users type it).
 */
function configText(cfg: AgentConfig): string {
  const lines = [
    '[plugins.procfs]',
    'kernel.poll_interval = "50ms"',
    'network.enabled = false',
    'processes.enabled = false',
    'memory.metrics = ["MemTotal"]',
    `memory.poll_interval = "${cfg.memoryPeriod ?? '100ms'}"`,
  ];
  if (cfg.memoryFlush !== undefined) lines.push(`memory.flush_interval = "${cfg.memoryFlush}"`);
  if (cfg.exclude !== undefined) lines.push('[plugins.filter]', `exclude = ${JSON.stringify(cfg.exclude)}`);
  lines.push('[plugins.csv]', 'output_path = "out.csv"', '[plugins.socket-control]', `socket_path = "${SOCKET}"`, '');
  return lines.join('\n');
}

async function startControlled(t: TestContext, cfg: AgentConfig = {}): Promise<Running> {
  const dir = tempDir('alumet-ctl-');
  t.after(() => rmrf(dir));
  writeFileSync(join(dir, 'c.toml'), configText(cfg));
  const agent = startAgent(['--config', 'c.toml'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');
  const csv = join(dir, 'out.csv');
  const socket = join(dir, SOCKET);
  const send = (line: string): Promise<ControlReply> => sendControlLine(socket, line, 10_000);
  const running: Running = {
    dir,
    agent,
    csv,
    send,
    async ok(line, want) {
      const reply = await send(line);
      assert.equal(reply.lines.length, 1, `one status line for "${line}": ${JSON.stringify(reply.lines)}`);
      const status = reply.lines[0]!;
      if (typeof want === 'string') assert.equal(status, want, `reply to "${line}"`);
      else assert.match(status, want, `reply to "${line}"`);
      return status;
    },
    async status(name) {
      const [entry, ...more] = await statusEntries(socket, name);
      assert.ok(entry !== undefined && more.length === 0 && entry.name === name, `status of ${name} alone`);
      return { state: entry.state, period: entry.period ?? undefined, c: entry.counters };
    },
    async list() {
      const reply = await send('list');
      assert.equal(reply.status, 'ok', reply.lines.join('\n'));
      return reply.lines;
    },
    rows: (metric) => (metric === undefined ? csvRows(csv).length : csvRows(csv).filter((r) => r[0] === metric).length),
  };
  return running;
}

/** Waits until the kernel source (the heartbeat) has polled `n` more times: time went by for every source. */
async function heartbeats(a: Running, n: number): Promise<void> {
  const start = (await a.status(KERNEL)).c['polls']!;
  await waitFor(async () => (await a.status(KERNEL)).c['polls']! >= start + n, { what: `${n} more kernel polls` });
}

/**
 * Checks that a source polls no more: its polls and points_out stay as they were right after the `ok`, while
 * the heartbeat polls 10 more times, and the CSV rows of its metric settle at exactly its points_out.
 */
async function assertSourceIdle(a: Running, name: string, after: Status, metric: string): Promise<void> {
  await waitFor(() => a.rows(metric) >= after.c['points_out']!, { what: `${metric} rows to reach ${after.c['points_out']}`, seen: () => String(a.rows(metric)) });
  await heartbeats(a, 10);
  const now = await a.status(name);
  assert.equal(now.c['polls'], after.c['polls'], `${name} polled after the ok`);
  assert.equal(now.c['points_out'], after.c['points_out'], `${name} sent points after the ok`);
  assert.equal(a.rows(metric), after.c['points_out'], `${metric} rows equal the source's points_out`);
}

/** Runs a shell command line in `cwd`, as a user would type it; resolves with its stdout and exit code. */
async function shell(command: string, cwd: string): Promise<{ code: number; stdout: string }> {
  const { code, stdout } = await shellOutput(command, cwd);
  return { code, stdout };
}

/** shell(), with stderr too. */
function shellOutput(command: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Writes raw bytes on one connection, half-closes, and returns every line received until the agent closes it. */
function rawExchange(path: string, data: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('connect', () => socket.end(data));
    // The agent may close while a long line is still being written: that is the expected end, not a failure.
    socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    socket.on('close', () => resolve(text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1)));
  });
}

// ---- sources ----

test('pause stops a source (polls and rows settle at its points_out), resume brings its rows back', async (t) => {
  const a = await startControlled(t);
  await waitFor(() => a.rows(MEM_ROW) >= 3, { what: '3 mem_total rows' });

  await a.ok(`control ${MEMORY} pause`, `ok paused 1 element: ${MEMORY}`);
  const paused = await a.status(MEMORY);
  assert.equal(paused.state, 'paused');
  await assertSourceIdle(a, MEMORY, paused, MEM_ROW);
  assert.deepEqual((await a.list()).filter((l) => l.startsWith('source/')), [`${KERNEL} running 50ms`, `${MEMORY} paused 100ms`]);

  await a.ok(`control ${MEMORY} resume`, `ok resumed 1 element: ${MEMORY}`);
  assert.equal((await a.status(MEMORY)).state, 'running');
  await waitFor(() => a.rows(MEM_ROW) >= paused.c['points_out']! + 5, { what: '5 more mem_total rows after resume', seen: () => String(a.rows(MEM_ROW)) });
});

test('a paused source keeps its unflushed points: trigger-now flushes them all at once, stop flushes the rest', async (t) => {
  // A flush interval of 1h: nothing leaves the source unless trigger-now or stop flushes it.
  const a = await startControlled(t, { memoryPeriod: '20ms', memoryFlush: '1h' });
  await waitFor(async () => (await a.status(MEMORY)).c['polls']! >= 5, { what: '5 memory polls' });
  await a.ok(`control ${MEMORY} pause`, `ok paused 1 element: ${MEMORY}`);
  const paused = await a.status(MEMORY);
  assert.equal(paused.c['points_out'], 0, 'nothing flushed before the pause');
  await heartbeats(a, 5);
  assert.equal((await a.status(MEMORY)).c['polls'], paused.c['polls']);
  assert.equal(a.rows(MEM_ROW), 0);

  await a.ok(`control ${MEMORY} trigger-now`, `ok triggered 1 element: ${MEMORY}`);
  const triggered = await a.status(MEMORY);
  const polls = paused.c['polls']! + 1;
  assert.equal(triggered.c['polls'], polls, 'one extra poll');
  assert.equal(triggered.c['points_out'], polls, 'the kept points and the new one, flushed now');
  assert.equal(triggered.state, 'paused');
  await waitFor(() => a.rows(MEM_ROW) === polls, { what: `${polls} mem_total rows`, seen: () => String(a.rows(MEM_ROW)) });

  await a.ok(`control ${MEMORY} resume`, `ok resumed 1 element: ${MEMORY}`);
  await waitFor(async () => (await a.status(MEMORY)).c['polls']! >= polls + 5, { what: '5 polls after resume' });
  await a.ok(`control ${MEMORY} stop`, `ok stopped 1 element: ${MEMORY}`);
  const stopped = await a.status(MEMORY);
  assert.equal(stopped.state, 'stopped');
  assert.equal(stopped.c['points_out'], stopped.c['polls'], 'the final flush sent every polled point');
  await waitFor(() => a.rows(MEM_ROW) === stopped.c['polls'], { what: `${stopped.c['polls']} mem_total rows`, seen: () => String(a.rows(MEM_ROW)) });
  await heartbeats(a, 5);
  assert.equal(a.rows(MEM_ROW), stopped.c['polls'], 'a stopped source is gone for good');
  await a.ok(`control ${MEMORY} resume`, `error: could not resume ${MEMORY}: it is stopped`);
  await a.ok(`control ${MEMORY} trigger-now`, `error: could not trigger-now ${MEMORY}: it is stopped`);
  assert.ok((await a.list()).includes(`${MEMORY} stopped 20ms`));
  a.agent.kill('SIGTERM');
  assert.equal(await a.agent.exited, 0);
  const { produced, written } = balance(a.agent.output());
  assert.equal(written, produced);
});

test('set-period 50ms makes the source poll about 20 times a second; set-period 1h stops its polls', async (t) => {
  // 1h from the start: only the immediate first tick happens before set-period.
  const a = await startControlled(t, { memoryPeriod: '1h' });
  await waitFor(() => a.rows(MEM_ROW) === 1, { what: 'the first mem_total row' });
  const beforeSend = performance.now();
  await a.ok(`control ${MEMORY} set-period 50ms`, `ok set the period to 50ms on 1 element: ${MEMORY}`);
  const start = await a.status(MEMORY);
  const afterStart = performance.now();
  assert.equal(start.period, '50ms');
  // A window of at least 2 s by the test's own clock.
  await waitFor(() => performance.now() - afterStart >= 2000, { what: 'a 2 s window' });
  const beforeEnd = performance.now();
  const end = await a.status(MEMORY);
  const afterEnd = performance.now();
  const polls = end.c['polls']! - start.c['polls']!;
  // Loose on a loaded 2-core machine: 40 expected, 10 required; never more than the schedule allows.
  assert.ok(polls >= 10, `${polls} polls in ${(beforeEnd - afterStart).toFixed(0)} ms at 50ms`);
  assert.ok(polls <= Math.floor((afterEnd - beforeSend) / 50) + 2, `${polls} polls in at most ${(afterEnd - beforeSend).toFixed(0)} ms at 50ms`);

  await a.ok(`control ${MEMORY} set-period 1h`, `ok set the period to 1h on 1 element: ${MEMORY}`);
  const slow = await a.status(MEMORY);
  assert.equal(slow.period, '1h');
  await assertSourceIdle(a, MEMORY, slow, MEM_ROW);
});

test('trigger-now on a source re-timed to 1h gives exactly one poll each time, also paused and after several set-period', async (t) => {
  const a = await startControlled(t, { memoryPeriod: '50ms' });
  await waitFor(() => a.rows(MEM_ROW) >= 3, { what: '3 mem_total rows' });
  await a.ok(`control ${MEMORY} set-period 1h`, `ok set the period to 1h on 1 element: ${MEMORY}`);
  let expected = (await a.status(MEMORY)).c['polls']!;
  await assertSourceIdle(a, MEMORY, await a.status(MEMORY), MEM_ROW);

  const trigger = async (state: string): Promise<void> => {
    await a.ok(`control ${MEMORY} trigger-now`, `ok triggered 1 element: ${MEMORY}`);
    expected++;
    const s = await a.status(MEMORY);
    assert.equal(s.c['polls'], expected, 'exactly one extra poll');
    assert.equal(s.c['points_out'], expected, 'flushed at once');
    assert.equal(s.state, state);
    await waitFor(() => a.rows(MEM_ROW) === expected, { what: `${expected} mem_total rows`, seen: () => String(a.rows(MEM_ROW)) });
  };
  for (let i = 0; i < 3; i++) await trigger('running');

  await a.ok(`control ${MEMORY} pause`, `ok paused 1 element: ${MEMORY}`);
  await trigger('paused');
  await trigger('paused');
  for (const period of ['2h', '10m', '1h30m', '1h']) {
    await a.ok(`control ${MEMORY} set-period ${period}`, `ok set the period to ${period} on 1 element: ${MEMORY}`);
  }
  assert.equal((await a.status(MEMORY)).state, 'paused', 'set-period does not resume');
  await trigger('paused');
  await a.ok(`control ${MEMORY} set-poll-interval 1h`, `ok set the period to 1h on 1 element: ${MEMORY}`);
  await a.ok(`control ${MEMORY} resume`, `ok resumed 1 element: ${MEMORY}`);
  // The schedule restarts from now: its first tick is immediate, the next one an hour away.
  expected++;
  await waitFor(async () => (await a.status(MEMORY)).c['polls'] === expected, { what: 'the immediate poll of the resumed schedule' });
  await assertSourceIdle(a, MEMORY, await a.status(MEMORY), MEM_ROW);
  await trigger('running');
  await assertSourceIdle(a, MEMORY, await a.status(MEMORY), MEM_ROW);
});

// ---- outputs ----

test('control output/csv/* stop leaves a complete CSV file while the agent runs on', async (t) => {
  const a = await startControlled(t);
  await waitFor(() => a.rows() >= 50, { what: '50 rows' });
  await a.ok('control output/csv/* stop', `ok stopped 1 element: ${CSV_OUT}`);
  const out = await a.status(CSV_OUT);
  assert.equal(out.state, 'stopped');
  assertCompleteCsv(a.csv);
  assert.equal(a.rows(), out.c['points_out'], 'every point the output wrote is a row');
  assert.equal(out.c['points_out'], out.c['points_in'], 'what was queued was written');
  const kernel = (await a.status(KERNEL)).c['polls']!;
  const memory = (await a.status(MEMORY)).c['polls']!;
  await heartbeats(a, 10);
  await waitFor(async () => (await a.status(MEMORY)).c['polls']! > memory + 2, { what: 'memory polls after the output stopped' });
  assert.ok((await a.status(KERNEL)).c['polls']! >= kernel + 10);
  assert.deepEqual(await a.list(), [`${KERNEL} running 50ms`, `${MEMORY} running 100ms`, `${CSV_OUT} stopped`, 'ok 3 elements']);
  assert.equal(a.rows(), out.c['points_out'], 'nothing is written after the stop');
  assertCompleteCsv(a.csv);
  await a.ok(`control ${CSV_OUT} resume`, `error: could not resume ${CSV_OUT}: it is stopped`);
  // `*` reaches the stopped output too: the one failure is named, the elements that did pause after the `;`.
  await a.ok('control * pause', `error: could not pause ${CSV_OUT}: it is stopped; paused 2 elements: ${KERNEL}, ${MEMORY}`);
  await a.ok('control * resume', `error: could not resume ${CSV_OUT}: it is stopped; resumed 2 elements: ${KERNEL}, ${MEMORY}`);
  await a.ok('shutdown', 'ok shutting down');
  assert.equal(await a.agent.exited, 0);
  assert.equal(a.rows(), out.c['points_out']);
});

test('a paused output keeps a backlog and writes it on resume; after shutdown written == produced', async (t) => {
  const a = await startControlled(t);
  await waitFor(() => a.rows() >= 20, { what: '20 rows' });
  await a.ok(`control ${CSV_OUT} pause`, `ok paused 1 element: ${CSV_OUT}`);
  const paused = await a.status(CSV_OUT);
  assert.equal(paused.state, 'paused');
  assert.equal(a.rows(), paused.c['points_out'], 'nothing is written after the ok');
  await heartbeats(a, 10);
  const held = await a.status(CSV_OUT);
  assert.equal(held.c['points_out'], paused.c['points_out'], 'the paused output wrote nothing');
  assert.equal(a.rows(), paused.c['points_out'], 'the file did not grow');
  assert.ok(held.c['backlog_points']! > 0, `points are held: ${JSON.stringify(held.c)}`);
  assert.equal(held.c['points_in'], held.c['points_out']! + held.c['backlog_points']!);

  await a.ok(`control ${CSV_OUT} resume`, `ok resumed 1 element: ${CSV_OUT}`);
  await waitFor(() => a.rows() >= held.c['points_in']!, { what: `the file to catch up to ${held.c['points_in']} rows`, seen: () => String(a.rows()) });
  const resumed = await a.status(CSV_OUT);
  assert.equal(resumed.c['dropped_backlog'], 0);
  await a.ok('shutdown', 'ok shutting down');
  assert.equal(await a.agent.exited, 0);
  const { produced, written } = balance(a.agent.output());
  assert.equal(written, produced);
  assert.equal(a.rows(), produced);
  assertCompleteCsv(a.csv);
});

// ---- transforms ----

test('a paused transform passes data through unchanged; resumed, it filters again', async (t) => {
  const a = await startControlled(t, { memoryPeriod: '50ms', exclude: ['mem_total'] });
  /** Every batch the transform forwarded so far has been written (one link, in order). */
  const flowed = async (): Promise<void> => {
    const forwarded = (await a.status(FILTER)).c['points_out']!;
    await waitFor(async () => (await a.status(CSV_OUT)).c['points_out']! >= forwarded, { what: `the output to write ${forwarded} points` });
  };
  await waitFor(async () => (await a.status(MEMORY)).c['polls']! >= 5, { what: '5 memory polls' });
  await flowed();
  assert.ok(a.rows() > 0);
  assert.equal(a.rows(MEM_ROW), 0, 'the filter drops mem_total');

  await a.ok(`control ${FILTER} pause`, `ok paused 1 element: ${FILTER}`);
  assert.equal((await a.status(FILTER)).state, 'paused');
  await waitFor(() => a.rows(MEM_ROW) >= 3, { what: 'mem_total rows while the filter is paused' });
  assert.ok(csvRows(a.csv).filter((r) => r[0] === MEM_ROW).every((r) => /^\d+$/.test(r[2]!) && Number(r[2]) > 0), 'the rows are the measured values');

  await a.ok(`control ${FILTER} resume`, `ok resumed 1 element: ${FILTER}`);
  await flowed();
  const passed = a.rows(MEM_ROW);
  const polls = (await a.status(MEMORY)).c['polls']!;
  await waitFor(async () => (await a.status(MEMORY)).c['polls']! >= polls + 5, { what: '5 more memory polls' });
  await flowed();
  assert.equal(a.rows(MEM_ROW), passed, 'no mem_total row once the filter is resumed');
  assert.match(await a.ok(`control ${FILTER} stop`, /^error: /), /stop applies to sources and outputs/);
  assert.equal((await a.status(FILTER)).state, 'running');
});

// ---- patterns ----

test('kind * fans out: pause reaches every kind, trigger-now and set-period only sources', async (t) => {
  const a = await startControlled(t, { exclude: [] });
  await waitFor(() => a.rows(MEM_ROW) >= 2, { what: '2 mem_total rows' });
  const all = `${KERNEL}, ${MEMORY}, ${FILTER}, ${CSV_OUT}`;
  await a.ok('control * pause', `ok paused 4 elements: ${all}`);
  assert.deepEqual(await a.list(), [`${KERNEL} paused 50ms`, `${MEMORY} paused 100ms`, `${FILTER} paused`, `${CSV_OUT} paused`, 'ok 4 elements']);
  const kernel = await a.status(KERNEL);
  const memory = await a.status(MEMORY);
  const written = (await a.status(CSV_OUT)).c['points_out']!;

  await a.ok('control * trigger-now', `ok triggered 2 elements: ${KERNEL}, ${MEMORY}`);
  assert.equal((await a.status(KERNEL)).c['polls'], kernel.c['polls']! + 1);
  assert.equal((await a.status(MEMORY)).c['polls'], memory.c['polls']! + 1);
  const sent = kernel.c['points_out']! + memory.c['points_out']!;
  const triggered = (await a.status(KERNEL)).c['points_out']! + (await a.status(MEMORY)).c['points_out']!;
  assert.ok(triggered > sent);
  await waitFor(async () => (await a.status(CSV_OUT)).c['points_in']! >= triggered, { what: 'the triggered points to reach the paused output' });
  const out = await a.status(CSV_OUT);
  assert.equal(out.state, 'paused');
  assert.equal(out.c['points_out'], written, 'the paused output wrote nothing');
  assert.equal((await a.status(FILTER)).state, 'paused');

  await a.ok('control all set-period 1h', `ok set the period to 1h on 2 elements: ${KERNEL}, ${MEMORY}`);
  await a.ok('control any resume', `ok resumed 4 elements: ${all}`);
  assert.deepEqual(await a.list(), [`${KERNEL} running 1h`, `${MEMORY} running 1h`, `${FILTER} running`, `${CSV_OUT} running`, 'ok 4 elements']);
  await waitFor(() => a.rows() >= triggered, { what: 'the backlog to be written' });
  await a.ok('shutdown', 'ok shutting down');
  assert.equal(await a.agent.exited, 0);
  const { produced, written: total } = balance(a.agent.output());
  assert.equal(total, produced);
});

test('a pattern that matches nothing is an error that suggests the close name, and changes nothing', async (t) => {
  const a = await startControlled(t);
  const before = await a.list();
  await a.ok('control source/procfs/MEMORY pause', 'error: pattern "source/procfs/MEMORY" matches no element; did you mean source/procfs/memory?');
  await a.ok('control source/procfs/memry pause', 'error: pattern "source/procfs/memry" matches no element; did you mean source/procfs/memory?');
  await a.ok('control source/Procfs/* pause', 'error: pattern "source/Procfs/*" matches no element; did you mean source/procfs/*?');
  await a.ok('control output/csv/csv trigger-now', 'error: trigger-now applies to sources only; output/csv/csv is an output');
  assert.deepEqual(await a.list(), before);
});

// ---- clients ----

test('the CLI client exits 0 on ok, 1 on error, 2 with no agent', async (t) => {
  const a = await startControlled(t);
  const list = await runAgentToEnd(['--config', 'c.toml', 'control', 'list'], { cwd: a.dir });
  assert.equal(list.code, 0, list.output);
  assert.equal(list.output, `${KERNEL} running 50ms\n${MEMORY} running 100ms\n${CSV_OUT} running\nok 3 elements\n`);
  const bad = await runAgentToEnd(['--config', 'c.toml', 'control', 'control', 'source/nope', 'pause'], { cwd: a.dir });
  assert.equal(bad.code, 1, bad.output);
  assert.match(bad.output, /^error: bad pattern, expected kind\/plugin\/element but got 'source\/nope'/);
  const pause = await runAgentToEnd(['control', '--socket', SOCKET, 'control', MEMORY, 'pause'], { cwd: a.dir });
  assert.equal(pause.code, 0, pause.output);
  assert.equal(pause.output, `ok paused 1 element: ${MEMORY}\n`);

  const empty = tempDir('alumet-ctl-');
  t.after(() => rmrf(empty));
  const none = await runAgentToEnd(['control', 'list'], { cwd: empty });
  assert.equal(none.code, 2, none.output);
  assert.match(none.output, /^error: no socket at alumet-control\.sock/);
});

test('socat as a user types it: pause, resume, the did-you-mean error, and shutdown', async (t) => {
  const a = await startControlled(t);
  await waitFor(() => a.rows(MEM_ROW) >= 2, { what: '2 mem_total rows' });
  const socat = (line: string): Promise<{ code: number; stdout: string }> =>
    shell(`echo "${line}" | socat UNIX-CONNECT:./${SOCKET} -`, a.dir);

  const paused = await socat(`control ${MEMORY} pause`);
  assert.deepEqual(paused, { code: 0, stdout: `ok paused 1 element: ${MEMORY}\n` });
  await assertSourceIdle(a, MEMORY, await a.status(MEMORY), MEM_ROW);
  const rows = a.rows(MEM_ROW);
  assert.deepEqual(await socat(`control ${MEMORY} resume`), { code: 0, stdout: `ok resumed 1 element: ${MEMORY}\n` });
  await waitFor(() => a.rows(MEM_ROW) >= rows + 3, { what: 'mem_total rows after resume' });
  assert.deepEqual(await socat('control source/procfs/MEMORY pause'), {
    code: 0,
    stdout: 'error: pattern "source/procfs/MEMORY" matches no element; did you mean source/procfs/memory?\n',
  });
  assert.deepEqual(await socat('shutdown'), { code: 0, stdout: 'ok shutting down\n' });
  assert.equal(await a.agent.exited, 0);
  assert.ok(!existsSync(join(a.dir, SOCKET)), 'the socket file is removed at exit');
  assertCompleteCsv(a.csv);
});

test('"stop PATTERN" (control forgotten) over socat is an error, and the agent keeps running', async (t) => {
  const a = await startControlled(t, { exclude: [] });
  const before = await a.list();
  const kernel = (await a.status(KERNEL)).c['polls']!;
  // As a user types it, with the argument order of socat's manual.
  for (const [line, reply] of [
    ['stop source/procfs/memory', 'error: "stop" takes no argument; did you mean "control source/procfs/memory stop"?'],
    ['shutdown source/procfs/memory', 'error: "shutdown" takes no argument; did you mean "control source/procfs/memory stop"?'],
    ['stop output/csv/*', 'error: "stop" takes no argument; did you mean "control output/csv/* stop"?'],
    ['stop now', 'error: "stop" takes no argument, got: now; "stop" alone shuts the agent down, "control PATTERN stop" stops elements'],
  ]) {
    assert.deepEqual(await shell(`echo "${line}" | socat -t 10 - UNIX-CONNECT:./${SOCKET}`, a.dir), { code: 0, stdout: `${reply}\n` }, line);
  }
  // Alive, nothing changed, still measuring.
  assert.equal(a.agent.child.exitCode, null, 'the agent process is alive');
  assert.ok(existsSync(join(a.dir, SOCKET)));
  assert.deepEqual(await a.list(), before);
  await heartbeats(a, 3);
  assert.ok((await a.status(KERNEL)).c['polls']! >= kernel + 3);
  assert.ok(!a.agent.output().includes('shutting down'), 'no shutdown began');
  // The same words through the CLI: exit 1, the agent still there.
  const cli = await runAgentToEnd(['control', '--socket', SOCKET, 'stop', MEMORY], { cwd: a.dir });
  assert.deepEqual(cli, { code: 1, output: `error: "stop" takes no argument; did you mean "control ${MEMORY} stop"?\n` });
  assert.deepEqual(await a.list(), before);
  // And what was meant works.
  await a.ok(`control ${MEMORY} stop`, `ok stopped 1 element: ${MEMORY}`);
  assert.equal((await a.status(MEMORY)).state, 'stopped');
  assert.equal(a.agent.child.exitCode, null, 'the agent process is alive');
});

test('the Rust documentation\'s plugin-NAME patterns work as written; the replies name the real elements', async (t) => {
  const a = await startControlled(t, { exclude: [] });
  await a.ok('control source/plugin-procfs/memory pause', `ok paused 1 element: ${MEMORY}`);
  assert.equal((await a.status(MEMORY)).state, 'paused');
  assert.deepEqual((await a.send('list source/plugin-procfs/*')).lines, [`${KERNEL} running 50ms`, `${MEMORY} paused 100ms`, 'ok 2 elements']);
  await a.ok('control source/plugin-procfs/memory resume', `ok resumed 1 element: ${MEMORY}`);
  await a.ok('control transform/plugin-filter/* disable', `ok paused 1 element: ${FILTER}`);
  await a.ok('control */plugin-*/* enable', `ok resumed 4 elements: ${KERNEL}, ${MEMORY}, ${FILTER}, ${CSV_OUT}`);
  await a.ok('control output/plugin-csv/csv trigger-now', 'error: trigger-now applies to sources only; output/plugin-csv/csv is an output');
  await a.ok('control source/plugin-procfz/memory pause', 'error: pattern "source/plugin-procfz/memory" matches no element; did you mean source/procfs/memory?');
  assert.equal((await a.status(MEMORY)).state, 'running');
});

test('status on the real agent: an aligned table for people, one JSON object per element with --json', async (t) => {
  const a = await startControlled(t, { exclude: [] });
  await waitFor(() => a.rows(MEM_ROW) >= 2, { what: '2 mem_total rows' });
  const table = await a.send('status');
  assert.equal(table.status, 'ok');
  const [header, ...rest] = table.lines;
  assert.equal(
    header,
    'element                  kind       state    period  thread  polls  points_in  points_out  batches_in  batches_out  missed_ticks  backlog_points  dropped_backlog  dropped_rejected  collapsed  dropped_crash  retries  errors  restarts',
  );
  assert.equal(rest.at(-1), 'ok 4 elements');
  const rows = rest.slice(0, -1);
  assert.deepEqual(rows.map((r) => r.split(/ +/).slice(0, 5)), [
    [KERNEL, 'source', 'running', '50ms', 'own'],
    [MEMORY, 'source', 'running', '100ms', 'own'],
    [FILTER, 'transform', 'running', '-', 'own'],
    [CSV_OUT, 'output', 'running', '-', 'own'],
  ]);
  for (const row of rows) assert.equal(row.length <= header!.length, true, `no row is wider than the header: ${row}`);
  // A source has no points_in, a transform no polls, a source and a transform no backlog.
  const cell = (row: string, column: string): string => {
    const end = header!.indexOf(column) + column.length;
    return row.slice(0, end).split(' ').at(-1)!;
  };
  assert.equal(cell(rows[1]!, 'points_in'), '-');
  assert.match(cell(rows[1]!, 'polls'), /^[1-9]\d*$/);
  assert.equal(cell(rows[2]!, 'polls'), '-');
  assert.equal(cell(rows[2]!, 'backlog_points'), '-');
  assert.equal(cell(rows[3]!, 'backlog_points'), '0');

  const json = await a.send('status --json');
  assert.equal(json.lines.at(-1), 'ok 4 elements');
  const entries = json.lines.slice(0, -1).map((l) => JSON.parse(l) as { name: string; kind: string; counters: Record<string, number> });
  assert.deepEqual(entries.map((e) => e.name), [KERNEL, MEMORY, FILTER, CSV_OUT]);
  assert.deepEqual(Object.keys(entries[1]!.counters), ['polls', 'points_out', 'batches_out', 'missed_ticks', 'errors', 'restarts']);
  assert.deepEqual(Object.keys(entries[3]!.counters), ['points_in', 'points_out', 'batches_in', 'batches_out', 'backlog_points', 'dropped_backlog', 'dropped_rejected', 'collapsed', 'dropped_crash', 'retries', 'errors', 'restarts']);

  // Through the CLI, --json is passed on.
  const cli = await runAgentToEnd(['--config', 'c.toml', 'control', 'status', MEMORY, '--json'], { cwd: a.dir });
  assert.equal(cli.code, 0, cli.output);
  const [line, ok] = cli.output.trimEnd().split('\n');
  assert.equal((JSON.parse(line!) as { name: string }).name, MEMORY);
  assert.equal(ok, 'ok 1 element');
});

test('the CLI warns when the shell expanded an unquoted * into file names, and says to quote it', async (t) => {
  const a = await startControlled(t);
  await waitFor(() => existsSync(a.csv), { what: 'out.csv' });
  const before = await a.list();
  const cli = `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN_JS)} --config c.toml control`;
  // The directory holds c.toml, the socket, out.csv (and what else the csv output keeps beside it): an
  // unquoted * becomes those words.
  const files = readdirSync(a.dir).filter((n) => !n.startsWith('.'));
  assert.ok(['alumet-control.sock', 'c.toml', 'out.csv'].every((f) => files.includes(f)) && files.length <= 4, files.join(' '));
  const expanded = await shellOutput(`${cli} control * pause`, a.dir);
  assert.equal(expanded.code, 1, expanded.stderr);
  assert.match(expanded.stdout, /^error: invalid element kind "alumet-control\.sock"/);
  assert.match(
    expanded.stderr,
    /^warning: ("[^"]+", )*"[^"]+" and "[^"]+" are files in this directory, not an element pattern: your shell replaced a \* with the names of the files here\nwarning: quote the pattern so that the agent gets it as typed: alumet-agent control control '\*' pause\n$/,
  );
  for (const f of files) assert.ok(expanded.stderr.includes(`"${f}"`), `the warning names ${f}`);
  assert.deepEqual(await a.list(), before, 'nothing was paused');
  // `list c.t*`: one file.
  const one = await shellOutput(`${cli} list c.t*`, a.dir);
  assert.match(one.stderr, /^warning: "c\.toml" is a file in this directory, not an element pattern: your shell probably expanded a \* of the pattern/);
  assert.match(one.stderr, /alumet-agent control list 'PATTERN'\n$/);
  // Quoted, as the warning says: no warning, and it works.
  const quoted = await shellOutput(`${cli} control '*' pause`, a.dir);
  assert.deepEqual(quoted, { code: 0, stdout: `ok paused 3 elements: ${KERNEL}, ${MEMORY}, ${CSV_OUT}\n`, stderr: '' });
  const plain = await shellOutput(`${cli} list source`, a.dir);
  assert.deepEqual(plain, { code: 0, stdout: `${KERNEL} paused 50ms\n${MEMORY} paused 100ms\nok 2 elements\n`, stderr: '' });
});

test('50 clients at once each get the complete list', async (t) => {
  const a = await startControlled(t, { exclude: [] });
  const expected = await a.list();
  assert.equal(expected.length, 5);
  const replies = await Promise.all(Array.from({ length: 50 }, () => a.send('list')));
  for (const r of replies) assert.deepEqual(r.lines, expected);
});

test('bad input on the real agent: blank lines, invalid UTF-8, NUL, binary junk, a 70 KiB line; the agent goes on unchanged', async (t) => {
  const a = await startControlled(t);
  const socket = join(a.dir, SOCKET);
  const before = await a.list();
  const kernel = (await a.status(KERNEL)).c['polls']!;

  const lines = await rawExchange(
    socket,
    Buffer.concat([
      Buffer.from('\n  \t\n\r\n'),
      Buffer.from([0x63, 0x6f, 0xff, 0xfe, 0x0a]),
      Buffer.from('list\0source\n'),
      Buffer.from([0x00, 0x01, 0x02, 0x80, 0x90, 0x0a]),
      Buffer.from('list source\n'),
    ]),
  );
  assert.equal(lines.length, 6, JSON.stringify(lines));
  assert.equal(lines[0], 'error: the line is not valid UTF-8; commands are UTF-8 text, one per line');
  assert.match(lines[1]!, /^error: the line contains the control character U\+0000 at column 5/);
  assert.match(lines[2]!, /^error: /);
  assert.deepEqual(lines.slice(3), [`${KERNEL} running 50ms`, `${MEMORY} running 100ms`, 'ok 2 elements']);

  const long = await rawExchange(socket, Buffer.concat([Buffer.from(`control ${MEMORY} pause `), Buffer.alloc(70 * 1024, 'a'), Buffer.from('\nlist\n')]));
  assert.deepEqual(long, ['error: line too long (limit 65536 bytes); closing the connection']);

  assert.deepEqual(await a.list(), before, 'no element changed state');
  await waitFor(async () => (await a.status(KERNEL)).c['polls']! > kernel + 5, { what: 'the kernel source to keep polling' });
  a.agent.kill('SIGTERM');
  assert.equal(await a.agent.exited, 0);
});

// ---- the control path on a supervisor with fixture elements ----
// What the shipped plugins cannot show, because their polls and writes are synchronous and quick: a request
// that arrives while a poll is in progress, and an output too busy to read its ports at once.

const fixture = (name: string): string => new URL(`./fixtures/${name}.js`, import.meta.url).href;

interface FixtureAgent {
  readonly dir: string;
  readonly supervisor: Supervisor;
  send(line: string): Promise<ControlReply>;
  counters(name: string): Readonly<Record<string, number>>;
}

/** A supervisor running `decls` behind a real control socket, as the agent wires them. */
async function startFixtureAgent(t: TestContext, decls: (metric: MetricHandle, dir: string) => ElementDecl[]): Promise<FixtureAgent> {
  const dir = tempDir('alumet-ctl-');
  const { supervisor, registry, metric } = pipeline({ restart_max: 0, pool_threads: 1 });
  const socket = join(dir, 'ctl.sock');
  // No agent here: `shutdown` stops the pipeline alone.
  const target = controlTarget(supervisor, () => void supervisor.stopAll());
  const server = new SocketServer({ path: socket, dispatcher: new ControlDispatcher(target) });
  // One hook, in this order: the fixture outputs write into `dir` until the pipeline has stopped.
  t.after(async () => {
    await server.close();
    await supervisor.stopAll();
    rmrf(dir);
  });
  await supervisor.start(decls(metric, dir), registry.all());
  await server.start();
  return {
    dir,
    supervisor,
    send: (line) => sendControlLine(socket, line, 10_000),
    counters(name) {
      const e = supervisor.elements().find((x) => x.name === name);
      assert.ok(e, `element ${name} exists`);
      return e.counters;
    },
  };
}

const fixtureSource = (element: string, module: string, config: object, pollMs: number, flushMs?: number): ElementDecl => ({
  kind: 'source',
  plugin: 'fixture',
  element,
  moduleUrl: fixture(module),
  config,
  pollNs: BigInt(pollMs) * 1_000_000n,
  ...(flushMs === undefined ? {} : { flushNs: BigInt(flushMs) * 1_000_000n }),
});

const sumLines = (path: string): number =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).reduce((n, l) => n + Number(l), 0) : 0;

test('pause and set-period that arrive during an asynchronous poll answer once it is over: after the ok, no poll', async (t) => {
  // Each poll of `slow` takes 100 ms and a new one starts at once, so a request almost always finds one in progress.
  const a = await startFixtureAgent(t, (metric, dir) => [
    fixtureSource('slow', 'slow-source', { metric, pollMs: 100 }, 1),
    fixtureSource('steady', 'counting-source', { metric, points: 1 }, 5),
    { kind: 'output', plugin: 'fixture', element: 'o', moduleUrl: fixture('file-output'), config: { path: join(dir, 'o.txt') } },
  ]);
  const SLOW = 'source/fixture/slow';
  const polls = (name: string): number => a.counters(name)['polls']!;
  /** The steady source polls 40 more times (200 ms at 5 ms): two slow polls' worth of time goes by. */
  const timePasses = async (): Promise<void> => {
    const start = polls('source/fixture/steady');
    await waitFor(() => polls('source/fixture/steady') >= start + 40, { what: '40 more steady polls' });
  };
  for (const [request, reply, undo] of [
    ['pause', `ok paused 1 element: ${SLOW}`, 'resume'],
    ['set-period 1h', `ok set the period to 1h on 1 element: ${SLOW}`, 'set-period 1ms'],
  ] as const) {
    for (let round = 0; round < 3; round++) {
      const before = polls(SLOW);
      await waitFor(() => polls(SLOW) >= before + 1, { what: 'a slow poll to end (the next one is in progress)' });
      assert.deepEqual((await a.send(`control ${SLOW} ${request}`)).lines, [reply]);
      const after = polls(SLOW);
      await timePasses();
      assert.equal(polls(SLOW), after, `no poll of ${SLOW} ends after the ok of ${request}`);
      assert.equal((await a.send(`control ${SLOW} ${undo}`)).status, 'ok');
    }
  }
});

test('stop on a source whose output is busy: its final flush still reaches the output, every time', async (t) => {
  for (let round = 0; round < 3; round++) {
    // `late` flushes once a second, so its stop has a large final batch to send; `busy` takes 20 ms per write
    // and `fast` keeps it saturated, so the final batch and the stop's aftermath reach its worker together.
    const a = await startFixtureAgent(t, (metric, dir) => [
      fixtureSource('fast', 'counting-source', { metric, points: 10 }, 2),
      fixtureSource('late', 'counting-source', { metric, points: 10 }, 1, 1000),
      { kind: 'output', plugin: 'fixture', element: 'busy', moduleUrl: fixture('busy-output'), config: { path: join(dir, 'o.txt'), busyMs: 20 } },
    ]);
    await waitFor(() => a.counters('output/fixture/busy')['points_out']! > 0 && a.counters('source/fixture/late')['polls']! >= 100, {
      what: 'the output writing and 100 polls of late',
    });
    assert.deepEqual((await a.send('control source/fixture/late stop')).lines, ['ok stopped 1 element: source/fixture/late']);
    const late = a.counters('source/fixture/late');
    assert.equal(late['points_out'], late['polls']! * 10, 'the final flush sent every polled point');
    await a.supervisor.stopAll();
    const produced = a.counters('source/fixture/fast')['points_out']! + late['points_out']!;
    assert.equal(a.counters('output/fixture/busy')['points_in'], produced, `round ${round}: the output received every point`);
    assert.equal(sumLines(join(a.dir, 'o.txt')), produced, `round ${round}: the output wrote every point`);
  }
});

test('pause that arrives during an asynchronous write answers once it is over: after the ok, nothing is written', async (t) => {
  // Each write takes 100 ms and a batch comes every 50 ms, so a request almost always finds a write in progress.
  const a = await startFixtureAgent(t, (metric, dir) => [
    fixtureSource('steady', 'counting-source', { metric, points: 1 }, 5, 50),
    { kind: 'output', plugin: 'fixture', element: 'slow', moduleUrl: fixture('file-output'), config: { path: join(dir, 'o.txt'), delayMs: 100 } },
  ]);
  const OUT = 'output/fixture/slow';
  const file = join(a.dir, 'o.txt');
  for (let round = 0; round < 3; round++) {
    const before = a.counters(OUT)['batches_out']!;
    await waitFor(() => a.counters(OUT)['batches_out']! >= before + 1, { what: 'a write to end (the next one is in progress)' });
    assert.deepEqual((await a.send(`control ${OUT} pause`)).lines, [`ok paused 1 element: ${OUT}`]);
    const written = a.counters(OUT)['points_out']!;
    const polls = a.counters('source/fixture/steady')['polls']!;
    await waitFor(() => a.counters('source/fixture/steady')['polls']! >= polls + 40, { what: '40 more polls (two writes of time)' });
    assert.equal(a.counters(OUT)['points_out'], written, `round ${round}: no write ends after the ok`);
    assert.equal(sumLines(file), written, `round ${round}: the file holds what points_out says`);
    assert.ok(a.counters(OUT)['backlog_points']! > 0, 'the points that came meanwhile are held');
    assert.equal((await a.send(`control ${OUT} resume`)).status, 'ok');
  }
  await a.supervisor.stopAll();
  assert.equal(sumLines(file), a.counters('source/fixture/steady')['points_out'], 'the backlog was written after each resume');
});
