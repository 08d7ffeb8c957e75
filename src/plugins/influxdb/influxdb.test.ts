// Tests of the influxdb plugin against a real InfluxDB 1.x (influxd started by each test on free loopback
// ports, test/helpers/influxdb.ts). Through the plugin harness (real config loader, real workers), behind
// real sources: every point comes back from /query with its exact value, tags and nanosecond timestamp;
// with attributes_as = "field" (the Rust default) the points InfluxDB keeps as one are counted collapsed;
// the v2 request, checked by a proxy, is stored by the server's own parser; every point survives a 10 s
// outage; a failed start-up check says what the server answered. In this thread: names and strings with
// every character line protocol escapes, and values at the edges, read back exactly.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { F64, U64 } from '../../protocol/batch.js';
import { startPlugin, type PluginRun, type RecordedPoint } from '../../../test/helpers/plugin-harness.js';
import { startInfluxdb, type Cell, type InfluxServer, type StoredPoint } from '../../../test/helpers/influxdb.js';
import { waitFor } from '../../../test/helpers/agent-process.js';
import { batchOf, fakeContext, metricTable } from '../../../test/helpers/csv-output.js';
import { formatAttrValue } from '../shared/rust-format.js';
import procfs from '../procfs/index.js';
import synthetic from '../synthetic/index.js';
import type { InfluxConfig } from './config.js';
import influxdb from './index.js';
import { InfluxOutput } from './output.js';

const OUTPUT = 'output/influxdb/influxdb';
const DB = 'alumet';

/** procfs's kernel source alone, every 100 ms: kernel_cpu_time per cpu_state at each timestamp. */
const kernelSource = { plugin: procfs, config: { kernel: { poll_interval: '100ms' }, memory: { enabled: false }, network: { enabled: false }, processes: { enabled: false } } };

/** Three synthetic f64 series, one point each per poll, with one string attribute. */
const syntheticSource = (poll: string) => ({ plugin: synthetic, config: { points_per_poll: 3, metrics: 3, attributes: 1, poll_interval: poll } });

/** Where a point is in InfluxDB: measurement, sorted tags, nanoseconds. */
const storedKey = (p: StoredPoint): string => `${p.measurement}|${Object.entries(p.tags).sort().map(([k, v]) => `${k}=${v}`).join(',')}|${p.time}`;

/** The key and fields InfluxDB should hold for a point the agent produced, with its attributes as tags or fields. */
function expected(p: RecordedPoint, attributesAs: 'tag' | 'field'): { key: string; fields: Record<string, number | bigint | string> } {
  const tags: Record<string, string> = { resource_kind: p.resource.kind, resource_id: p.resource.id, resource_consumer_kind: p.consumer.kind, resource_consumer_id: p.consumer.id };
  const fields: Record<string, number | bigint | string> = { value: p.value };
  for (const [k, v] of Object.entries(p.attributes)) {
    if (attributesAs === 'tag') tags[k] = formatAttrValue(v);
    else fields[k] = typeof v === 'string' ? v : formatAttrValue(v);
  }
  const tagText = Object.entries(tags)
    .filter(([, v]) => v !== '')
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return { key: `${p.metric}|${tagText}|${BigInt(p.timestamp.sec) * 1_000_000_000n + BigInt(p.timestamp.nsec)}`, fields };
}

/** A stored cell equals what was sent: f64 by value (InfluxDB prints 3.0 as 3), u64 and strings exactly. */
function sameCell(sent: number | bigint | string, stored: Cell | undefined): boolean {
  return typeof sent === 'number' ? (typeof stored === 'number' || typeof stored === 'bigint') && Number(stored) === sent : stored === sent;
}

