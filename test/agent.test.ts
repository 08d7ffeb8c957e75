// The real agent binary, end to end: default config, procfs rows, signals, exact accounting through the
// pipeline, a transform that sees every batch, restarts of a crashing source, config mistakes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { assertCompleteCsv, balance, csvRows, rmrf, runAgentToEnd, startAgent, tempDir, waitFor } from './helpers/agent-process.js';
import { sendControlLine } from '../src/control/client.js';
import { statusEntries, type StatusEntry } from './helpers/status.js';

test('with the default config the agent writes kernel, memory and network rows, and SIGTERM exits 0 with complete lines', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const agent = startAgent(['--config-override', 'plugins.procfs.kernel.poll_interval="200ms"', '--config-override', 'plugins.procfs.network.poll_interval="200ms"'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');
  assert.ok(existsSync(join(dir, 'alumet-config.toml')), 'the default config file was generated');
  assert.ok(existsSync(join(dir, 'alumet-control.sock')), 'the control socket exists');
  const csv = join(dir, 'alumet-output.csv');
  const metrics = (): Set<string> => new Set(csvRows(csv).map((r) => r[0]!));
  await waitFor(() => ['kernel_cpu_time_ms', 'mem_total_B', 'network_bytes_B'].every((m) => metrics().has(m)), {
    what: 'kernel_cpu_time, mem_total and network_bytes rows',
    seen: () => [...metrics()].join(', '),
  });
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
  assertCompleteCsv(csv);
  assert.ok(!existsSync(join(dir, 'alumet-control.sock')), 'the socket file is removed at exit');
  const { produced, written } = balance(agent.output());
  assert.equal(written, produced);
  assert.equal(csvRows(csv).length, produced);
});

test('SIGINT (Ctrl-C) shuts down cleanly too', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const agent = startAgent(['--plugins', 'procfs,csv', '--config-override', 'plugins.procfs.memory.poll_interval="50ms"'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');
  await waitFor(() => csvRows(join(dir, 'alumet-output.csv')).length > 20, { what: '20 rows' });
  agent.kill('SIGINT');
  assert.equal(await agent.exited, 0);
  assertCompleteCsv(join(dir, 'alumet-output.csv'));
});

test('synthetic to csv: after shutdown the file holds exactly the points the sources produced', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  writeFileSync(
    join(dir, 'c.toml'),
    `[plugins.synthetic]\npoll_interval = "2ms"\npoints_per_poll = 100\nmetrics = 3\nattributes = 2\nsources = 3\n[plugins.csv]\noutput_path = "out.csv"\nforce_flush = false\n[plugins.socket-control]\nsocket_path = "ctl.sock"\n`,
  );
  const agent = startAgent(['--config', 'c.toml'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');
  await waitFor(() => csvRows(join(dir, 'out.csv')).length > 20_000, { what: '20000 rows' });
  const reply = await sendControlLine(join(dir, 'ctl.sock'), 'shutdown', 10_000);
  assert.equal(reply.status, 'ok');
  assert.equal(await agent.exited, 0);
  const { produced, written } = balance(agent.output());
  assert.equal(written, produced);
  assert.equal(csvRows(join(dir, 'out.csv')).length, produced, 'one row per point produced');
  assertCompleteCsv(join(dir, 'out.csv'));
});

test('a transform sees every batch: filter drops exactly one metric of two and nothing else', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  writeFileSync(
    join(dir, 'c.toml'),
    `[plugins.synthetic]\npoll_interval = "5ms"\npoints_per_poll = 10\nmetrics = 2\nsources = 2\n[plugins.filter]\nexclude = ["synthetic_1"]\n[plugins.csv]\noutput_path = "out.csv"\n`,
  );
  const agent = startAgent(['--config', 'c.toml'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');
  await waitFor(() => csvRows(join(dir, 'out.csv')).length > 1000, { what: '1000 rows' });
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
  const rows = csvRows(join(dir, 'out.csv'));
  const { produced } = balance(agent.output());
  assert.deepEqual(new Set(rows.map((r) => r[0])), new Set(['synthetic_0']));
  assert.equal(rows.length, produced / 2, 'every point of synthetic_0 went through the transform');
});

test('a crashing source is restarted with backoff while the other sources never stop', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  writeFileSync(
    join(dir, 'c.toml'),
    `[pipeline]\nrestart_backoff = "50ms"\n[plugins.synthetic]\npoll_interval = "10ms"\nfail_after_polls = 5\n[plugins.procfs]\nkernel.enabled = false\nnetwork.enabled = false\nmemory.poll_interval = "20ms"\n[plugins.csv]\noutput_path = "out.csv"\n[plugins.socket-control]\nsocket_path = "ctl.sock"\n`,
  );
  const agent = startAgent(['--config', 'c.toml'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');
  const synthetic = async (): Promise<StatusEntry> => (await statusEntries(join(dir, 'ctl.sock'), 'source/synthetic/synthetic-0'))[0]!;
  await waitFor(async () => (await synthetic()).counters['restarts']! >= 1, { what: 'a restart of the synthetic source', seen: () => agent.output().slice(-1000) });
  const memoryRows = (): number => csvRows(join(dir, 'out.csv')).filter((r) => r[0] === 'mem_total_B').length;
  const before = memoryRows();
  await waitFor(() => memoryRows() > before + 5, { what: 'memory rows to keep coming during the restarts' });
  assert.equal((await synthetic()).last_error, 'synthetic failure after 5 polls');
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
});

test('config validate names the misspelled key, the closest valid key and the file, and exits 1', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  writeFileSync(join(dir, 'bad.toml'), '[plugins.procfs]\n\n[plugins.procfs.kernel]\npol_interval = "1s"\n');
  const { code, output } = await runAgentToEnd(['--config', 'bad.toml', 'config', 'validate'], { cwd: dir });
  assert.equal(code, 1);
  assert.match(output, /bad\.toml:4/);
  assert.match(output, /pol_interval/);
  assert.match(output, /did you mean "poll_interval"\?/);
  assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
});

test('config validate accepts the generated default config', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  assert.equal((await runAgentToEnd(['--config', 'd.toml', 'config', 'regen'], { cwd: dir })).code, 0);
  const { code, output } = await runAgentToEnd(['--config', 'd.toml', 'config', 'validate'], { cwd: dir });
  assert.equal(code, 0, output);
  assert.match(output, /valid/);
});

test('start-up errors exit 1 with one line: a csv output_path that cannot be opened', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const { code, output } = await runAgentToEnd(['--plugins', 'procfs,csv', '--output-file', join(dir, 'missing-dir', 'x.csv')], { cwd: dir });
  assert.equal(code, 1);
  assert.match(output, /error: plugins\.csv\.output_path: the directory of ".*missing-dir\/x\.csv" does not exist/);
});

test('usage errors exit 2 and --help / --version exit 0', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  assert.equal((await runAgentToEnd(['--bogus'], { cwd: dir })).code, 2);
  const help = await runAgentToEnd(['--help'], { cwd: dir });
  assert.equal(help.code, 0);
  assert.match(help.output, /Usage: alumet-agent/);
  const version = await runAgentToEnd(['-V'], { cwd: dir });
  assert.equal(version.code, 0);
  assert.match(version.output, /alumet-agent \d+\.\d+\.\d+/);
});

test('plugins list shows every plugin; --status shows enabled and disabled ones', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const list = await runAgentToEnd(['plugins', 'list'], { cwd: dir });
  assert.equal(list.code, 0);
  for (const p of ['procfs', 'csv', 'socket-control', 'synthetic', 'filter', 'energy-estimation-tdp']) assert.match(list.output, new RegExp(`- ${p} v`));
  const status = await runAgentToEnd(['--plugins', 'csv', 'plugins', 'list', '--status'], { cwd: dir });
  assert.equal(status.code, 0);
  assert.match(status.output, /Enabled plugins:\n- csv v[\d.]+\nDisabled plugins:\n(- .*\n)*- procfs/);
});

test('first run: config validate names a missing file, and every command that writes a default config says so', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const validate = await runAgentToEnd(['config', 'validate'], { cwd: dir });
  assert.equal(validate.code, 1);
  assert.match(validate.output, /^error: alumet-config\.toml: the config file does not exist; create it or run "alumet-agent config regen"$/m);
  assert.doesNotMatch(validate.output, /--no-default-config/, 'no blame on a flag that was not given');
  assert.ok(!existsSync(join(dir, 'alumet-config.toml')), 'validate writes nothing');

  for (const args of [['plugins', 'list', '--status'], ['--plugins', 'procfs,csv', 'exec', 'true']]) {
    const config = `c-${args[0]}.toml`;
    const run = await runAgentToEnd(['--config', config, ...args], { cwd: dir });
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, new RegExp(`default configuration file written to: ${config}`), `${args.join(' ')} says it wrote the config`);
    assert.ok(existsSync(join(dir, config)));
  }
  const again = await runAgentToEnd(['--config', 'c-plugins.toml', 'plugins', 'list', '--status'], { cwd: dir });
  assert.doesNotMatch(again.output, /default configuration file written/, 'only when it writes one');
});
