// Socket safety with the real agent process: mode 0600 by default, nothing at socket_path that is not a
// stale socket is ever deleted or followed, a live agent on the path is detected, and the socket file goes
// away on every kind of exit but SIGKILL, whose leftover the next start replaces.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { sendControlLine } from '../src/control/client.js';
import { rmrf, runAgentToEnd, startAgent, tempDir, waitFor, type AgentProcess } from './helpers/agent-process.js';

const SOCKET = 's.sock';

/** A small agent config in `dir` with the control socket at `s.sock` (plus extra socket-control keys). */
function writeConfig(dir: string, socketExtra = ''): void {
  writeFileSync(
    join(dir, 'c.toml'),
    `[plugins.synthetic]\npoll_interval = "20ms"\n[plugins.csv]\noutput_path = "out.csv"\n[plugins.socket-control]\nsocket_path = "${SOCKET}"\n${socketExtra}`,
  );
}

async function startReady(dir: string, args: string[] = []): Promise<AgentProcess> {
  const agent = startAgent(['--config', 'c.toml', ...args], { cwd: dir });
  await agent.waitForLog('agent is ready');
  return agent;
}

function modeOf(path: string): number {
  return lstatSync(path).mode & 0o777;
}

/** One error line on stderr and no stack trace: what a start-up failure must look like. */
function assertOneLineError(output: string, pattern: RegExp): void {
  const errors = output.split('\n').filter((l) => l.startsWith('error: '));
  assert.equal(errors.length, 1, `one error line: ${output.slice(-1500)}`);
  assert.match(errors[0]!, pattern);
  assert.doesNotMatch(output, /\n\s+at .+:\d+:\d+|internal error/, 'no stack trace');
}

test('the socket is created with mode 0600 by default, and with socket_mode when set', async (t) => {
  for (const [extra, mode] of [['', 0o600], ['socket_mode = "660"\n', 0o660], ['socket_mode = 0o640\n', 0o640]] as const) {
    const dir = tempDir();
    t.after(() => rmrf(dir));
    writeConfig(dir, extra);
    const agent = await startReady(dir);
    t.after(() => agent.kill('SIGKILL'));
    const st = lstatSync(join(dir, SOCKET));
    assert.ok(st.isSocket());
    assert.equal(modeOf(join(dir, SOCKET)), mode, `mode with ${JSON.stringify(extra)}: 0o${modeOf(join(dir, SOCKET)).toString(8)}`);
    assert.equal((await sendControlLine(join(dir, SOCKET), 'list', 10_000)).status, 'ok');
    agent.kill('SIGTERM');
    assert.equal(await agent.exited, 0);
  }
});

test('a regular file, a directory or a symbolic link at socket_path is never deleted or followed: start-up exits 1', async (t) => {
  const cases: Array<{ what: string; make: (dir: string) => () => void; error: RegExp }> = [
    {
      what: 'a regular file',
      make: (dir) => {
        writeFileSync(join(dir, SOCKET), 'precious data\n');
        return () => assert.equal(readFileSync(join(dir, SOCKET), 'utf8'), 'precious data\n');
      },
      error: /s\.sock exists and is not a socket \(it is a regular file\); not deleting it/,
    },
    {
      what: 'a directory',
      make: (dir) => {
        mkdirSync(join(dir, SOCKET));
        writeFileSync(join(dir, SOCKET, 'inside'), 'x');
        return () => assert.equal(readFileSync(join(dir, SOCKET, 'inside'), 'utf8'), 'x');
      },
      error: /is a directory/,
    },
    {
      what: 'a symbolic link to a file',
      make: (dir) => {
        writeFileSync(join(dir, 'target'), 'target data');
        symlinkSync(join(dir, 'target'), join(dir, SOCKET));
        return () => {
          assert.ok(lstatSync(join(dir, SOCKET)).isSymbolicLink());
          assert.equal(readFileSync(join(dir, 'target'), 'utf8'), 'target data');
        };
      },
      error: /is a symbolic link/,
    },
    {
      what: 'a dangling symbolic link',
      make: (dir) => {
        symlinkSync(join(dir, 'nowhere'), join(dir, SOCKET));
        return () => {
          assert.equal(readlinkSync(join(dir, SOCKET)), join(dir, 'nowhere'));
          assert.ok(!existsSync(join(dir, 'nowhere')), 'nothing was created through the link');
        };
      },
      error: /is a symbolic link/,
    },
  ];
  for (const c of cases) {
    const dir = tempDir();
    t.after(() => rmrf(dir));
    writeConfig(dir);
    const intact = c.make(dir);
    const { code, output } = await runAgentToEnd(['--config', 'c.toml'], { cwd: dir });
    assert.equal(code, 1, `${c.what}: ${output.slice(-1000)}`);
    assertOneLineError(output, c.error);
    assert.match(output, /error: socket-control: /);
    intact();
  }
});

