// Scenario `otlp` (main thread of the bench process): data points per second the real agent's opentelemetry
// output gets accepted by the test OTLP receiver (test/helpers/otlp-receiver.ts, counting only), over gRPC and
// over HTTP, from a synthetic source producing more than that. Baselines in the same run: one request of the
// same shape (max_points_per_write points, 100 metrics, 2 attributes), encoded once, sent back to back to the
// same receiver with the same client library (grpc-js, fetch): what the transport alone allows; and the
// encoding alone (RequestEncoder in this thread), which is what each point costs before any transport.

import type { TestContext } from 'node:test';
import { Client, Metadata, credentials } from '@grpc/grpc-js';
import { F64 } from '../src/protocol/batch.js';
import type { MetricInfo } from '../src/protocol/metrics.js';
import { RequestEncoder } from '../src/plugins/opentelemetry/encode.js';
import { EXPORT_METHOD, grpcTarget } from '../src/plugins/opentelemetry/grpc-exporter.js';
import { PLUGIN_VERSION } from '../src/plugins/opentelemetry/version.js';
import { buildTemplate } from '../src/plugins/synthetic/source.js';
import { startOtlpReceiver, type OtlpProtocol } from '../test/helpers/otlp-receiver.js';
import { acceptedPerSecond, startAgent } from './push-agent.js';
import { log, rmrf, round, tempDir, type Row, type Scenario } from './util.js';

const ROUND_S = Number(process.env['BENCH_ROUND_MS'] ?? 10_000) / 1000;
const METRICS = 100;
const POINTS_PER_WRITE = 5000;
/**
 * The synthetic source offers 200 000 points/s (as in the prometheus scenario): more than the output writes,
 * so the output's own rate is measured (its backlog fills up and drops the oldest points meanwhile).
 */
const SOURCE = { poll_interval: '10ms', points_per_poll: 2000, metrics: METRICS, attributes: 2 };

/** Cleanups run in reverse order at the end of a measurement, as a test's `after` hooks are. */
type Cleanups = Array<() => unknown>;

async function agentPointsPerS(dir: string, protocol: OtlpProtocol, collectorHost: string, cleanups: Cleanups): Promise<number> {
  const agent = startAgent(
    dir,
    `[plugins.synthetic]\n${Object.entries(SOURCE).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join('\n')}\n` +
      `[plugins.opentelemetry]\ncollector_host = "${collectorHost}"\nprotocol = "${protocol}"\nmax_points_per_write = ${POINTS_PER_WRITE}\n` +
      `[plugins.socket-control]\nsocket_path = "ctl.sock"\n`,
  );
  cleanups.push(() => agent.stop());
  const rate = await acceptedPerSecond(dir, ROUND_S, `${protocol} export`);
  await agent.stop();
  return rate;
}

/** A request of the shape the agent sends: POINTS_PER_WRITE synthetic points with their timestamps, encoded once. */
function sampleRequest(): { encoder: RequestEncoder; batch: ReturnType<typeof buildTemplate>; bytes: Uint8Array } {
  const infos = new Map<number, MetricInfo>(
    Array.from({ length: METRICS }, (_, id) => [id, { id, name: `synthetic_${id}`, type: F64, unit: { base: '1', prefix: '' }, description: 'synthetic counter for tests and benchmarks' }]),
  );
  const batch = buildTemplate({ metrics: [...infos.values()].map(({ id, name, type }) => ({ id, name, type })), pointsPerPoll: POINTS_PER_WRITE, attributes: SOURCE.attributes, failAfterPolls: 0 });
  for (let i = 0; i < batch.length; i++) {
    batch.tsSec[i] = 1_764_400_000 + Math.floor(i / 100);
    batch.tsNsec[i] = i * 1000;
    batch.setF64(i, i);
  }
  const encoder = new RequestEncoder({ prefix: '', suffix: '_alumet', useUnitDisplayName: true, addAttributesToLabels: true, version: PLUGIN_VERSION }, infos);
  return { encoder, batch, bytes: encoder.encode(batch) };
}

/** Points per second of the same encoded request sent back to back, one at a time, as the output sends them. */
async function directPointsPerS(protocol: OtlpProtocol, collectorHost: string, bytes: Uint8Array): Promise<number> {
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let send: () => Promise<void>;
  let close = (): void => undefined;
  if (protocol === 'grpc') {
    const client = new Client(grpcTarget(new URL(collectorHost)), credentials.createInsecure());
    close = () => client.close();
    send = () =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(EXPORT_METHOD, (b: Buffer) => b, (b: Buffer) => b, body, new Metadata(), (error) => (error ? reject(error) : resolve()));
      });
  } else {
    send = async () => {
      const res = await fetch(`${collectorHost}/v1/metrics`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    };
  }
  try {
    let points = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ROUND_S * 1000) {
      await send();
      points += POINTS_PER_WRITE;
    }
    return points / ((performance.now() - t0) / 1000);
  } finally {
    close();
  }
}

/** Points per second RequestEncoder turns into request bytes in this thread. */
function encodePointsPerS(encoder: RequestEncoder, batch: ReturnType<typeof buildTemplate>): number {
  let points = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < Math.min(ROUND_S, 3) * 1000) {
    encoder.encode(batch);
    points += batch.length;
  }
  return points / ((performance.now() - t0) / 1000);
}

export const otlp: Scenario = {
  name: 'otlp',
  what: `data points/s the opentelemetry output gets accepted by an OTLP receiver over gRPC and HTTP (vs the same encoded requests sent directly, and the encoding alone)`,
  async run() {
    const sample = sampleRequest();
    const json: Record<string, unknown> = { points_per_write: POINTS_PER_WRITE, request_bytes: sample.bytes.length };
    const rows: Row[] = [];
    const encodeRate = encodePointsPerS(sample.encoder, sample.batch);
    log(`otlp: encoding alone ${Math.round(encodeRate)} points/s (${sample.bytes.length} bytes per request of ${POINTS_PER_WRITE} points)`);
    json['baseline_encode_points_per_s'] = Math.round(encodeRate);
    for (const protocol of ['grpc', 'http/protobuf'] as const) {
      const cleanups: Cleanups = [];
      const dir = tempDir('alumet-bench-otlp-');
      cleanups.push(() => rmrf(dir));
      try {
        const t = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext;
        const receiver = await startOtlpReceiver(t, protocol, { record: false });
        const agent = await agentPointsPerS(dir, protocol, receiver.collectorHost, cleanups);
        const direct = await directPointsPerS(protocol, receiver.collectorHost, sample.bytes);
        log(`otlp ${protocol}: agent ${Math.round(agent)} points/s accepted; the same requests sent directly ${Math.round(direct)} points/s`);
        const key = protocol === 'grpc' ? 'grpc' : 'http';
        json[key] = { points_per_s: Math.round(agent), baseline_direct_points_per_s: Math.round(direct), ratio: round(agent / direct) };
        rows.push({ figure: `OTLP/${protocol === 'grpc' ? 'gRPC' : 'HTTP'} export`, value: Math.round(agent), unit: 'points/s', baseline: { name: 'same requests sent directly', value: Math.round(direct) } });
      } finally {
        for (const fn of cleanups.reverse()) await fn();
      }
    }
    rows.push({ figure: 'OTLP encoding alone', value: Math.round(encodeRate), unit: 'points/s' });
    return { json, rows };
  },
};
