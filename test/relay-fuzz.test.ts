// The relay server of a real agent under bad input, while a well-behaved client keeps sending: each kind of
// broken client (oversized, truncated, unknown variant or metric id, invalid UTF-8, a stall mid-message, a
// GreetResponse, points before the Greet, a custom unit, an id over 65535, no Greet at all) is disconnected
// with exactly one warning naming its address; random bytes and mutated valid streams never take the agent
// down; and the good client loses nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csvRecords, rmrf, startAgent, tempDir, waitFor } from './helpers/agent-process.js';
import { RelayPeer, freePort, greetMessage, measurementsMessage, registerMessage } from './helpers/relay-peer.js';
import { statusEntries } from './helpers/status.js';
import { encodeGreetResponse } from '../src/plugins/shared/relay-messages.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const frame = (body: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 0].map((_, i) => (body.length >>> (8 * (3 - i))) & 0xff)), body]);

/** mulberry32, seeded: the same random cases on every run. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A broken client: what it sends (and whether it then keeps its side open), and the warning it must get. */
interface BadCase {
  what: string;
  bytes: Buffer;
  keepOpen?: boolean;
  warning: RegExp;
}

const GREETED = Buffer.concat([greetMessage('bad')]);
const BAD_CASES: BadCase[] = [
  { what: 'a body over 32 000 000 bytes', bytes: hex('01 e8 48 01 00 00'), warning: /a message body of 32000001 bytes, over the limit of 32000000/ },
  { what: 'a frame cut short by the end of the connection', bytes: greetMessage('bad').subarray(0, 10), warning: /closed its connection in the middle of a message \(6 bytes of it received\)/ },
  { what: 'an unknown message variant', bytes: frame(hex('03 62 61 64 07')), warning: /unknown message variant 7/ },
  { what: 'a point of an unregistered metric id', bytes: Buffer.concat([GREETED, measurementsMessage('bad', [{ metric: 99, value: 1n }])]), warning: /a point of metric id 99, which the client has not registered/ },
  { what: 'invalid UTF-8 in the sender', bytes: frame(hex('02 c3 28 00 00 00 02')), warning: /the sender: invalid UTF-8 at byte 1/ },
  {
    what: 'a stall in the middle of a message',
    bytes: Buffer.concat([GREETED, registerMessage('bad', [[1, 'x', 'U64']]).subarray(0, 9)]),
    keepOpen: true,
    warning: /sent 5 bytes of a message and nothing more for 300 ms/,
  },
  {
    what: 'a GreetResponse from a client',
    bytes: Buffer.concat([GREETED, encodeGreetResponse('bad', { accept: true, serverAlumetCoreVersion: '', serverRelayPluginVersion: '', protocolVersion: 2 })]),
    warning: /sent a GreetResponse, which only a server sends/,
  },
  { what: 'points before the Greet', bytes: measurementsMessage('bad', [{ metric: 1, value: 1n }]), warning: /sent a SendMeasurements message before its Greet/ },
  { what: 'a custom unit', bytes: Buffer.concat([GREETED, registerMessage('bad', [[1, 'carbon_emission', 'F64', 'g_CO2']])]), warning: /the unit "g_CO2", which is not a standard unit/ },
  { what: 'a metric id over 65535', bytes: Buffer.concat([GREETED, registerMessage('bad', [[65536, 'big', 'U64']])]), warning: /has the id 65536, over 65535/ },
  { what: 'no Greet at all', bytes: Buffer.alloc(0), keepOpen: true, warning: /sent no Greet within 300 ms of connecting/ },
];

