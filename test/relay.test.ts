// Two real agents on loopback: agent A measures (procfs, or synthetic) and sends through relay-client, and
// agent B receives through relay-server and writes CSV. B's CSV holds A's points, each once, with
// relay_client set; and when B is restarted mid-run, A connects again and resends, so that B's two CSV
// files together hold every point A produced, none twice.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csvRecords, rmrf, startAgent, tempDir, waitFor, type AgentProcess, type CsvRecord } from './helpers/agent-process.js';
import { freePort } from './helpers/relay-peer.js';
import { statusEntries } from './helpers/status.js';

function agentIn(dir: string, toml: string): AgentProcess {
  writeFileSync(join(dir, 'c.toml'), toml);
  return startAgent(['--config', 'c.toml', '--no-default-config'], { cwd: dir });
}

function serverConfig(port: number, csv: string): string {
  return `[plugins.relay-server]\naddress = "127.0.0.1:${port}"\n[plugins.csv]\noutput_path = "${csv}"\n[plugins.socket-control]\nsocket_path = "ctl.sock"\n`;
}

/** What identifies a point in a CSV row, relay_client aside. */
function key(r: CsvRecord): string {
  const attributes = Object.entries(r.attributes)
    .filter(([k]) => k !== 'relay_client')
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([r.metric, r.timestamp, r.value, r.resource, r.consumer, attributes]);
}

/** Each key with how many rows have it. */
function multiset(records: CsvRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) m.set(key(r), (m.get(key(r)) ?? 0) + 1);
  return m;
}

function balanceOf(output: string, element: string): { produced: number; written: number } {
  const line = output.split('\n').find((l) => l.includes('point balance:')) ?? '';
  const produced = /produced=(\d+)/.exec(line);
  const written = new RegExp(`${element.replaceAll('/', '\\/')}: written=(\\d+)`).exec(line);
  assert.ok(produced && written, `the balance names ${element}: ${line || output.slice(-2000)}`);
  return { produced: Number(produced[1]), written: Number(written[1]) };
}

async function stop(agent: AgentProcess): Promise<string> {
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0, agent.output().slice(-3000));
  return agent.output();
}

test("agent A's procfs points reach agent B's CSV through the relay, point for point, with relay_client", async (t) => {
  const [a, b] = [tempDir('alumet-relay-a-'), tempDir('alumet-relay-b-')];
  t.after(() => [a, b].forEach(rmrf));
  const port = await freePort();
  const server = agentIn(b, serverConfig(port, 'out.csv'));
  t.after(() => server.kill('SIGKILL'));
  await server.waitForLog('agent is ready');
  const client = agentIn(
    a,
    [
      '[plugins.procfs]',
      'kernel.poll_interval = "100ms"',
      'memory.poll_interval = "100ms"',
      'network.poll_interval = "100ms"',
      'processes.enabled = false',
      '[plugins.relay-client]',
      `relay_server = "127.0.0.1:${port}"`,
      'client_name = "agent-a"',
      'buffer_timeout = "200ms"',
      '[plugins.csv]',
      'output_path = "out.csv"',
      '',
    ].join('\n'),
  );
  t.after(() => client.kill('SIGKILL'));
  await client.waitForLog('agent is ready');
  await waitFor(() => csvRecords(join(b, 'out.csv')).length >= 300, { what: '300 rows relayed to B', timeout: 60_000 });
  const sent = balanceOf(await stop(client), 'output/relay-client/tcp_client');
  assert.equal(sent.written, sent.produced, 'A sent every point it produced');
  // B has read A's connection to its end once A's element is gone.
  await waitFor(() => csvRecords(join(b, 'out.csv')).length >= sent.produced, { what: `B's ${sent.produced} rows`, seen: () => String(csvRecords(join(b, 'out.csv')).length) });
  const received = balanceOf(await stop(server), 'output/csv/csv');
  assert.equal(received.written, sent.produced, "B wrote as many points as A produced");

  const mine = csvRecords(join(a, 'out.csv'));
  const relayed = csvRecords(join(b, 'out.csv'));
  assert.equal(mine.length, sent.produced);
  assert.ok(relayed.every((r) => r.attributes['relay_client'] === 'agent-a'), 'every relayed row has relay_client = agent-a');
  assert.deepEqual(multiset(relayed), multiset(mine), "B's rows are A's rows");
  for (const metric of ['kernel_cpu_time_ms', 'mem_total_B', 'network_bytes_B']) assert.ok(relayed.some((r) => r.metric === metric), metric);
});

test('a relay server restarted mid-run: the client connects again and resends, and nothing is lost or doubled', async (t) => {
  const [a, b] = [tempDir('alumet-relay-a-'), tempDir('alumet-relay-b-')];
  t.after(() => [a, b].forEach(rmrf));
  const port = await freePort();
  let server = agentIn(b, serverConfig(port, 'first.csv'));
  t.after(() => server.kill('SIGKILL'));
  await server.waitForLog('agent is ready');
  const client = agentIn(
    a,
    [
      '[plugins.synthetic]',
      'poll_interval = "10ms"',
      'points_per_poll = 10',
      'value_type = "u64"',
      '[plugins.relay-client]',
      `relay_server = "127.0.0.1:${port}"`,
      'client_name = "agent-a"',
      'buffer_max_length = 100',
      'buffer_timeout = "50ms"',
      'retry = { initial_delay = "50ms", max_delay = "200ms" }',
      '[plugins.csv]',
      'output_path = "out.csv"',
      '[plugins.socket-control]',
      'socket_path = "ctl.sock"',
      '',
    ].join('\n'),
  );
  t.after(() => client.kill('SIGKILL'));
  await client.waitForLog('agent is ready');
  const first = join(b, 'first.csv');
  const second = join(b, 'second.csv');
  await waitFor(() => csvRecords(first).length >= 500, { what: '500 rows in the first server', timeout: 60_000 });
  await stop(server);

  // While the server is down the client keeps measuring and retries.
  const output = async () => (await statusEntries(join(a, 'ctl.sock'), 'output/relay-client/tcp_client'))[0]!;
  await waitFor(async () => (await output()).counters['retries']! >= 2, { what: 'the client retrying' });
  assert.match((await output()).last_error ?? '', new RegExp(`^127\\.0\\.0\\.1:${port}: ECONNREFUSED`));

  server = agentIn(b, serverConfig(port, 'second.csv'));
  await server.waitForLog('agent is ready');
  await waitFor(() => csvRecords(second).length >= 500, { what: '500 rows in the second server', timeout: 60_000 });
  const sent = balanceOf(await stop(client), 'output/relay-client/tcp_client');
  assert.equal(sent.written, sent.produced);
  await waitFor(() => csvRecords(first).length + csvRecords(second).length >= sent.produced, { what: `${sent.produced} rows in the two files` });
  await stop(server);

  const relayed = [...csvRecords(first), ...csvRecords(second)];
  assert.deepEqual(multiset(relayed), multiset(csvRecords(join(a, 'out.csv'))), 'every point of A once, in one file or the other');
  assert.equal(relayed.length, sent.produced);
});
