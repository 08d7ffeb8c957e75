// `alumet-agent top` in a real terminal (tmux, 80×24): against a real agent it lists the elements with their
// rates, pauses, resumes and triggers the selected one (the agent's reply on screen, the new state in `list`),
// and q exits 0 with the terminal back in cooked mode; against a control server with 500 elements it scrolls
// and Ctrl-C exits the same way; without an agent, or without a terminal, it exits 2.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sendControlLine } from '../src/control/client.js';
import { ControlDispatcher } from '../src/control/dispatch.js';
import { SocketServer } from '../src/control/socket-server.js';
import { MAIN_JS, rmrf, runAgentToEnd, startAgent, tempDir, waitFor } from './helpers/agent-process.js';
import { FakeControlTarget, fakeElement } from './helpers/fake-control-target.js';
import { startInTmux, type TerminalSession } from './helpers/tmux.js';

/**
 * Runs top in `dir`, its stderr to top.err; once it exits, its exit code goes to top.code and the terminal's
 * modes to stty.txt, each written whole (renamed into place), since the session ends right after.
 */
function startTop(t: TestContext, dir: string): TerminalSession {
  const top = `'${process.execPath}' '${MAIN_JS}' top --socket ctl.sock 2> top.err`;
  return startInTmux(t, dir, `cd '${dir}' && ${top}; echo $? > top.code.tmp && mv top.code.tmp top.code; stty -a > stty.tmp && mv stty.tmp stty.txt`);
}

async function waitForScreen(term: TerminalSession, what: string, check: (screen: string) => boolean): Promise<string> {
  let last = '';
  await waitFor(() => check((last = term.screen().join('\n'))), { timeout: 30_000, what, seen: () => `\n${last}` });
  return last;
}

/** top exited with `code` and left the terminal as it found it: line editing and echo back on. */
async function assertExitedCleanly(dir: string, code: number): Promise<void> {
  const file = join(dir, 'top.code');
  await waitFor(() => existsSync(file), { timeout: 20_000, what: 'top to exit' });
  assert.equal(readFileSync(file, 'utf8').trim(), String(code));
  await waitFor(() => existsSync(join(dir, 'stty.txt')), { what: 'stty -a after top' });
  const modes = readFileSync(join(dir, 'stty.txt'), 'utf8').split(/\s+/);
  assert.ok(modes.includes('icanon') && modes.includes('echo'), `the terminal is back in cooked mode: ${modes.join(' ')}`);
}

