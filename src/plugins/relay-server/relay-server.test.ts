// The relay-server plugin in the agent (real worker threads, real loopback TCP) against raw clients that
// speak the protocol byte for byte: the handshake and its refusal, metrics registered and renamed, points
// with relay_client and parsed resources, one element per client that pauses, resumes and goes away, a
// shutdown that reads what clients sent, and a port in use.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import relayServer from './index.js';
import synthetic from '../synthetic/index.js';
import { startPlugin } from '../../../test/helpers/plugin-harness.js';
import { RelayPeer, freePort, measurementsMessage, registerMessage } from '../../../test/helpers/relay-peer.js';
import { waitFor } from '../../../test/helpers/agent-process.js';

const CLIENT_A = 'source/relay-server/client-node-a';

async function serverOnFreePort(t: Parameters<typeof startPlugin>[0], config: Record<string, unknown> = {}) {
  const port = await freePort();
  const run = await startPlugin(t, relayServer, {
    config: { address: `127.0.0.1:${port}`, ...config },
    // A local metric for a client's metric of the same name and another type to clash with.
    with: [{ plugin: synthetic, config: { poll_interval: '1h', value_type: 'f64' } }],
  });
  return { port, run };
}

test('a client greets, registers and sends: its points come with relay_client from its own element, clashes renamed', async (t) => {
  const { port, run } = await serverOnFreePort(t);
  const peer = await RelayPeer.connect(port);
  t.after(() => peer.socket.destroy());
  assert.deepEqual(await peer.greet('node-a'), { accept: true, serverAlumetCoreVersion: '0.9.5', serverRelayPluginVersion: '0.6.0', protocolVersion: 2 });
  await run.waitForElement(CLIENT_A, 'listed once greeted', (e) => e.state === 'running');

  await peer.send(
    registerMessage('node-a', [
      [1, 'acc_energy', 'F64', 'J'],
      [2, 'synthetic_0', 'U64'],
      [3, 'acc_count', 'U64', '1', 'k'],
    ]),
    measurementsMessage('node-a', [
      { metric: 1, value: 1.5, sec: 1_700_000_000, nsec: 5 },
      { metric: 2, value: 2n ** 64n - 1n, resource: { kind: 'cpu_core', id: '007' }, attributes: [['cpu_state', 'user']] },
      { metric: 3, value: 7n, consumer: { kind: 'process', id: '42' } },
      { metric: 3, value: 8n, resource: { kind: 'local_machine', id: 'not empty' } },
    ]),
  );
  const points = await run.waitForPoints('the three valid points', (ps) => ps.filter((p) => p.attributes['relay_client'] === 'node-a').length >= 3);
  const relayed = points.filter((p) => p.attributes['relay_client'] === 'node-a');
  assert.deepEqual(
    relayed.map((p) => [p.metric, p.type, p.value, p.resource, p.consumer, p.attributes]),
    [
      ['acc_energy', 'f64', 1.5, { kind: 'local_machine', id: '' }, { kind: 'local_machine', id: '' }, { relay_client: 'node-a' }],
      ['synthetic_0_relay-client-node-a', 'u64', 2n ** 64n - 1n, { kind: 'cpu_core', id: '7' }, { kind: 'local_machine', id: '' }, { cpu_state: 'user', relay_client: 'node-a' }],
      ['acc_count', 'u64', 7n, { kind: 'local_machine', id: '' }, { kind: 'process', id: '42' }, { relay_client: 'node-a' }],
    ],
  );
  assert.deepEqual(relayed[0]!.timestamp, { sec: 1_700_000_000, nsec: 5 });
  assert.deepEqual(run.agent.registry.byName('acc_count')?.unit, { base: '1', prefix: 'kilo' }, 'the symbol k is read as kilo');
  assert.equal(run.agent.registry.byName('acc_energy')?.description, 'remote metric via plugin_relay');
  assert.equal(run.element(CLIENT_A).counters['points_out'], 3, 'the point with a refused resource is dropped');
  assert.equal(run.element('source/relay-server/tcp_server').counters['points_out'], 0, 'the listener sends nothing itself');

  peer.socket.end();
  await waitFor(() => !run.elements().some((e) => e.name === CLIENT_A), { what: 'the element of a client that left to be removed' });
  await run.stop();
});

