// A start-up that fails destroys nothing: with the real agent process, a second agent in the same directory,
// a bad or occupied socket path, a bad output directory, a plugin or an element failing at start each exit 1
// with one clear error, and every file found in the directory is exactly as it was. The output file's lock
// keeps a second agent off a file the first one writes, and a lock left by a crash is taken over.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertCompleteCsv, balance, csvRows, rmrf, runAgentToEnd, startAgent, tempDir, waitFor } from './helpers/agent-process.js';

interface FileState {
  readonly content: Buffer;
  readonly mtimeMs: number;
  readonly mode: number;
}

/** Every regular file under `dir` (recursively) with its bytes, modification time and mode. */
function snapshot(dir: string, prefix = ''): Map<string, FileState> {
  const files = new Map<string, FileState>();
  for (const name of readdirSync(join(dir, prefix))) {
    const rel = join(prefix, name);
    const st = lstatSync(join(dir, rel));
    if (st.isDirectory()) for (const [k, v] of snapshot(dir, rel)) files.set(k, v);
    else files.set(rel, { content: readFileSync(join(dir, rel)), mtimeMs: st.mtimeMs, mode: st.mode });
  }
  return files;
}

function assertUnchanged(dir: string, before: Map<string, FileState>, output: string): void {
  const after = snapshot(dir);
  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), `no file created or removed; output: ${output.slice(-1500)}`);
  for (const [name, was] of before) {
    const now = after.get(name)!;
    assert.ok(now.content.equals(was.content), `${name} has the same bytes`);
    assert.equal(now.mtimeMs, was.mtimeMs, `${name} was not written`);
    assert.equal(now.mode, was.mode, `${name} has the same mode`);
  }
}

/** One `error: ` line matching `pattern`, and no stack trace. */
function assertOneError(output: string, pattern: RegExp): void {
  const errors = output.split('\n').filter((l) => l.startsWith('error: '));
  assert.equal(errors.length, 1, `one error line: ${output.slice(-1500)}`);
  assert.match(errors[0]!, pattern);
  assert.doesNotMatch(output, /\n\s+at .+:\d+:\d+|internal error/, 'no stack trace');
}

/** The file holds complete CSV lines, no NUL byte, and exactly `written` rows. */
function assertIntactCsv(path: string, written: number): void {
  const bytes = readFileSync(path);
  assert.equal(bytes.indexOf(0), -1, 'no NUL byte in the file');
  assertCompleteCsv(path);
  assert.equal(csvRows(path).length, written, 'one row per point written');
}

const PRECIOUS = 'metric;timestamp;value\nprecious;2026-01-01T00:00:00Z;42\n';

test('a second agent in the same directory exits 1 naming the output file in use, and the first agent loses nothing', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  // The default configuration, generated in an empty directory, as a new user runs it.
  const first = startAgent(['--config-override', 'plugins.procfs.memory.poll_interval = "100ms"'], { cwd: dir });
  t.after(() => first.kill('SIGKILL'));
  await first.waitForLog('agent is ready');
  const csv = join(dir, 'alumet-output.csv');
  await waitFor(() => csvRows(csv).length >= 20, { what: 'the first agent writes rows', timeout: 30_000 });

  const second = await runAgentToEnd([], { cwd: dir });
  assert.equal(second.code, 1, second.output);
  assertOneError(second.output, new RegExp(`"alumet-output\\.csv" is being written by another alumet agent \\(PID ${first.child.pid}\\)`));

  // The first agent keeps writing at its own pace into its own file.
  const rowsThen = csvRows(csv).length;
  await waitFor(() => csvRows(csv).length > rowsThen + 10, { what: 'the first agent goes on writing', timeout: 30_000 });
  first.kill('SIGTERM');
  assert.equal(await first.exited, 0, first.output().slice(-1500));
  const { produced, written } = balance(first.output());
  assert.equal(written, produced, 'the first agent wrote every point it produced');
  assertIntactCsv(csv, written);
});

test('a second agent with its own socket but the same output file is refused, naming the file and the first agent\'s PID', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const config = (socket: string): string =>
    `[plugins.synthetic]\npoll_interval = "10ms"\n[plugins.csv]\noutput_path = "out.csv"\n[plugins.socket-control]\nsocket_path = "${socket}"\n`;
  writeFileSync(join(dir, 'a.toml'), config('a.sock'));
  writeFileSync(join(dir, 'b.toml'), config('b.sock'));
  const first = startAgent(['--config', 'a.toml'], { cwd: dir });
  t.after(() => first.kill('SIGKILL'));
  await first.waitForLog('agent is ready');
  const csv = join(dir, 'out.csv');
  await waitFor(() => csvRows(csv).length >= 50, { what: 'the first agent writes rows' });

  const second = await runAgentToEnd(['--config', 'b.toml'], { cwd: dir });
  assert.equal(second.code, 1, second.output);
  assertOneError(second.output, new RegExp(`plugins\\.csv\\.output_path: "out\\.csv" is being written by another alumet agent \\(PID ${first.child.pid}\\)`));
  assert.ok(!readdirSync(dir).includes('b.sock'), 'the refused agent removed its socket');

  const rowsThen = csvRows(csv).length;
  await waitFor(() => csvRows(csv).length > rowsThen + 50, { what: 'the first agent goes on writing' });
  first.kill('SIGTERM');
  assert.equal(await first.exited, 0, first.output().slice(-1500));
  const { produced, written } = balance(first.output());
  assert.equal(written, produced);
  assertIntactCsv(csv, written);
  assert.ok(!readdirSync(dir).includes('out.csv.lock'), 'the lock is removed at exit');
});