test('top lists a real agent’s elements with rates; p, r and t act on the selected one; q exits 0 and restores the terminal', async (t) => {
  const dir = tempDir('alumet-top-');
  t.after(() => rmrf(dir));
  const config = ['[plugins.synthetic]', 'poll_interval = "100ms"', 'points_per_poll = 20', 'sources = 3', '[plugins.csv]', 'output_path = "out.csv"', '[plugins.socket-control]', 'socket_path = "ctl.sock"', ''];
  writeFileSync(join(dir, 'alumet-config.toml'), config.join('\n'));
  const agent = startAgent(['--plugins', 'synthetic,csv,socket-control', 'run'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');
  const socket = join(dir, 'ctl.sock');

  const term = startTop(t, dir);
  // Every element, and a rate once two snapshots have come (csv's points in per second).
  const first = await waitForScreen(term, 'the elements and a rate', (s) => /csv\/csv +out running +- own +\d/.test(s));
  for (const name of ['synthetic/synthetic-0', 'synthetic/synthetic-1', 'synthetic/synthetic-2']) assert.match(first, new RegExp(`${name} +src running +100ms own`));
  assert.match(first, /ELEMENT +KND STATE +PERIOD THREAD +IN\/s +OUT\/s +ERR BACKLOG/);

  // Select synthetic-1 with the filter, then pause it.
  term.keys('/');
  term.text('synthetic-1');
  term.keys('Enter');
  await waitForScreen(term, 'the filter', (s) => s.includes('elements 1-1 of 1 (4 in all)'));
  term.keys('p');
  await waitForScreen(term, 'the agent’s reply to pause', (s) => s.includes('ok paused 1 element: source/synthetic/synthetic-1'));
  assert.deepEqual((await sendControlLine(socket, 'list source/synthetic/*', 5000)).lines.slice(0, 3), [
    'source/synthetic/synthetic-0 running 100ms',
    'source/synthetic/synthetic-1 paused 100ms',
    'source/synthetic/synthetic-2 running 100ms',
  ]);
  await waitForScreen(term, 'the paused state', (s) => /synthetic\/synthetic-1 +src paused/.test(s));

  term.keys('t');
  await waitForScreen(term, 'the reply to trigger-now', (s) => s.includes('ok triggered 1 element: source/synthetic/synthetic-1'));
  term.keys('r');
  await waitForScreen(term, 'the reply to resume', (s) => s.includes('ok resumed 1 element: source/synthetic/synthetic-1'));
  assert.equal((await sendControlLine(socket, 'list source/synthetic/synthetic-1', 5000)).lines[0], 'source/synthetic/synthetic-1 running 100ms');

  term.keys('q');
  await assertExitedCleanly(dir, 0);
});

test('top scrolls through 500 elements on 80×24, marks several for one command, and Ctrl-C exits 0 and restores the terminal', async (t) => {
  const dir = tempDir('alumet-top-');
  t.after(() => rmrf(dir));
  const elements = Array.from({ length: 500 }, (_, i) => fakeElement(`source/procfs/pid-${i + 1}`, { period: '10s', thread: 'pool-1', counters: { polls: i, points_out: 9 * i } }));
  const target = new FakeControlTarget([...elements, fakeElement('output/csv/csv', { thread: 'own', counters: { points_in: 5, points_out: 5, backlog_points: 0 } })]);
  const server = new SocketServer({ path: join(dir, 'ctl.sock'), dispatcher: new ControlDispatcher(target) });
  await server.start();
  t.after(() => server.close());

  const term = startTop(t, dir);
  const top = await waitForScreen(term, 'the first page', (s) => s.includes('elements 1-19 of 501'));
  assert.equal(term.screen().length, 24);
  assert.match(top, /procfs\/pid-1 +src running +10s pool-1/);
  assert.doesNotMatch(top, /pid-20 /, 'only what fits is drawn');

  term.keys('End');
  const bottom = await waitForScreen(term, 'the last page', (s) => s.includes('elements 483-501 of 501'));
  assert.match(bottom, /csv\/csv +out running/);
  assert.match(bottom, /procfs\/pid-500 +src/);
  assert.match(bottom.split('\n')[2]!, /ELEMENT/, 'the header stays at the top');

  // Mark pid-498 and pid-499 (space marks and moves down), then pause both.
  term.keys('Home');
  await waitForScreen(term, 'the first page again', (s) => s.includes('elements 1-19 of 501'));
  term.keys('/');
  term.text('pid-49');
  term.keys('Enter');
  await waitForScreen(term, 'the filter', (s) => s.includes('of 11 (501 in all)'));
  term.keys('End', 'Up', 'Space', 'Space', 'p');
  await waitForScreen(term, 'the summary of two replies', (s) => s.includes('pause on 2 elements: 2 ok, 0 error; last: ok paused 1 element'));
  assert.deepEqual(
    target.calls.map((c) => [c.names, c.action.type]),
    [[['source/procfs/pid-498'], 'pause'], [['source/procfs/pid-499'], 'pause']],
  );

  term.keys('C-c');
  await assertExitedCleanly(dir, 0);
});

test('top without an agent exits 2 with the client’s message, and outside a terminal exits 2 saying it needs one', async (t) => {
  const dir = tempDir('alumet-top-');
  t.after(() => rmrf(dir));
  startTop(t, dir);
  await assertExitedCleanly(dir, 2);
  assert.match(readFileSync(join(dir, 'top.err'), 'utf8'), /^error: no socket at ctl\.sock; is the agent running/);
  const piped = await runAgentToEnd(['top', '--socket', 'ctl.sock'], { cwd: dir });
  assert.equal(piped.code, 2);
  assert.match(piped.output, /^error: top draws on a terminal: run it in one/);
});