/** Asserts that InfluxDB holds exactly `points` (keys, values and attributes), none more. */
function assertStored(stored: StoredPoint[], points: RecordedPoint[], attributesAs: 'tag' | 'field'): void {
  const byKey = new Map(stored.map((p) => [storedKey(p), p]));
  assert.equal(byKey.size, stored.length, 'no two stored points share series and timestamp');
  const missing = points.filter((p) => !byKey.has(expected(p, attributesAs).key));
  assert.deepEqual(missing.map((p) => expected(p, attributesAs).key).slice(0, 5), [], `${missing.length} of ${points.length} points are missing`);
  for (const p of points) {
    const { key, fields } = expected(p, attributesAs);
    const have = byKey.get(key)!;
    assert.deepEqual(Object.keys(have.fields).sort(), Object.keys(fields).sort(), `${key}: fields`);
    for (const [f, v] of Object.entries(fields)) assert.ok(sameCell(v, have.fields[f]), `${key}: ${f} is ${String(have.fields[f])}, sent ${String(v)}`);
  }
  assert.equal(stored.length, points.length, 'InfluxDB holds no other point');
}

async function influxWithDb(t: TestContext): Promise<InfluxServer> {
  const influx = await startInfluxdb(t);
  await influx.createDatabase(DB);
  return influx;
}

function startV1(t: TestContext, influx: InfluxServer, source: { plugin: typeof procfs | typeof synthetic; config: Record<string, unknown> }, more: Record<string, unknown> = {}): Promise<PluginRun> {
  return startPlugin(t, influxdb, {
    config: { host: influx.base, api: 'v1', database: DB, flush_interval: '100ms', min_backoff: '50ms', max_backoff: '500ms', ...more },
    with: [source],
  });
}

test('v1: every point of procfs reaches InfluxDB with its exact value, tags and nanosecond timestamp (attributes as tags)', async (t) => {
  const influx = await influxWithDb(t);
  const run = await startV1(t, influx, kernelSource, { attributes_as: 'tag' });
  await run.waitForElement(OUTPUT, '300 points written', (e) => e.counters['points_out']! >= 300, 60_000);
  const points = await run.stop();
  assertStored(await influx.points(DB), points, 'tag');
  assert.ok(points.some((p) => p.metric === 'kernel_cpu_time' && p.attributes['cpu_state'] === 'idle'), 'kernel_cpu_time per cpu_state is among them');
  const counters = run.element(OUTPUT).counters;
  assert.equal(counters['points_out'], points.length, `written = produced: ${JSON.stringify(counters)}`);
  assert.equal(counters['collapsed'], 0);
  assert.equal(counters['dropped_rejected'], 0);
});

test('v1 with attributes_as = "field" (the Rust default): InfluxDB keeps one point per series and timestamp, the others are counted collapsed', async (t) => {
  const influx = await influxWithDb(t);
  const run = await startV1(t, influx, kernelSource);
  await run.waitForElement(OUTPUT, 'points collapsed', (e) => e.counters['collapsed']! >= 50, 60_000);
  const points = await run.stop();
  const stored = await influx.points(DB);
  const counters = run.element(OUTPUT).counters;
  assert.equal(stored.length + counters['collapsed']!, points.length, `stored + collapsed = produced: ${stored.length} + ${JSON.stringify(counters)}`);
  assert.equal(counters['points_out'], stored.length, 'written counts what InfluxDB holds');
  // What InfluxDB holds of kernel_cpu_time: one point per resource and timestamp, the cpu_state as a field.
  const cpu = stored.filter((p) => p.measurement === 'kernel_cpu_time');
  const produced = new Set(points.filter((p) => p.metric === 'kernel_cpu_time').map((p) => expected(p, 'field').key));
  assert.equal(cpu.length, produced.size);
  assert.ok(cpu.every((p) => typeof p.fields['cpu_state'] === 'string' && p.tags['cpu_state'] === undefined));
  const balance = run.agent.supervisor.pointBalance().outputs.find((o) => o.name === OUTPUT)!;
  assert.equal(balance.collapsed, counters['collapsed']);
  assert.equal(balance.unaccounted, 0);
});

