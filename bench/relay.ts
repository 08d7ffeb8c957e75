// Scenario `relay` (main thread of the bench process): points per second from a client agent (synthetic
// source → relay-client) to a server agent (relay-server) on loopback, counted where the server hands
// them on (its client element's points_out; the server has no output, so that the figure is the relay's).
// The client's source produces more than the relay carries. Baseline in the same run: the same encoded
// SendMeasurements messages written as fast as loopback TCP takes them to a thread that only counts bytes.
// Also the codec alone in this thread: points encoded and decoded per CPU-second.

import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { mkdirSync } from 'node:fs';
import { sendControlLine } from '../src/control/client.js';
import { BatchBuilder } from '../src/protocol/batch-builder.js';
import { F64 } from '../src/protocol/batch.js';
import { encodeMeasurements } from '../src/plugins/relay-client/encode-measurements.js';
import { MeasurementDecoder } from '../src/plugins/relay-server/decode-measurements.js';
import { readMessageStart } from '../src/plugins/shared/relay-messages.js';
import type { Batch } from '../src/protocol/batch.js';
import { freePort } from '../test/helpers/prometheus.js';
import { startAgent } from './push-agent.js';
import { log, ownCpuMs, processCpuMs, rmrf, sleep, tempDir, waitUntil, type Scenario } from './util.js';

const WINDOW_MS = Number(process.env['BENCH_ROUND_MS'] ?? 10_000);
/** The client's messages: buffer_max_length's default. */
const MESSAGE_POINTS = 4096;
/** The synthetic source's shape: 10 metrics, 2 string attributes each, 2 million points a second. */
const METRICS = 10;
const ATTRIBUTES = 2;

async function relayedPoints(socket: string): Promise<number> {
  const reply = await sendControlLine(socket, 'status source/relay-server/client-* --json', 10_000);
  return reply.lines.filter((l) => l.startsWith('{')).reduce((sum, l) => sum + (JSON.parse(l) as { counters: { points_out: number } }).counters.points_out, 0);
}

/** Relayed points/s, and the CPU time each agent spent per million of them (the figure a loaded machine distorts least). */
async function agents(dir: string): Promise<{ pointsPerS: number; clientCpuMsPerMillion: number; serverCpuMsPerMillion: number }> {
  const port = await freePort();
  const [a, b] = [join(dir, 'client'), join(dir, 'server')];
  mkdirSync(a);
  mkdirSync(b);
  const server = startAgent(b, `[plugins.relay-server]\naddress = "127.0.0.1:${port}"\n[plugins.socket-control]\nsocket_path = "ctl.sock"\n`);
  try {
    const socket = join(b, 'ctl.sock');
    await waitUntil(async () => (await sendControlLine(socket, 'list', 2000).catch(() => undefined))?.status === 'ok', 'the server agent', 60_000);
    const client = startAgent(
      a,
      `[plugins.synthetic]\npoll_interval = "10ms"\npoints_per_poll = 20000\nmetrics = ${METRICS}\nattributes = ${ATTRIBUTES}\n` +
        `[plugins.relay-client]\nrelay_server = "127.0.0.1:${port}"\nclient_name = "bench"\nbuffer_max_length = ${MESSAGE_POINTS}\nbuffer_timeout = "100ms"\n`,
    );
    try {
      await waitUntil(async () => (await relayedPoints(socket).catch(() => 0)) > 0, 'the first relayed points', 60_000);
      const cpu = (): [number, number] => [processCpuMs(client.child.pid!), processCpuMs(server.child.pid!)];
      const p0 = await relayedPoints(socket);
      const [c0, s0] = cpu();
      const t0 = performance.now();
      await sleep(WINDOW_MS);
      const points = (await relayedPoints(socket)) - p0;
      const [c1, s1] = cpu();
      return {
        pointsPerS: points / ((performance.now() - t0) / 1000),
        clientCpuMsPerMillion: ((c1 - c0) / points) * 1e6,
        serverCpuMsPerMillion: ((s1 - s0) / points) * 1e6,
      };
    } finally {
      await client.stop();
    }
  } finally {
    await server.stop();
  }
}

/** A batch of the synthetic source's shape. */
function sampleBatch(): Batch {
  const b = new BatchBuilder(MESSAGE_POINTS);
  const attributes = Array.from({ length: METRICS }, (_, m) => Array.from({ length: ATTRIBUTES }, (_, k) => [`attr_${k}`, `m${m}_${k}`] as const));
  const ts = { sec: Math.floor(Date.now() / 1000), nsec: 123_456_789 };
  for (let i = 0; i < MESSAGE_POINTS; i++) b.push({ id: i % METRICS, name: 'synthetic', type: F64 }, ts, i, { attributes: attributes[i % METRICS] });
  return b.take();
}

