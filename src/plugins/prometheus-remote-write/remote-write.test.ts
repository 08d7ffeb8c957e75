// Tests of the prometheus-remote-write plugin: its checks; and the plugin run by the agent (plugin harness:
// real config loader, real workers) behind a synthetic source, pushing to a real Prometheus started by the
// test with its remote-write receiver: every point arrives with its exact value and millisecond timestamp,
// every point survives a 10 s outage of Prometheus, and a request refused with 400 is dropped while the
// agent goes on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { uncompress } from 'snappyjs';
import { Problems } from '../../agent/config/schema.js';
import { startPlugin, type PluginRun, type RecordedPoint } from '../../../test/helpers/plugin-harness.js';
import { startPrometheus, type PrometheusServer } from '../../../test/helpers/prometheus.js';
import { waitFor } from '../../../test/helpers/agent-process.js';
import synthetic from '../synthetic/index.js';
import type { RemoteWriteConfig } from './config.js';
import { WriteRequest } from './encode.js';
import plugin from './index.js';

const OUTPUT = 'output/prometheus-remote-write/remote-write';

const configOf = (overrides: Record<string, unknown>): RemoteWriteConfig => {
  const problems = new Problems();
  const cfg = plugin.config.parse(overrides, 'plugins.prometheus-remote-write', problems) as RemoteWriteConfig;
  assert.deepEqual(problems.list, []);
  return cfg;
};

test('the checks refuse a bad url, protocol headers, ambiguous credentials and bad external label names', () => {
  const cases: Array<[Record<string, unknown>, string[]]> = [
    [{}, []],
    [{ url: 'localhost:9090' }, ['url: must be an http:// or https:// URL']],
    [{ url: 'not a url' }, ['url: "not a url" is not a URL']],
    [{ headers: { 'content-type': 'text/plain', 'X-Scope-OrgID': 'a' } }, ['headers.content-type: is set by the plugin']],
    [{ basic_auth: { username: 'u' } }, ['basic_auth: needs exactly one of password and password_file']],
    [{ basic_auth: { username: 'u', password: 'p' }, bearer_token: 't' }, ['basic_auth: cannot be combined']],
    [{ bearer_token: 't', bearer_token_file: '/f' }, ['bearer_token: set bearer_token or bearer_token_file, not both']],
    [{ external_labels: { instance: 'a', 'bad-name': 'b', __x: 'c' } }, ['external_labels.bad-name: is not a valid label name', 'external_labels.__x: label names starting with "__"']],
    [{ min_backoff: '2s', max_backoff: '1s' }, ['max_backoff: 1s is shorter than min_backoff (2s)']],
  ];
  for (const [overrides, expected] of cases) {
    const problems = new Problems();
    plugin.check!(configOf(overrides), problems);
    assert.equal(problems.list.length, expected.length, `${JSON.stringify(overrides)}: ${problems.list.join(' | ')}`);
    expected.forEach((start, i) => assert.ok(problems.list[i]!.startsWith(start), `${problems.list[i]} starts with ${start}`));
  }
});

/** `name{attr_0="…"}@ms` of a recorded synthetic point, as Prometheus will show it. */
const keyOf = (p: RecordedPoint): string => {
  const ms = p.timestamp.sec * 1000 + Math.floor(p.timestamp.nsec / 1e6);
  return `${p.metric}_alumet{attr_0="${String(p.attributes['attr_0'])}"}@${ms}`;
};

/** Every synthetic sample Prometheus holds, by key, with its value. */
async function stored(prom: PrometheusServer): Promise<Map<string, number>> {
  const result = await prom.query('{__name__=~"synthetic_.*"}[1h]', Date.now() / 1000 + 60);
  const out = new Map<string, number>();
  for (const series of result) {
    for (const [t, v] of series.values ?? []) out.set(`${series.metric['__name__']}{attr_0="${series.metric['attr_0']}"}@${Math.round(t * 1000)}`, Number(v));
  }
  return out;
}

/** Asserts that Prometheus holds exactly `points` (keys and values), none more. */
async function assertStored(prom: PrometheusServer, points: RecordedPoint[]): Promise<void> {
  const have = await stored(prom);
  const missing = points.filter((p) => !have.has(keyOf(p)));
  assert.deepEqual(missing.map(keyOf).slice(0, 10), [], `${missing.length} of ${points.length} points are missing in Prometheus`);
  for (const p of points) assert.equal(have.get(keyOf(p)), Number(p.value), `${keyOf(p)}: value`);
  assert.equal(have.size, points.length, 'Prometheus holds no other synthetic sample');
}

function startAgent(t: Parameters<typeof startPlugin>[0], url: string, poll: string, more: Record<string, unknown> = {}): Promise<PluginRun> {
  return startPlugin(t, plugin, {
    config: { url, min_backoff: '50ms', max_backoff: '500ms', flush_interval: '100ms', external_labels: { instance: 'test' }, ...more },
    // three series, one point each per poll: every sample has its own (series, ms) in Prometheus
    with: [{ plugin: synthetic, config: { points_per_poll: 3, metrics: 3, attributes: 1, poll_interval: poll } }],
  });
}