test('v2: the request carries org, bucket, precision=ns, the token and the content type, and InfluxDB stores its lines exactly', async (t) => {
  const influx = await influxWithDb(t);
  // influxd 1.6 has no /api/v2/write: a proxy checks the v2 request and hands its body, unchanged, to /write.
  const wrong: string[] = [];
  let requests = 0;
  const proxy: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      const url = new URL(req.url!, 'http://proxy');
      const seen = { method: req.method, path: url.pathname, query: url.search, authorization: req.headers['authorization'], type: req.headers['content-type'] };
      const want = { method: 'POST', path: '/api/v2/write', query: `?org=lab&bucket=${DB}&precision=ns`, authorization: 'Token t0k3n', type: 'text/plain; charset=utf-8' };
      if (JSON.stringify(seen) !== JSON.stringify(want)) wrong.push(JSON.stringify(seen));
      fetch(`${influx.base}/write?db=${url.searchParams.get('bucket')}&precision=ns`, { method: 'POST', body: Buffer.concat(chunks) })
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
  const run = await startPlugin(t, influxdb, {
    config: { host: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, token: 't0k3n', org: 'lab', bucket: DB, flush_interval: '100ms' },
    with: [syntheticSource('50ms')],
  });
  await run.waitForElement(OUTPUT, '60 points written', (e) => e.counters['points_out']! >= 60, 60_000);
  const points = await run.stop();
  assert.deepEqual(wrong, [], 'every request is a v2 write');
  assert.ok(requests >= 2, 'the start-up check and the writes went through the proxy');
  assertStored(await influx.points(DB), points, 'field');
  assert.equal(run.element(OUTPUT).counters['points_out'], points.length);
});

test('InfluxDB stopped for 10 s while points flow: the sources go on, the backlog holds the points, and every one is stored once it is back', async (t) => {
  const influx = await influxWithDb(t);
  const run = await startV1(t, influx, syntheticSource('100ms'));
  await influx.waitForPoints(DB, 'the first points in InfluxDB', (p) => p.length >= 15);
  await influx.stop();
  const down = Date.now();
  const writtenAtStop = run.element(OUTPUT).counters['points_out']!;
  const producedAtStop = run.points().length;
  await waitFor(() => Date.now() - down >= 10_000, { what: 'a 10 s outage', timeout: 30_000 });
  const during = run.element(OUTPUT);
  assert.ok(during.counters['points_out']! <= writtenAtStop + 3, 'nothing is counted written while InfluxDB is down (one write may have been in flight)');
  assert.equal(during.state, 'running', 'the output retries; it does not fail');
  assert.ok(during.counters['retries']! >= 3, `retried: ${JSON.stringify(during.counters)}`);
  assert.match(during.lastError ?? '', /ECONNREFUSED/, 'status shows why');
  // The sources did not wait for InfluxDB: ~100 polls of 3 points in 10 s, all held in the backlog.
  assert.ok(run.element('source/synthetic/synthetic-0').counters['points_out']! >= producedAtStop + 150, 'the source kept measuring');
  assert.ok(during.counters['backlog_points']! >= 150, `the backlog holds them: ${JSON.stringify(during.counters)}`);
  await influx.start();
  const producedBefore = run.points().length;
  await run.waitForElement(OUTPUT, 'the output caught up', (e) => e.counters['points_out']! >= producedBefore, 60_000);
  const points = await run.stop();
  assertStored(await influx.points(DB), points, 'field');
  const counters = run.element(OUTPUT).counters;
  assert.equal(counters['points_out'], points.length, 'written = produced');
  assert.equal(counters['dropped_backlog'], 0);
});

test('a failed start-up check stops the agent with what InfluxDB answered: an unknown database, a wrong password', async (t) => {
  const influx = await influxWithDb(t);
  await assert.rejects(startV1(t, influx, syntheticSource('1s'), { database: 'nope' }), (e: Error) => {
    assert.match(e.message, /output\/influxdb\/influxdb: the start-up check \(an empty write to http:\/\/127\.0\.0\.1:\d+\/write\?db=nope&precision=ns\) failed: HTTP 404: \{"error":"database not found: \\"nope\\""\}; check database and retention_policy/);
    return true;
  });
  const secured = await startInfluxdb(t, { admin: { username: 'admin', password: 'right' } });
  await secured.createDatabase(DB);
  await assert.rejects(startV1(t, secured, syntheticSource('1s'), { username: 'admin', password: 'wrong' }), /failed: HTTP 401: \{"error":"authorization failed"\}; check username and password/);
  const run = await startV1(t, secured, syntheticSource('50ms'), { username: 'admin', password: 'right' });
  await run.waitForElement(OUTPUT, 'points written with the right password', (e) => e.counters['points_out']! >= 9, 60_000);
  const points = await run.stop();
  assertStored(await secured.points(DB), points, 'field');
});