test('a symbolic link to a stale socket is not followed: the stale socket behind it stays', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  writeConfig(dir);
  // A socket file with nothing listening (as a SIGKILL leaves one), reached through a link.
  const real = join(dir, 'real.sock');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(real, resolve));
  const stale = join(dir, 'stale.sock');
  linkSync(real, stale);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  symlinkSync(stale, join(dir, SOCKET));
  const { code, output } = await runAgentToEnd(['--config', 'c.toml'], { cwd: dir });
  assert.equal(code, 1, output);
  assertOneLineError(output, /is a symbolic link/);
  assert.ok(lstatSync(stale).isSocket(), 'the stale socket behind the link was not removed');
  assert.ok(lstatSync(join(dir, SOCKET)).isSymbolicLink());
});

test('a second agent on the same socket_path exits 1; the first keeps working', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  writeConfig(dir);
  const first = await startReady(dir);
  t.after(() => first.kill('SIGKILL'));
  // The second writes its csv elsewhere, so only the socket is shared.
  const { code, output } = await runAgentToEnd(['--config', 'c.toml', '--output-file', 'second.csv'], { cwd: dir });
  assert.equal(code, 1, output);
  assertOneLineError(output, /another agent is listening on s\.sock; stop it or set another socket_path/);
  assert.ok(lstatSync(join(dir, SOCKET)).isSocket(), 'the first agent keeps its socket');
  const reply = await sendControlLine(join(dir, SOCKET), 'list', 10_000);
  assert.equal(reply.status, 'ok');
  assert.ok(reply.lines.includes('source/synthetic/synthetic-0 running 20ms'), reply.lines.join('\n'));
  first.kill('SIGTERM');
  assert.equal(await first.exited, 0);
  assert.ok(!existsSync(join(dir, SOCKET)));
});

test('the socket file is removed on every kind of exit: shutdown, SIGTERM, SIGINT, a second signal, a failure after start-up', async (t) => {
  const exits: Array<{ how: string; run: (agent: AgentProcess, dir: string) => Promise<void>; codes: number[] }> = [
    { how: 'the shutdown command', run: async (_a, dir) => void (await sendControlLine(join(dir, SOCKET), 'shutdown', 10_000)), codes: [0] },
    { how: 'SIGTERM', run: async (a) => a.kill('SIGTERM'), codes: [0] },
    { how: 'SIGINT', run: async (a) => a.kill('SIGINT'), codes: [0] },
    {
      // The second signal forces the exit; if the first shutdown wins the race, the exit is clean.
      how: 'SIGTERM twice',
      run: async (a) => {
        a.kill('SIGTERM');
        a.kill('SIGTERM');
      },
      codes: [0, 143],
    },
  ];
  for (const e of exits) {
    const dir = tempDir();
    t.after(() => rmrf(dir));
    writeConfig(dir);
    const agent = await startReady(dir);
    t.after(() => agent.kill('SIGKILL'));
    assert.ok(lstatSync(join(dir, SOCKET)).isSocket());
    await e.run(agent, dir);
    const code = await agent.exited;
    assert.ok(e.codes.includes(code), `${e.how}: exit code ${code}: ${agent.output().slice(-1000)}`);
    assert.ok(!existsSync(join(dir, SOCKET)), `${e.how}: the socket file is gone`);
  }
  // exec of a program that does not exist fails after the socket was bound: the agent stops, then exits 1.
  for (const args of [['exec', 'no-such-program-here'], ['watch', '999999999']]) {
    const dir = tempDir();
    t.after(() => rmrf(dir));
    writeConfig(dir);
    const { code, output } = await runAgentToEnd(['--config', 'c.toml', ...args], { cwd: dir });
    assert.equal(code, 1, output);
    assert.match(output, /agent is ready/);
    assert.match(output, /error: (cannot run 'no-such-program-here'|process 999999999 does not exist)/);
    assert.match(output, /point balance: produced=\d+; output\/csv\/csv: written=\d+/, 'the pipeline was shut down in order');
    assert.ok(!existsSync(join(dir, SOCKET)), `${args.join(' ')}: the socket file is gone`);
  }
});

test('SIGKILL leaves the socket file; the next start replaces the stale socket and serves on it', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  writeConfig(dir);
  const first = await startReady(dir);
  first.kill('SIGKILL');
  assert.equal(await first.exited, 137);
  assert.ok(lstatSync(join(dir, SOCKET)).isSocket(), 'SIGKILL leaves the socket file');
  const second = await startReady(dir);
  t.after(() => second.kill('SIGKILL'));
  assert.match(second.output(), /removed the stale socket s\.sock/);
  assert.equal(modeOf(join(dir, SOCKET)), 0o600);
  await waitFor(async () => (await sendControlLine(join(dir, SOCKET), 'list', 10_000)).status === 'ok', { what: 'the new agent to answer' });
  second.kill('SIGTERM');
  assert.equal(await second.exited, 0);
  assert.ok(!existsSync(join(dir, SOCKET)));
});
