// The relay-client plugin in the agent (real worker threads, real loopback TCP) against raw servers that
// check every byte it sends and misbehave on purpose: Greet, RegisterMetrics and SendMeasurements in order,
// messages of at most buffer_max_length, buffer_timeout as a real timer, handshake failures that name the
// server and say what it did, a reconnection that registers again and resends without loss or duplicate,
// a bounded backlog while the server is down, and custom units sent as the unity with a `unit` attribute.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { U64, F64 } from '../../protocol/batch.js';
import relayClient from './index.js';
import outputModule from './output.js';
import synthetic from '../synthetic/index.js';
import { startPlugin, type PluginRun } from '../../../test/helpers/plugin-harness.js';
import { fakeContext } from '../../../test/helpers/element-context.js';
import { RelayPeer, answerGreets, batchOfPoints, freePort, rawRelayServer, type RawRelayServer, type RelayMessage } from '../../../test/helpers/relay-peer.js';
import type { RelayOutputConfig } from './config.js';

const OUTPUT = 'output/relay-client/tcp_client';

type Sent = Extract<RelayMessage, { type: 'send-measurements' }>;
const sentPoints = (messages: RelayMessage[]) => messages.filter((m): m is Sent => m.type === 'send-measurements').flatMap((m) => m.points);

async function acceptingServer(t: Parameters<typeof startPlugin>[0], onPeer: (peer: RelayPeer, index: number) => void = () => undefined): Promise<RawRelayServer> {
  const server = await rawRelayServer((peer) => {
    answerGreets(peer);
    onPeer(peer, server.peers.length - 1);
  });
  t.after(() => server.close());
  return server;
}

/**
 * The agent with a synthetic source and the relay client. `shutdown_timeout`: how long the output may go on
 * trying at shutdown (a server that never takes the points keeps it trying until then).
 */
function clientOf(t: Parameters<typeof startPlugin>[0], port: number, config: Record<string, unknown>, source: Record<string, unknown>, shutdownTimeout = '20s'): Promise<PluginRun> {
  return startPlugin(t, relayClient, {
    pipeline: { shutdown_timeout: shutdownTimeout },
    config: { relay_server: `127.0.0.1:${port}`, client_name: 'agent-a', retry: { initial_delay: '20ms', max_delay: '100ms' }, ...config },
    with: [{ plugin: synthetic, config: { value_type: 'u64', ...source } }],
  });
}

test('it greets as client_name, registers every metric, then sends every point once, in messages of at most buffer_max_length', async (t) => {
  const server = await acceptingServer(t);
  const run = await clientOf(t, server.port, { buffer_max_length: 7, buffer_timeout: '100ms' }, { poll_interval: '20ms', points_per_poll: 3 });
  await run.waitForElement(OUTPUT, '60 points sent', (e) => e.counters['points_out']! >= 60);
  const produced = await run.stop();
  const [greet, register, ...rest] = server.messages();
  assert.deepEqual(greet, { sender: 'agent-a', type: 'greet', greet: { alumetCoreVersion: '0.9.5', relayPluginVersion: '0.6.0', protocolVersion: 2 } });
  const metric = run.agent.registry.byName('synthetic_0')!;
  assert.deepEqual(register, { sender: 'agent-a', type: 'register-metrics', metrics: [{ id: metric.id, name: 'synthetic_0', valueType: 'U64', unit: { base: '1', prefix: '' } }] });
  assert.ok(rest.every((m) => m.type === 'send-measurements' && m.sender === 'agent-a' && m.points.length <= 7), 'only SendMeasurements of 7 points at most follow');
  assert.ok(rest.filter((m) => m.type === 'send-measurements' && m.points.length === 7).length >= 5, 'full messages while points keep coming');
  const sent = sentPoints(server.messages());
  assert.deepEqual(
    sent.map((p) => [p.value, p.timestamp]),
    produced.map((p) => [p.value, p.timestamp]),
    'every point the agent produced, once, in order, with its exact value and timestamp',
  );
  assert.equal(run.agent.supervisor.pointBalance().outputs.find((o) => o.name === OUTPUT)!.written, sent.length);
});

test('buffer_timeout is a real timer: a message that never fills goes once its oldest point has waited that long', async (t) => {
  const server = await acceptingServer(t);
  // One poll at the start, and no other for an hour: only the timer can send its points.
  const run = await clientOf(t, server.port, { buffer_max_length: 1_000_000, buffer_timeout: '300ms' }, { poll_interval: '1h', points_per_poll: 5 });
  await run.waitForElement(OUTPUT, 'the first poll sent', (e) => e.counters['points_out'] === 5);
  assert.equal(sentPoints(server.messages()).length, 5);
  await run.stop();
});

