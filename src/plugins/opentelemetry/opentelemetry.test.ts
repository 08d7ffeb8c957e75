// Tests of the opentelemetry plugin run by the agent (plugin harness: real config loader, real workers) behind
// a synthetic source, pushing to the test OTLP receiver over gRPC and over HTTP: every point arrives with its
// name, attributes, nanosecond timestamp and value; a collector down for 10 s loses nothing while the sources
// go on; a refused request and a partial success are counted rejected, the rest written.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { startPlugin, type PluginRun, type RecordedPoint } from '../../../test/helpers/plugin-harness.js';
import { startOtlpReceiver, type OtlpProtocol, type OtlpReceiver, type ReceivedPoint } from '../../../test/helpers/otlp-receiver.js';
import { waitFor } from '../../../test/helpers/agent-process.js';
import synthetic from '../synthetic/index.js';
import plugin from './index.js';

const OUTPUT = 'output/opentelemetry/out';
const SOURCE = 'source/synthetic/synthetic-0';
const PROTOCOLS: OtlpProtocol[] = ['grpc', 'http/protobuf'];

/** `name{attributes}@ns` of a point as the collector sees it. */
const receivedKey = (p: ReceivedPoint): string => `${p.metric}{${p.attributes.map(([k, v]) => `${k}=${v}`).join(',')}}@${p.time}`;

/** The same key for a point the agent produced, as the Rust plugin maps it (prefix, suffix, sorted string attributes). */
function producedKey(p: RecordedPoint, prefix = '', suffix = '_alumet'): string {
  const attributes: Array<[string, string]> = [
    ['resource_kind', p.resource.kind],
    ['resource_id', p.resource.id || 'empty'],
    ['resource_consumer_kind', p.consumer.kind],
    ['resource_consumer_id', p.consumer.id || 'empty'],
    ...Object.entries(p.attributes).map(([k, v]): [string, string] => [k, String(v)]),
  ].sort((a, b) => (a[0] < b[0] ? -1 : 1)) as Array<[string, string]>;
  const ns = BigInt(p.timestamp.sec) * 1_000_000_000n + BigInt(p.timestamp.nsec);
  return `${prefix}${p.metric}${suffix}{${attributes.map(([k, v]) => `${k}=${v}`).join(',')}}@${ns}`;
}

/** Asserts that the collector took exactly `points` (each once at least, none other), with their values. */
function assertReceived(receiver: OtlpReceiver, points: RecordedPoint[], naming?: { prefix: string; suffix: string }): void {
  const received = new Map<string, number | undefined>();
  for (const p of receiver.accepted()) received.set(receivedKey(p), p.value);
  const missing = points.filter((p) => !received.has(producedKey(p, naming?.prefix, naming?.suffix)));
  assert.deepEqual(missing.map((p) => producedKey(p)).slice(0, 5), [], `${missing.length} of ${points.length} points are missing at the collector`);
  for (const p of points) assert.equal(received.get(producedKey(p, naming?.prefix, naming?.suffix)), Number(p.value), `${producedKey(p)}: value`);
  assert.equal(received.size, points.length, 'the collector holds no other point');
}

function startAgent(t: Parameters<typeof startPlugin>[0], receiver: OtlpReceiver, poll: string, more: Record<string, unknown> = {}, source: Record<string, unknown> = {}): Promise<PluginRun> {
  return startPlugin(t, plugin, {
    config: { collector_host: receiver.collectorHost, protocol: receiver.protocol, min_backoff: '50ms', max_backoff: '500ms', flush_interval: '100ms', ...more },
    // three metrics, one point each per poll: a point is told apart by its metric, attributes and timestamp
    with: [{ plugin: synthetic, config: { points_per_poll: 3, metrics: 3, attributes: 2, poll_interval: poll, ...source } }],
  });
}