test('names and strings with spaces, commas, equals signs, quotes, backslashes and line breaks, and edge values, read back exactly', async (t) => {
  const influx = await influxWithDb(t);
  // Backslashes everywhere but right before a space, comma or equals sign in a name, which InfluxDB 1.x's
  // parser reads inconsistently (README, "What is sent").
  const odd = 'odd measurement, with = "quotes" and back\\slashes';
  const metrics = metricTable([
    [odd, F64, '1'],
    ['plain', U64, '1'],
  ]);
  const tagKey = 'tag key, =1 "q" \\x';
  const tagValue = 'tag value, =2 "q" \\y';
  const fieldKey = 'field key, = "k" \\x';
  const note = 'line one\nline two, = "quoted" \\ back\\\\slash \\';
  const config = {
    ...(influxdb.config.defaultValue() as InfluxConfig),
    host: influx.base,
    api: 'v1' as const,
    database: DB,
    attributes_as: 'tag' as const,
    attributes_as_fields: [fieldKey, 'flag', 'list', 'count'],
  };
  const { ctx, logs } = fakeContext(metrics);
  const out = new InfluxOutput(config, ctx);
  await out.check();
  const sec = 1_764_000_000;
  const batch = batchOf(
    [
      { metric: 0, value: 1.5, ts: { sec, nsec: 1 }, consumer: { kind: 'cgroup', id: '/sys/fs/cgroup/my app,1=2' }, attributes: [[tagKey, tagValue], [fieldKey, note], ['flag', true], ['list', [1n, 2n, 3n]], ['count', 2n ** 63n - 1n]] },
      { metric: 0, value: 0.1 + 0.2, ts: { sec, nsec: 2 } },
      { metric: 0, value: 1e21, ts: { sec, nsec: 3 } },
      { metric: 0, value: -1e-7, ts: { sec, nsec: 4 } },
      { metric: 1, value: 2n ** 63n - 1n, ts: { sec, nsec: 999_999_999 } },
      // What line protocol cannot carry in a name: a line break (written as \n) and a final backslash (left out).
      { metric: 1, value: 7n, ts: { sec: sec + 1, nsec: 0 }, attributes: [['broken', 'a\nb'], ['ends', 'c\\']] },
    ],
    metrics,
  );
  assert.deepEqual(await out.write(batch), { rejected: 0, collapsed: 0 });
  out.close();
  const base = { resource_kind: 'local_machine', resource_consumer_kind: 'local_machine' };
  const t0 = BigInt(sec) * 1_000_000_000n;
  const want: StoredPoint[] = [
    { measurement: odd, tags: { ...base, resource_consumer_kind: 'cgroup', resource_consumer_id: '/sys/fs/cgroup/my app,1=2', [tagKey]: tagValue }, time: t0 + 1n, fields: { value: 1.5, [fieldKey]: note, flag: true, list: '1,2,3', count: 2n ** 63n - 1n } },
    { measurement: odd, tags: base, time: t0 + 2n, fields: { value: 0.30000000000000004 } },
    { measurement: odd, tags: base, time: t0 + 3n, fields: { value: 1e21 } },
    { measurement: odd, tags: base, time: t0 + 4n, fields: { value: -1e-7 } },
    { measurement: 'plain', tags: base, time: t0 + 999_999_999n, fields: { value: 2n ** 63n - 1n } },
    { measurement: 'plain', tags: { ...base, broken: 'a\\nb', ends: 'c' }, time: t0 + 1_000_000_000n, fields: { value: 7n } },
  ];
  const stored = await influx.points(DB);
  assert.deepEqual(stored.sort((a, b) => storedKey(a).localeCompare(storedKey(b))), want.sort((a, b) => storedKey(a).localeCompare(storedKey(b))));
  assert.equal(logs.filter((l) => l.level === 'warn' && /"a\\nb", "c\\\\"/.test(l.msg ?? '')).length, 1, `one warning names what was rewritten: ${JSON.stringify(logs)}`);
});