test('every start-up failure leaves every file it found exactly as it was', async (t) => {
  const csvAndSocket = (socket: string, output = 'alumet-output.csv'): string =>
    `[plugins.csv]\noutput_path = "${output}"\n[plugins.socket-control]\nsocket_path = "${socket}"\n`;
  const cases: Array<{ what: string; setup: (dir: string) => void; config: string; error: RegExp }> = [
    {
      what: 'a socket path in a directory that does not exist',
      setup: () => {},
      config: `[plugins.synthetic]\n${csvAndSocket('no-such-dir/s.sock')}`,
      error: /socket-control: .*no-such-dir/,
    },
    {
      what: 'a socket path too long for a Unix socket',
      setup: () => {},
      config: `[plugins.synthetic]\n${csvAndSocket(`${'d'.repeat(120)}.sock`)}`,
      error: /socket_path: 125 bytes is too long for a Unix socket/,
    },
    {
      what: 'a socket path occupied by a regular file',
      setup: (dir) => writeFileSync(join(dir, 's.sock'), 'not a socket\n'),
      config: `[plugins.synthetic]\n${csvAndSocket('s.sock')}`,
      error: /s\.sock exists and is not a socket/,
    },
    {
      what: 'an output directory that does not exist',
      setup: () => {},
      config: `[plugins.synthetic]\n${csvAndSocket('s.sock', 'missing/out.csv')}`,
      error: /plugins\.csv\.output_path: the directory of "missing\/out\.csv" does not exist/,
    },
    {
      what: 'an output directory that is a regular file',
      setup: (dir) => writeFileSync(join(dir, 'afile'), 'a file, not a directory\n'),
      config: `[plugins.synthetic]\n${csvAndSocket('s.sock', 'afile/out.csv')}`,
      error: /plugins\.csv\.output_path: .*afile \(the directory of "afile\/out\.csv"\) is not a directory/,
    },
    {
      what: 'an output path that is a directory',
      setup: (dir) => mkdirSync(join(dir, 'adir')),
      config: `[plugins.synthetic]\n${csvAndSocket('s.sock', 'adir')}`,
      error: /plugins\.csv\.output_path: "adir" is a directory/,
    },
    {
      what: 'a plugin failing at start (after the csv output claimed its file)',
      setup: () => {},
      config: `${csvAndSocket('s.sock')}[plugins.cgroups]\nroot = "no-such-cgroupfs"\n`,
      error: /plugin cgroups v[\d.]+ failed to start: root "no-such-cgroupfs" is not a directory/,
    },
    {
      what: 'an element failing as its worker creates it (after the socket was bound)',
      setup: (dir) => mkdirSync(join(dir, 'fake-proc')),
      config: `[plugins.procfs]\nroot = "fake-proc"\n[plugins.procfs.processes]\nenabled = false\n${csvAndSocket('s.sock')}`,
      error: /pipeline failed to start: source\/procfs\/\w+ failed to start: fake-proc\/[\w/]+ does not exist/,
    },
  ];
  for (const c of cases) {
    const dir = tempDir();
    t.after(() => rmrf(dir));
    writeFileSync(join(dir, 'alumet-output.csv'), PRECIOUS);
    writeFileSync(join(dir, 'c.toml'), c.config);
    c.setup(dir);
    const before = snapshot(dir);
    const { code, output } = await runAgentToEnd(['--config', 'c.toml'], { cwd: dir });
    assert.equal(code, 1, `${c.what}: exit 1; output: ${output.slice(-1500)}`);
    assertOneError(output, c.error);
    assertUnchanged(dir, before, output);
  }
});

test('a lock left by an agent that was killed is taken over; a lock naming a live process is respected', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  writeFileSync(join(dir, 'c.toml'), '[plugins.synthetic]\npoll_interval = "20ms"\n[plugins.csv]\noutput_path = "out.csv"\n');
  const killed = startAgent(['--config', 'c.toml'], { cwd: dir });
  await killed.waitForLog('agent is ready');
  await waitFor(() => csvRows(join(dir, 'out.csv')).length > 0, { what: 'rows' });
  killed.kill('SIGKILL');
  await killed.exited;
  assert.equal(readFileSync(join(dir, 'out.csv.lock'), 'utf8').split('\n')[0], String(killed.child.pid), 'SIGKILL leaves the lock behind');

  const next = startAgent(['--config', 'c.toml'], { cwd: dir });
  t.after(() => next.kill('SIGKILL'));
  await next.waitForLog('agent is ready');
  assert.match(next.output(), new RegExp(`removing a stale lock left by PID ${killed.child.pid}, which is no longer running`));
  next.kill('SIGTERM');
  assert.equal(await next.exited, 0);

  // This test runner is a live process: a lock naming it (with its own start time) keeps the agent off.
  const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
  const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  writeFileSync(join(dir, 'out.csv.lock'), `${process.pid}\n${startTime}\nalumet-agent\n`);
  const before = snapshot(dir);
  const refused = await runAgentToEnd(['--config', 'c.toml'], { cwd: dir });
  assert.equal(refused.code, 1, refused.output);
  assertOneError(refused.output, new RegExp(`is being written by another alumet agent \\(PID ${process.pid}\\)`));
  assertUnchanged(dir, before, refused.output);

  // The same PID with another start time is a reused PID: the lock is stale.
  writeFileSync(join(dir, 'out.csv.lock'), `${process.pid}\n1\nalumet-agent\n`);
  const reused = await runAgentToEnd(['--config', 'c.toml', 'exec', 'true'], { cwd: dir });
  assert.equal(reused.code, 0, reused.output);
  assert.match(reused.output, /removing a stale lock/);
  assert.ok(!readdirSync(dir).includes('out.csv.lock'), 'the lock is removed at exit');
});