test('a Greet of another protocol version is answered accept = false and its connection closed', async (t) => {
  const { port, run } = await serverOnFreePort(t);
  const peer = await RelayPeer.connect(port);
  t.after(() => peer.socket.destroy());
  const answer = await peer.greet('old', 3);
  assert.deepEqual(answer, { accept: false, serverAlumetCoreVersion: '0.9.5', serverRelayPluginVersion: '0.6.0', protocolVersion: 2 });
  await peer.closed;
  assert.ok(!run.elements().some((e) => e.name.startsWith('source/relay-server/client-')), 'no element for a refused client');
});

test('a paused client is not read (its points wait, none lost) while other clients go on; two clients of one name get two elements', async (t) => {
  const { port, run } = await serverOnFreePort(t);
  const a = await RelayPeer.connect(port);
  const b = await RelayPeer.connect(port);
  const a2 = await RelayPeer.connect(port);
  t.after(() => [a, b, a2].forEach((p) => p.socket.destroy()));
  await a.greet('node-a');
  await run.waitForElement(CLIENT_A, 'listed', () => true);
  await b.greet('node-b');
  await a2.greet('node-a');
  await run.waitForElement(`${CLIENT_A}-2`, 'a second client named node-a', () => true);
  await run.control([CLIENT_A], { type: 'pause' });
  assert.equal(run.element(CLIENT_A).state, 'paused');

  const many = Array.from({ length: 1000 }, (_, i) => ({ metric: 1, value: BigInt(i) }));
  await a.send(registerMessage('node-a', [[1, 'from_a', 'U64']]), measurementsMessage('node-a', many));
  // Sent after a's: once they are through, a's would have been too, had a's socket been read.
  await b.send(registerMessage('node-b', [[1, 'from_b', 'U64']]), measurementsMessage('node-b', [{ metric: 1, value: 1n }]));
  await run.waitForPoints("node-b's point", (ps) => ps.some((p) => p.metric === 'from_b'));
  assert.equal(run.points().filter((p) => p.metric === 'from_a').length, 0, 'nothing of the paused client');
  assert.equal(run.element(CLIENT_A).counters['points_out'], 0);

  await run.control([CLIENT_A], { type: 'resume' });
  const points = await run.waitForPoints("node-a's 1000 points", (ps) => ps.filter((p) => p.metric === 'from_a').length >= 1000);
  assert.deepEqual(
    points.filter((p) => p.metric === 'from_a').map((p) => p.value),
    many.map((p) => p.value),
  );
  assert.deepEqual(await run.agent.supervisor.apply([CLIENT_A], { type: 'trigger-now' }), [{ name: CLIENT_A, error: 'an autonomous source cannot be triggered' }]);
  await run.stop();
});

test('at shutdown the server ends its side and reads what the clients sent until they end theirs', async (t) => {
  const { port, run } = await serverOnFreePort(t);
  const peer = await RelayPeer.connect(port);
  t.after(() => peer.socket.destroy());
  await peer.greet('node-a');
  await run.waitForElement(CLIENT_A, 'listed', () => true);
  const ended = new Promise<void>((resolve) => peer.socket.once('end', () => resolve()));
  const points = Array.from({ length: 5000 }, (_, i) => ({ metric: 9, value: i + 0.5 }));
  await peer.send(registerMessage('node-a', [[9, 'last_words', 'F64']]), measurementsMessage('node-a', points));
  const all = await run.stop();
  await ended;
  assert.equal(all.filter((p) => p.metric === 'last_words').length, 5000);
  const balance = run.agent.supervisor.pointBalance();
  assert.equal(balance.outputs[0]!.unaccounted, 0);
});

test('a listening address in use stops the start with an error naming it', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  await assert.rejects(startPlugin(t, relayServer, { config: { address: `127.0.0.1:${port}` } }), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
});