/** Points per CPU-second of this thread, encoding and decoding messages of `batch`; best of 8 rounds of 100 messages. */
function codecSpeed(batch: Batch): { encode: number; decode: number } {
  const decoder = new MeasurementDecoder();
  let message: Buffer = Buffer.alloc(0);
  let encode = 0;
  let decode = 0;
  for (let round = 0; round < 8; round++) {
    let c0 = ownCpuMs();
    for (let k = 0; k < 100; k++) message = encodeMeasurements('bench', batch, () => undefined);
    encode = Math.max(encode, (100 * batch.length) / ((ownCpuMs() - c0) / 1000));
    c0 = ownCpuMs();
    for (let k = 0; k < 100; k++) {
      const { reader, sender } = readMessageStart(message.subarray(4));
      decoder.decode(reader, sender, (id) => id);
    }
    decode = Math.max(decode, (100 * batch.length) / ((ownCpuMs() - c0) / 1000));
  }
  return { encode, decode };
}

/** A thread that accepts one connection and adds up the bytes it reads. */
const COUNTER = `
const { parentPort, workerData } = require('node:worker_threads');
const bytes = new Float64Array(workerData);
const server = require('node:net').createServer((s) => s.on('data', (d) => { bytes[0] += d.length; }));
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

async function rawTcp(message: Buffer): Promise<{ pointsPerS: number; mbPerS: number }> {
  const counted = new Float64Array(new SharedArrayBuffer(8));
  const counter = new Worker(COUNTER, { eval: true, workerData: counted.buffer });
  try {
    const [port] = (await once(counter, 'message')) as [number];
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    const t0 = performance.now();
    let b0 = -1;
    while (performance.now() - t0 < WINDOW_MS + 1000) {
      // The first second warms up; then the window is measured.
      if (b0 < 0 && performance.now() - t0 >= 1000) b0 = counted[0]!;
      if (!socket.write(message)) await once(socket, 'drain');
    }
    const bytes = counted[0]! - b0;
    socket.destroy();
    const seconds = WINDOW_MS / 1000;
    return { pointsPerS: (bytes / message.length) * MESSAGE_POINTS / seconds, mbPerS: bytes / 1e6 / seconds };
  } finally {
    await counter.terminate();
  }
}

export const relay: Scenario = {
  name: 'relay',
  what: 'points/s from a client agent to a server agent over the relay on loopback (vs raw TCP of the same encoded messages)',
  async run() {
    const dir = tempDir('alumet-bench-relay-');
    try {
      const relayed = await agents(dir);
      const batch = sampleBatch();
      const message = encodeMeasurements('bench', batch, () => undefined);
      const raw = await rawTcp(message);
      const codec = codecSpeed(batch);
      const bytesPerPoint = (message.length - 4) / MESSAGE_POINTS;
      log(`relay: CPU per million points relayed: client agent ${Math.round(relayed.clientCpuMsPerMillion)} ms (its source included), server agent ${Math.round(relayed.serverCpuMsPerMillion)} ms`);
      log(`relay: codec alone, per CPU-second: ${(codec.encode / 1e6).toFixed(2)} M points encoded, ${(codec.decode / 1e6).toFixed(2)} M decoded`);
      log(`relay: ${Math.round(relayed.pointsPerS)} points/s relayed; raw TCP of the same messages ${Math.round(raw.pointsPerS)} points/s (${raw.mbPerS.toFixed(0)} MB/s, ${bytesPerPoint.toFixed(1)} bytes a point)`);
      return {
        json: {
          points_per_s: Math.round(relayed.pointsPerS),
          message_points: MESSAGE_POINTS,
          bytes_per_point: Math.round(bytesPerPoint * 10) / 10,
          client_cpu_ms_per_million_points: Math.round(relayed.clientCpuMsPerMillion),
          server_cpu_ms_per_million_points: Math.round(relayed.serverCpuMsPerMillion),
          codec_points_per_cpu_s: { encode: Math.round(codec.encode), decode: Math.round(codec.decode) },
          baseline_raw_tcp: { points_per_s: Math.round(raw.pointsPerS), mb_per_s: Math.round(raw.mbPerS) },
        },
        rows: [{ figure: 'relayed points, client agent → server agent', value: Math.round(relayed.pointsPerS), unit: 'points/s', baseline: { name: 'raw TCP of the same messages', value: Math.round(raw.pointsPerS) } }],
      };
    } finally {
      rmrf(dir);
    }
  },
};
