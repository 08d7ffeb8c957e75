// Run-time sources in the real agent: process and cgroup sources come and go on the shared pool of threads,
// and control patterns reach them like configured sources.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csvRows, processSourcesConfig, REPO_ROOT, rmrf, startAgent, tempDir, waitFor } from './helpers/agent-process.js';
import { sendControlLine } from '../src/control/client.js';
import { statusEntries } from './helpers/status.js';

/** The reply's data lines and its status line. */
async function control(sock: string, line: string): Promise<{ lines: string[]; status: string }> {
  const reply = await sendControlLine(sock, line, 10_000);
  return { lines: reply.lines.slice(0, -1), status: reply.lines.at(-1) ?? '' };
}

test('processes appear as pid-N sources on the pool, with plausible values, are paused by pattern, and vanish when they end', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const sleeper = spawn('sleep', ['600']);
  const busy = spawn(process.execPath, ['-e', 'for(;;){}']);
  t.after(() => {
    sleeper.kill('SIGKILL');
    busy.kill('SIGKILL');
  });
  writeFileSync(
    join(dir, 'c.toml'),
    processSourcesConfig({ refresh: '200ms', groupKeys: ['exe_regex = "(sleep|node)$"', 'poll_interval = "100ms"', 'flush_interval = "100ms"'] }),
  );
  const agent = startAgent(['--config', 'c.toml'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');
  const sock = join(dir, 'ctl.sock');
  const out = join(dir, 'out.csv');
  const rowsOf = (pid: number, metric: string): string[][] => csvRows(out).filter((r) => r[0] === metric && r[5] === 'process' && r[6] === String(pid));
  // The `kind` attribute is a header column or a late `kind=…` pair, depending on the first batch.
  const ofKind = (r: string[], kind: string): boolean => r.slice(7).some((cell) => cell === kind || cell.split(',').includes(`kind=${kind}`));

  for (const pid of [sleeper.pid!, busy.pid!]) {
    await waitFor(async () => (await control(sock, `list source/procfs/pid-${pid}`)).status.startsWith('ok'), { what: `source pid-${pid}` });
  }
  await waitFor(() => rowsOf(busy.pid!, 'cpu_percent_%').length >= 3 && rowsOf(sleeper.pid!, 'memory_usage_B').length >= 3, { what: 'process rows' });
  const busyPercent = (): number[] => rowsOf(busy.pid!, 'cpu_percent_%').filter((r) => ofKind(r, 'total')).map((r) => Number(r[2]));
  // On a loaded machine a 100 ms window may give the loop no CPU at all, but not every window.
  await waitFor(() => busyPercent().some((v) => v > 0), { what: 'a busy-loop cpu_percent above 0', seen: () => String(busyPercent()) });
  assert.ok(busyPercent().every((v) => v >= 0 && v <= 100), `busy loop cpu_percent in [0, 100]: ${busyPercent()}`);
  const resident = rowsOf(sleeper.pid!, 'memory_usage_B').filter((r) => ofKind(r, 'resident')).map((r) => Number(r[2]));
  assert.ok(resident.length > 0 && resident.every((v) => v > 0), 'a process has resident memory');

  // Every process source runs on a thread of the shared pool, and the pool has at most one thread per core.
  const status = await statusEntries(sock, 'source/procfs/pid-*');
  const threads = new Set(status.map((e) => e.thread));
  assert.ok([...threads].every((th) => th !== null && /^pool-\d+$/.test(th)), `pool threads: ${[...threads]}`);
  assert.ok(threads.size <= availableParallelism());

  const sources = status.length;
  const paused = await control(sock, 'control source/procfs/pid-* pause');
  assert.equal(paused.status.startsWith(`ok paused ${sources} element`), true, paused.status);
  const list = await control(sock, 'list source/procfs/pid-*');
  assert.ok(list.lines.every((l) => / paused /.test(l)), list.lines.join('\n'));
  assert.match((await control(sock, 'control source/procfs/pid-* resume')).status, /^ok resumed/);

  busy.kill('SIGKILL');
  await waitFor(async () => (await control(sock, `list source/procfs/pid-${busy.pid}`)).status.startsWith('error'), { what: 'the ended process to lose its source' });
  assert.match((await control(sock, `list source/procfs/pid-${sleeper.pid}`)).status, /^ok 1 element/);
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
});

test('cgroups: one source per cgroup directory of a fake tree, following directories as they come and go', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const root = join(dir, 'cg');
  cpSync(join(REPO_ROOT, 'src/plugins/cgroups/testdata/v2'), root, { recursive: true });
  writeFileSync(
    join(dir, 'c.toml'),
    `[plugins.cgroups]\nroot = "${root}"\npoll_interval = "100ms"\nrefresh_interval = "200ms"\n[plugins.csv]\noutput_path = "out.csv"\n[plugins.socket-control]\nsocket_path = "ctl.sock"\n`,
  );
  const agent = startAgent(['--config', 'c.toml'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');
  const sock = join(dir, 'ctl.sock');
  const names = async (): Promise<string[]> => (await control(sock, 'list source/cgroups/*')).lines.map((l) => l.split(' ')[0]!);
  await waitFor(async () => (await names()).some((n) => n !== 'source/cgroups/cgroup-watcher'), { what: 'cgroup sources' });
  const before = await names();

  mkdirSync(join(root, 'added.slice'));
  writeFileSync(join(root, 'added.slice', 'cpu.stat'), 'usage_usec 10\nuser_usec 5\nsystem_usec 5\n');
  writeFileSync(join(root, 'added.slice', 'memory.current'), '4096\n');
  await waitFor(async () => (await names()).includes('source/cgroups//added.slice'), { what: 'a source for the new cgroup', seen: () => '' });
  await waitFor(() => csvRows(join(dir, 'out.csv')).some((r) => r[0] === 'memory_usage_B' && r[6] === '/added.slice' && r[2] === '4096'), { what: 'memory rows of the new cgroup' });

  rmSync(join(root, 'added.slice'), { recursive: true });
  await waitFor(async () => !(await names()).includes('source/cgroups//added.slice'), { what: 'the removed cgroup to lose its source' });
  assert.deepEqual((await names()).sort(), before.sort());
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
});