test('a failed handshake is an error that names the server and says what it did, and is tried again', async (t) => {
  const cases: Array<[string, (peer: RelayPeer) => void, (port: number) => RegExp]> = [
    ['refuses the protocol version', (peer) => answerGreets(peer, 3), (p) => new RegExp(`^127\\.0\\.0\\.1:${p}: refused the handshake: it speaks relay protocol version 3 \\(alumet 0\\.9\\.5, relay plugin 0\\.6\\.0\\), this client speaks 2$`)],
    ['never answers', () => undefined, (p) => new RegExp(`^127\\.0\\.0\\.1:${p}: did not answer the Greet within 300 ms$`)],
    ['closes without answering, as a Rust server of another version does', (peer) => (peer.onMessage = () => peer.socket.destroy()), (p) => new RegExp(`^127\\.0\\.0\\.1:${p}: closed the connection without answering the Greet`)],
    ['answers garbage', (peer) => (peer.onMessage = () => void peer.send(Buffer.from([0, 0, 0, 3, 0x05, 0x61, 0x62]))), (p) => new RegExp(`^127\\.0\\.0\\.1:${p}: answered the Greet with something that is not a relay message: the sender: a length of 5`)],
  ];
  for (const [what, behave, error] of cases) {
    const server = await rawRelayServer(behave);
    t.after(() => server.close());
    const run = await clientOf(t, server.port, { buffer_timeout: '10ms', handshake_timeout: '300ms' }, { poll_interval: '50ms', points_per_poll: 1 }, '100ms');
    const e = await run.waitForElement(OUTPUT, `${what}: two attempts and the error`, (x) => x.counters['retries']! >= 2 && error(server.port).test(x.lastError ?? ''));
    assert.equal(e.counters['points_out'], 0, what);
    await run.stop();
  }
  const port = await freePort();
  const run = await clientOf(t, port, { buffer_timeout: '10ms' }, { poll_interval: '50ms', points_per_poll: 1 }, '100ms');
  await run.waitForElement(OUTPUT, 'connection refused', (x) => x.counters['retries']! >= 2 && new RegExp(`^127\\.0\\.0\\.1:${port}: ECONNREFUSED`).test(x.lastError ?? ''));
});

test('when the server ends the connection, the client connects again, registers every metric again and sends the rest: none lost, none twice', async (t) => {
  const server = await acceptingServer(t, (peer, index) => {
    if (index > 0) return;
    const onMessage = peer.onMessage!;
    // The first server connection ends after its second SendMeasurements, as a server that shuts down does.
    peer.onMessage = (m) => {
      onMessage(m);
      if (peer.messages.filter((x) => x.type === 'send-measurements').length === 2) peer.socket.end();
    };
  });
  const run = await clientOf(t, server.port, { buffer_max_length: 10, buffer_timeout: '50ms' }, { poll_interval: '10ms', points_per_poll: 4 });
  await run.waitForElement(OUTPUT, 'points sent on a second connection', () => server.peers.length === 2 && sentPoints(server.peers[1]!.messages).length >= 40);
  const produced = await run.stop();
  const [first, second] = server.peers;
  assert.deepEqual(second!.messages.slice(0, 2).map((m) => m.type), ['greet', 'register-metrics'], 'the second connection greets and registers again');
  assert.deepEqual(
    [...sentPoints(first!.messages), ...sentPoints(second!.messages)].map((p) => p.value),
    produced.map((p) => p.value),
  );
});

test('while the server is down the points wait in a bounded backlog (the oldest dropped and counted), then go', async (t) => {
  const port = await freePort();
  const run = await clientOf(t, port, { buffer_max_length: 100, buffer_timeout: '10ms', max_backlog_points: 50 }, { poll_interval: '10ms', points_per_poll: 10 });
  const down = await run.waitForElement(OUTPUT, 'points dropped from a full backlog', (e) => e.counters['dropped_backlog']! > 0 && e.counters['retries']! >= 2);
  // The limit, plus what the write being tried again holds (never dropped while it is tried): 100 points at most.
  assert.ok(down.counters['backlog_points']! <= 50 + 100, `backlog_points ${down.counters['backlog_points']} <= 150`);
  const server = await rawRelayServer((peer) => answerGreets(peer), port);
  t.after(() => server.close());
  await run.waitForElement(OUTPUT, 'points sent once the server is up', (e) => e.counters['points_out']! >= 100);
  const produced = await run.stop();
  const c = run.element(OUTPUT).counters;
  assert.equal(sentPoints(server.messages()).length, c['points_out']);
  assert.equal(c['points_out']! + c['dropped_backlog']!, produced.length, 'every point sent or counted dropped');
});

test('a metric of a custom unit is registered as the unity, its points carrying the unit in a `unit` attribute', async (t) => {
  const server = await acceptingServer(t);
  const metrics = new Map([
    [0, { id: 0, name: 'carbon_emission', description: '', type: F64, unit: { base: 'g_CO2', prefix: '', display: 'gCO₂' } }],
    [1, { id: 1, name: 'mem_total', description: '', type: U64, unit: { base: 'By', prefix: 'kilo' } }],
  ] as const);
  const config: RelayOutputConfig = { ...(relayClient.config.defaultValue() as RelayOutputConfig), client_name: 'x', relay_server: `127.0.0.1:${server.port}` };
  const output = await outputModule.create(config, fakeContext({ name: OUTPUT, metrics }));
  t.after(() => output.close?.());
  await output.write(batchOfPoints([{ metric: 0, value: 2.5, attributes: [['domain', 'package']] }, { metric: 1, value: 3n }]));
  const [, register, send] = await Promise.all([1, 2, 3].map((n) => server.peers[0]?.message(n, `message ${n}`) ?? Promise.reject(new Error('no connection'))));
  assert.deepEqual(register, {
    sender: 'x',
    type: 'register-metrics',
    metrics: [
      { id: 0, name: 'carbon_emission', valueType: 'F64', unit: { base: '1', prefix: '' } },
      { id: 1, name: 'mem_total', valueType: 'U64', unit: { base: 'By', prefix: 'kilo' } },
    ],
  });
  assert.deepEqual(
    (send as Sent).points.map((p) => p.attributes),
    [[['domain', 'package'], ['unit', 'g_CO2']], []],
  );
});