test('every point reaches a real Prometheus with its exact value and millisecond timestamp', async (t) => {
  const prom = await startPrometheus(t, { remoteWriteReceiver: true });
  const run = await startAgent(t, prom.writeUrl, '50ms', { max_samples_per_send: 4 });
  await run.waitForPoints('60 points produced', (p) => p.length >= 60, 60_000);
  await run.waitForElement(OUTPUT, 'some points written', (e) => e.counters['points_out']! >= 30, 60_000);
  const points = await run.stop();
  await assertStored(prom, points);
  const out = run.element(OUTPUT);
  assert.equal(out.counters['points_out'], points.length, 'written = produced, counted once the server accepted them');
  const [series] = await prom.query('synthetic_0_alumet', Date.now() / 1000 + 1);
  assert.deepEqual(series!.metric, { __name__: 'synthetic_0_alumet', attr_0: 'm0_0', instance: 'test', resource_consumer_kind: 'local_machine', resource_kind: 'local_machine' });
});

test('Prometheus stopped for 10 s while points flow: the sources go on, the backlog holds the points, and every one is stored once it is back', async (t) => {
  const prom = await startPrometheus(t, { remoteWriteReceiver: true });
  const run = await startAgent(t, prom.writeUrl, '100ms');
  await waitFor(async () => (await stored(prom)).size >= 15, { what: 'the first points in Prometheus', timeout: 60_000 });
  await prom.stop();
  const down = Date.now();
  const writtenAtStop = run.element(OUTPUT).counters['points_out']!;
  const producedAtStop = run.points().length;
  await waitFor(() => Date.now() - down >= 10_000, { what: 'a 10 s outage', timeout: 30_000 });
  const during = run.element(OUTPUT);
  assert.ok(during.counters['points_out']! <= writtenAtStop + 3, 'nothing is counted written while Prometheus is down (one write may have been in flight)');
  assert.equal(during.state, 'running', 'the output retries; it does not fail');
  assert.ok(during.counters['retries']! >= 3, `retried: ${JSON.stringify(during.counters)}`);
  assert.match(during.lastError ?? '', /ECONNREFUSED/, 'status shows why');
  // The sources did not wait for Prometheus: ~100 polls of 3 points in 10 s, all held in the backlog.
  assert.ok(run.element('source/synthetic/synthetic-0').counters['points_out']! >= producedAtStop + 150, 'the source kept measuring');
  assert.ok(during.counters['backlog_points']! >= 150, `the backlog holds them: ${JSON.stringify(during.counters)}`);
  await prom.start();
  const producedBefore = run.points().length;
  await run.waitForElement(OUTPUT, 'the output caught up', (e) => e.counters['points_out']! >= producedBefore, 60_000);
  const points = await run.stop();
  await assertStored(prom, points);
  assert.equal(run.element(OUTPUT).counters['points_out'], points.length, 'written = produced');
  assert.equal(run.element(OUTPUT).counters['dropped_backlog'], 0);
});

test('a request refused with 400 is dropped, and the agent goes on writing', async (t) => {
  const prom = await startPrometheus(t, { remoteWriteReceiver: true });
  const refused: string[] = [];
  let requests = 0;
  // A proxy that refuses the second request and forwards every other one to Prometheus.
  const proxy: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests++;
      if (requests === 2) {
        const decoded = WriteRequest.toObject(WriteRequest.decode(uncompress(body)), { longs: Number, defaults: true }) as {
          timeseries: Array<{ labels: Array<{ name: string; value: string }>; samples: Array<{ value: number; timestamp: number }> }>;
        };
        for (const s of decoded.timeseries) {
          const l = Object.fromEntries(s.labels.map((x) => [x.name, x.value]));
          for (const x of s.samples) refused.push(`${l['__name__']}{attr_0="${l['attr_0']}"}@${x.timestamp}`);
        }
        res.writeHead(400, { 'Content-Type': 'text/plain' });
        res.end('test proxy: refused');
        return;
      }
      const forwarded = ['content-encoding', 'content-type', 'x-prometheus-remote-write-version', 'user-agent'];
      fetch(prom.writeUrl, { method: 'POST', headers: Object.fromEntries(forwarded.map((h) => [h, String(req.headers[h])])), body })
        .then(async (r) => {
          res.writeHead(r.status);
          res.end(Buffer.from(await r.arrayBuffer()));
        })
        .catch((e: Error) => {
          res.writeHead(502);
          res.end(e.message);
        });
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
  const run = await startAgent(t, `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/api/v1/write`, '50ms');
  await waitFor(() => requests >= 8, { what: '8 requests through the proxy', timeout: 60_000, seen: () => `${requests} requests` });
  assert.equal(run.element(OUTPUT).state, 'running');
  const points = await run.stop();
  assert.ok(refused.length > 0, 'the refused request held samples');
  // The refused points are counted as such, not as written: the output's balance stays exact.
  const counters = run.element(OUTPUT).counters;
  assert.equal(counters['dropped_rejected'], refused.length, JSON.stringify(counters));
  assert.equal(counters['points_out'], points.length - refused.length, JSON.stringify(counters));
  const keys = new Set(refused);
  const kept = points.filter((p) => !keys.has(keyOf(p)));
  assert.equal(kept.length, points.length - refused.length, 'the refused samples are points the source produced');
  await assertStored(prom, kept);
});
