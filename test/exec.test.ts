// `exec` and `watch` through the real binary: exit codes, arguments passed untouched, hints for programs
// that cannot run, and the process sources that follow the child.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csvRows, rmrf, runAgentToEnd, startAgent, tempDir } from './helpers/agent-process.js';

const base = (out: string): string[] => ['--plugins', 'procfs,csv', '--output-file', out, '--config', 'c.toml'];

test('exec true exits 0, exec false exits 1, and exec sh -c "exit 7" exits 7', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const out = join(dir, 'out.csv');
  assert.equal((await runAgentToEnd([...base(out), 'exec', 'true'], { cwd: dir })).code, 0);
  assert.equal((await runAgentToEnd([...base(out), 'exec', 'false'], { cwd: dir })).code, 1);
  const seven = await runAgentToEnd([...base(out), 'exec', 'sh', '-c', 'exit 7'], { cwd: dir });
  assert.equal(seven.code, 7, seven.output);
  assert.match(seven.output, /propagating failure exit code 7/);
  assert.equal((await runAgentToEnd([...base(out), 'exec', '--ignore-exit-code', 'false'], { cwd: dir })).code, 0);
});

test('everything after the program goes to the child, dashes included, with or without --', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const out = join(dir, 'out.csv');
  const script = join(dir, 'args.sh');
  writeFileSync(script, '#!/bin/sh\nprintf "%s|" "$@" > "$(dirname "$0")/args.txt"\n');
  chmodSync(script, 0o755);
  for (const prefix of [[], ['--']]) {
    const r = await runAgentToEnd([...base(out), 'exec', ...prefix, script, '--help', '-V', '--plugins', 'x'], { cwd: dir });
    assert.equal(r.code, 0, r.output);
    assert.equal(readFileSync(join(dir, 'args.txt'), 'utf8'), '--help|-V|--plugins|x|');
  }
});

test('exec polls every source just before the child starts and just after it ends', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const out = join(dir, 'out.csv');
  // A one-hour period: any memory row can only come from the triggered polls around the child.
  const r = await runAgentToEnd([...base(out), '--config-override', 'plugins.procfs.memory.poll_interval="1h"', 'exec', 'sleep', '0.2'], { cwd: dir });
  assert.equal(r.code, 0, r.output);
  const memTotal = csvRows(out).filter((row) => row[0] === 'mem_total_B');
  assert.ok(memTotal.length >= 2 && memTotal.length <= 3, `the first poll, the poll before and the poll after: ${memTotal.length} rows`);
});

test('a program that does not exist, or cannot be executed, gives a hint and exit 1, not a crash', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const out = join(dir, 'out.csv');
  const missing = await runAgentToEnd([...base(out), 'exec', 'no-such-program-xyz'], { cwd: dir });
  assert.equal(missing.code, 1);
  assert.match(missing.output, /cannot run 'no-such-program-xyz': program not found/);
  assert.doesNotMatch(missing.output, /internal error|\n\s+at /);

  writeFileSync(join(dir, 'myscript'), '#!/bin/sh\nexit 0\n');
  const near = await runAgentToEnd([...base(out), 'exec', 'myscrpt'], { cwd: dir });
  assert.match(near.output, /did you mean \.\/myscript\?/);

  const spaced = await runAgentToEnd([...base(out), 'exec', 'sleep 1'], { cwd: dir });
  assert.match(spaced.output, /without a shell/);

  writeFileSync(join(dir, 'notexec.sh'), '#!/bin/sh\nexit 0\n');
  chmodSync(join(dir, 'notexec.sh'), 0o644);
  const denied = await runAgentToEnd([...base(out), 'exec', './notexec.sh'], { cwd: dir });
  assert.equal(denied.code, 1);
  assert.match(denied.output, /permission denied; make it executable \(chmod \+x/);
});

test('watch follows a running process until it ends, then exits 0', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const out = join(dir, 'out.csv');
  const sleeper = spawn('sleep', ['600']);
  t.after(() => sleeper.kill('SIGKILL'));
  const agent = startAgent([...base(out), 'watch', String(sleeper.pid)], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog(`watching process ${sleeper.pid}`);
  sleeper.kill('SIGTERM');
  assert.equal(await agent.exited, 0, agent.output());
  assert.match(agent.output(), new RegExp(`process ${sleeper.pid} ended`));
  const gone = await runAgentToEnd([...base(out), 'watch', '999999999'], { cwd: dir });
  assert.equal(gone.code, 1);
  assert.match(gone.output, /process 999999999 does not exist/);
});