test('broken clients are each disconnected with one warning naming them; random and mutated input never takes the server down; the good client loses nothing', async (t) => {
  const dir = tempDir('alumet-relay-fuzz-');
  t.after(() => rmrf(dir));
  const port = await freePort();
  writeFileSync(
    join(dir, 'c.toml'),
    `[plugins.relay-server]\naddress = "127.0.0.1:${port}"\nframe_timeout = "300ms"\n[plugins.csv]\noutput_path = "out.csv"\n[plugins.socket-control]\nsocket_path = "ctl.sock"\n`,
  );
  const agent = startAgent(['--config', 'c.toml', '--no-default-config'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');

  // The good client: 10 points every 20 ms, values counting up, until told to stop.
  const good = await RelayPeer.connect(port);
  t.after(() => good.socket.destroy());
  await good.greet('good');
  await good.send(registerMessage('good', [[1, 'good_points', 'U64']]));
  let sent = 0;
  let sending = true;
  t.after(() => (sending = false));
  const goodLoop = (async () => {
    while (sending) {
      await good.send(measurementsMessage('good', Array.from({ length: 10 }, () => ({ metric: 1, value: BigInt(sent++) }))));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const goodRows = (): number => csvRecords(join(dir, 'out.csv')).filter((r) => r.metric === 'good_points').length;
  await waitFor(() => goodRows() >= 50, { what: 'the good client served' });

  // Each broken client: disconnected by the server, with one warning naming its own address.
  for (const c of BAD_CASES) {
    const peer = await RelayPeer.connect(port);
    const address = `client 127.0.0.1:${peer.socket.localPort}`;
    await peer.send(c.bytes);
    if (!c.keepOpen) peer.socket.end();
    await peer.closed;
    const warnings = (): string[] =>
      agent
        .output()
        .split('\n')
        .filter((l) => l.includes('"level":40'))
        .map((l) => (JSON.parse(l) as { msg: string }).msg)
        .filter((msg) => msg.includes(`${address}:`) || msg.includes(`${address} (`));
    await waitFor(() => warnings().length > 0, { what: `the warning about ${c.what}` });
    assert.equal(warnings().length, 1, `${c.what}: one warning\n${warnings().join('\n')}`);
    assert.match(warnings()[0]!, c.warning, c.what);
  }

  // Random bytes and mutated valid streams, 150 of each kind: whatever they are read as, nothing breaks.
  const rand = generator(14);
  const valid = Buffer.concat([greetMessage('fuzz'), registerMessage('fuzz', [[1, 'fuzz_points', 'F64', 'J', 'milli']]), measurementsMessage('fuzz', [{ metric: 1, value: 1.5, attributes: [['k', 'v']] }])]);
  const fuzzed: RelayPeer[] = [];
  for (let i = 0; i < 300; i++) {
    let bytes: Buffer;
    if (i % 2 === 0) bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 600) }, () => Math.floor(rand() * 256)));
    else {
      bytes = Buffer.from(valid);
      for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
    }
    const peer = await RelayPeer.connect(port);
    await peer.send(bytes);
    peer.socket.end();
    fuzzed.push(peer);
  }
  // The server closes every one of them: it answered or refused what it could read, then saw the end.
  await Promise.all(fuzzed.map((p) => p.closed));

  const before = goodRows();
  await waitFor(() => goodRows() >= before + 100, { what: 'the good client still served after the fuzzing' });
  const [listener] = await statusEntries(join(dir, 'ctl.sock'), 'source/relay-server/tcp_server');
  assert.equal(listener!.state, 'running');
  assert.equal(listener!.counters['errors'], 0);
  const [client] = await statusEntries(join(dir, 'ctl.sock'), 'source/relay-server/client-good');
  assert.equal(client!.state, 'running');

  sending = false;
  await goodLoop;
  good.socket.end();
  await good.closed;
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0, agent.output().slice(-3000));
  const errors = agent.output().split('\n').filter((l) => /"level":(50|60)/.test(l));
  assert.deepEqual(errors, [], 'no error was logged: bad input gets warnings only');
  const values = csvRecords(join(dir, 'out.csv')).filter((r) => r.metric === 'good_points').map((r) => Number(r.value));
  assert.deepEqual(values, Array.from({ length: sent }, (_, i) => i), "every point of the good client, in order");
});