for (const protocol of PROTOCOLS) {
  const valueType = protocol === 'grpc' ? 'u64' : 'f64';
  test(`${protocol}: every ${valueType} point reaches the collector with its name, unit, attributes, exact nanosecond timestamp and value`, async (t) => {
    const receiver = await startOtlpReceiver(t, protocol);
    const naming = protocol === 'grpc' ? { prefix: 'node.', suffix: '' } : { prefix: '', suffix: '_alumet' };
    const run = await startAgent(t, receiver, '50ms', { max_points_per_write: 4, ...naming }, { value_type: valueType });
    await run.waitForPoints('60 points produced', (p) => p.length >= 60, 60_000);
    await run.waitForElement(OUTPUT, 'some points written', (e) => e.counters['points_out']! >= 30, 60_000);
    const points = await run.stop();
    assertReceived(receiver, points, naming);
    assert.equal(run.element(OUTPUT).counters['points_out'], points.length, 'written = produced, counted once the collector took them');
    assert.ok(receiver.requests.every((r) => r.points.length <= 4), 'max_points_per_write points per request at most');
    const first = receiver.accepted()[0]!;
    assert.equal(first.metric, `${naming.prefix}synthetic_0${naming.suffix}`);
    assert.equal(first.unit, '', 'the display name of the unity');
    assert.equal(first.description, 'synthetic counter for tests and benchmarks');
    assert.deepEqual(first.resource, [['service.name', 'alumet-otlp-grpc']]);
    assert.deepEqual(first.scope, { name: 'alumet', version: '0.1.0', attributes: [['tool', 'alumet']] });
    assert.deepEqual(first.attributes, [
      ['attr_0', 'm0_0'],
      ['attr_1', 'm0_1'],
      ['resource_consumer_id', 'empty'],
      ['resource_consumer_kind', 'local_machine'],
      ['resource_id', 'empty'],
      ['resource_kind', 'local_machine'],
    ]);
  });

  test(`${protocol}: the collector down for 10 s while points flow: the sources go on, the backlog holds the points, and every one arrives once it is back`, async (t) => {
    const receiver = await startOtlpReceiver(t, protocol);
    // One poll per request: a request in flight when the collector stops holds 3 points at most.
    const run = await startAgent(t, receiver, '100ms', { max_points_per_write: 3 });
    await waitFor(() => receiver.accepted().length >= 15, { what: 'the first points at the collector', timeout: 60_000, seen: () => `${receiver.accepted().length} points` });
    await receiver.stop();
    const down = Date.now();
    const writtenAtStop = run.element(OUTPUT).counters['points_out']!;
    const producedAtStop = run.element(SOURCE).counters['points_out']!;
    await waitFor(() => Date.now() - down >= 10_000, { what: 'a 10 s outage', timeout: 30_000 });
    const during = run.element(OUTPUT);
    assert.ok(during.counters['points_out']! <= writtenAtStop + 3, `nothing is counted written while the collector is down (one write may have been in flight): ${writtenAtStop} before, ${JSON.stringify(during.counters)}`);
    assert.equal(during.state, 'running', 'the output retries; it does not fail');
    assert.ok(during.counters['retries']! >= 3, `retried: ${JSON.stringify(during.counters)}`);
    assert.match(during.lastError ?? '', protocol === 'grpc' ? /gRPC UNAVAILABLE/ : /ECONNREFUSED/, 'status shows why');
    // The sources did not wait for the collector: ~100 polls of 3 points in 10 s, all held in the backlog.
    assert.ok(run.element(SOURCE).counters['points_out']! >= producedAtStop + 150, 'the source kept measuring');
    assert.ok(during.counters['backlog_points']! >= 150, `the backlog holds them: ${JSON.stringify(during.counters)}`);
    await receiver.start();
    const producedBefore = run.element(SOURCE).counters['points_out']!;
    await run.waitForElement(OUTPUT, 'the output caught up', (e) => e.counters['points_out']! >= producedBefore, 60_000);
    const points = await run.stop();
    assertReceived(receiver, points);
    const out = run.element(OUTPUT);
    assert.equal(out.counters['points_out'], points.length, 'written = produced');
    assert.equal(out.counters['dropped_backlog'], 0);
    assert.equal(out.counters['dropped_rejected'], 0);
  });

  test(`${protocol}: a refused request and a partial success are counted rejected, every other point written`, async (t) => {
    const receiver = await startOtlpReceiver(t, protocol);
    const refusal = protocol === 'grpc' ? { grpcCode: status.INVALID_ARGUMENT, message: 'test: refused' } : { httpStatus: 400, message: 'test: refused' };
    let refused: ReceivedPoint[] = [];
    receiver.answer = (request, n) => {
      if (n === 2) {
        refused = request.points;
        return refusal;
      }
      return n === 3 ? { accept: true, rejectedDataPoints: 2, errorMessage: 'test: two points refused' } : { accept: true };
    };
    const run = await startAgent(t, receiver, '50ms', { max_points_per_write: 6 });
    await waitFor(() => receiver.requests.length >= 8, { what: '8 requests', timeout: 60_000, seen: () => `${receiver.requests.length} requests` });
    assert.equal(run.element(OUTPUT).state, 'running');
    const points = await run.stop();
    assert.ok(refused.length > 0, 'the refused request held points');
    const counters = run.element(OUTPUT).counters;
    assert.equal(counters['dropped_rejected'], refused.length + 2, JSON.stringify(counters));
    assert.equal(counters['points_out'], points.length - refused.length - 2, JSON.stringify(counters));
    // Every produced point but the refused request's reached the collector (a partial success's points too:
    // the collector says how many it dropped, not which).
    const refusedKeys = new Set(refused.map(receivedKey));
    const kept = points.filter((p) => !refusedKeys.has(producedKey(p)));
    assert.equal(kept.length, points.length - refused.length, 'the refused points are points the source produced');
    assertReceived(receiver, kept);
  });
}
