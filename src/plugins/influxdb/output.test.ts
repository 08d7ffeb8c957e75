// Tests of the influxdb output element in this thread against a node:http server on loopback: the request
// of each API (path, query, headers, credentials, gzip), the start-up check and what its failure says, and
// what each answer makes of a write (accepted, refused, retried, InfluxDB 1.x's partial write), with the
// skipped and collapsed points counted and warned about once.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { F64, U64 } from '../../protocol/batch.js';
import { Problems } from '../../agent/config/schema.js';
import { pluginConfig } from '../../agent/config/plugin-selection.js';
import { configProblems } from '../../../test/helpers/plugin-config.js';
import { batchOf, fakeContext, metricTable, type Point } from '../../../test/helpers/csv-output.js';
import type { InfluxConfig } from './config.js';
import plugin from './index.js';
import outputModule, { InfluxOutput, USER_AGENT, refusedOfPartialWrite } from './output.js';

const METRICS = metricTable([
  ['kernel_cpu_time', U64, 'ms'],
  ['cpu_percent', F64, '%'],
]);
const TS = { sec: 1_700_000_000, nsec: 0 };

interface Request {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A server answering each request with `answer(n)` (status and body); it records every request. */
async function server(t: TestContext, answer: (n: number) => [number, string]): Promise<{ host: string; requests: Request[] }> {
  const requests: Request[] = [];
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body: body.toString() });
      const [status, text] = answer(requests.length);
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => srv.close(() => resolve())));
  return { host: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, requests };
}

function configOf(table: Record<string, unknown>): InfluxConfig {
  const problems = new Problems();
  const config = pluginConfig(plugin, table, problems) as InfluxConfig;
  assert.deepEqual(problems.list, []);
  return config;
}

const cpuStates = (ts = TS): Point[] => ['user', 'system', 'idle'].map((s, i) => ({ metric: 0, value: BigInt(i + 1), ts, attributes: [['cpu_state', s]] as Point['attributes'] }));

test('v2: the start-up check is an empty write; each write POSTs the lines to /api/v2/write with org, bucket, precision=ns and the token', async (t) => {
  const { host, requests } = await server(t, () => [204, '']);
  const ctx = fakeContext(METRICS).ctx;
  const out = await outputModule.create(configOf({ host: `${host}/`, token: 's3cret', org: 'my org', bucket: 'b&1', attributes_as: 'tag' }), ctx);
  assert.equal(requests.length, 1, 'create makes the check');
  assert.equal(requests[0]!.body, '');
  assert.deepEqual(await out.write(batchOf(cpuStates(), METRICS)), { rejected: 0, collapsed: 0 });
  assert.equal(requests.length, 2);
  for (const r of requests) {
    assert.equal(r.method, 'POST');
    assert.equal(r.url, '/api/v2/write?org=my+org&bucket=b%261&precision=ns');
    assert.equal(r.headers['authorization'], 'Token s3cret');
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(r.headers['accept'], 'application/json');
    assert.equal(r.headers['user-agent'], USER_AGENT);
    assert.equal(r.headers['content-encoding'], undefined);
  }
  assert.equal(
    requests[1]!.body,
    ['user', 'system', 'idle'].map((s, i) => `kernel_cpu_time,resource_kind=local_machine,resource_consumer_kind=local_machine,cpu_state=${s} value=${i + 1}u 1700000000000000000`).join('\n'),
  );
});

test('v1: /write with db, rp and precision=ns, basic authentication, signed integers; gzip compresses the body', async (t) => {
  const { host, requests } = await server(t, () => [204, '']);
  const config = configOf({ host, api: 'v1', database: 'telemetry', retention_policy: 'one week', username: 'alice', password: 'pw', gzip: true });
  const out = await outputModule.create(config, fakeContext(METRICS).ctx);
  await out.write(batchOf([{ metric: 0, value: 5n, ts: TS }], METRICS));
  assert.equal(requests.length, 2);
  for (const r of requests) {
    assert.equal(r.url, '/write?db=telemetry&rp=one+week&precision=ns');
    assert.equal(r.headers['authorization'], `Basic ${Buffer.from('alice:pw').toString('base64')}`);
    assert.equal(r.headers['content-encoding'], 'gzip');
  }
  assert.equal(requests[1]!.body, 'kernel_cpu_time,resource_kind=local_machine,resource_consumer_kind=local_machine value=5i 1700000000000000000');
});

test('a failed start-up check says what the server answered and which keys to check', async (t) => {
  const cases: Array<[Record<string, unknown>, [number, string], RegExp]> = [
    [{}, [401, '{"code":"unauthorized","message":"unauthorized access"}'], /failed: HTTP 401: \{"code":"unauthorized","message":"unauthorized access"\}; check token$/],
    [{}, [404, '{"code":"not found","message":"bucket \\"b\\" not found"}'], /failed: HTTP 404: .*bucket \\"b\\" not found.*; check org and bucket/],
    [{ api: 'v1', database: 'nope' }, [404, '{"error":"database not found: \\"nope\\""}'], /failed: HTTP 404: \{"error":"database not found: \\"nope\\""\}; check database and retention_policy$/],
    [{ api: 'v1', database: 'd', username: 'u', password: 'p' }, [401, '{"error":"authorization failed"}'], /failed: HTTP 401: .*; check username and password$/],
    [{}, [500, 'boom'], /failed: HTTP 500: boom; check host, and that the server is running$/],
  ];
  for (const [overrides, answer, message] of cases) {
    const { host } = await server(t, () => answer);
    const ctx = fakeContext(METRICS).ctx;
    const config = configOf({ host, ...(overrides['api'] === 'v1' ? {} : { bucket: 'b' }), ...overrides });
    await assert.rejects(async () => outputModule.create(config, ctx), (e: Error) => {
      assert.match(e.message, /^output\/csv\/csv: the start-up check \(an empty write to http:\/\/127\.0\.0\.1:\d+\/[^ ]+\) failed: /);
      assert.match(e.message, message);
      return true;
    });
  }
  // Nothing listens: the error says why no answer came.
  const closed = await new Promise<string>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(`http://127.0.0.1:${port}`));
    });
  });
  await assert.rejects(async () => outputModule.create(configOf({ host: closed }), fakeContext(METRICS).ctx), /failed: ECONNREFUSED .*; check host, and that the server is running$/);
});

test('each write: accepted with skipped and collapsed counted, retried on 503, refused on 400, in part on a 1.x partial write', async (t) => {
  const answers: Array<[number, string]> = [
    [204, ''],
    [503, 'busy'],
    [204, ''],
    [400, '{"error":"unable to parse \'x\': bad"}'],
    [400, '{"error":"partial write: field type conflict: input field \\"value\\" on measurement \\"cpu_percent\\" is type integer, already exists as type float dropped=1"}'],
  ];
  const { host, requests } = await server(t, (n) => answers[n - 1]!);
  const { ctx, logs } = fakeContext(METRICS);
  const out = new InfluxOutput(configOf({ host, min_backoff: '250ms' }), ctx);
  const mixed = batchOf([...cpuStates(), { metric: 1, value: NaN, ts: TS }, { metric: 1, value: 0.5, ts: TS }], METRICS);
  assert.deepEqual(await out.write(mixed), { rejected: 1, collapsed: 2 });
  assert.deepEqual(await out.write(mixed), { retryAfterMs: 250, error: `${host}/api/v2/write?org=FILL+ME&bucket=FILL+ME&precision=ns: HTTP 503: busy` });
  // The retry goes again, and its points overwrite those of the accepted write with the same timestamps.
  assert.deepEqual(await out.write(mixed), { rejected: 1, collapsed: 4 });
  assert.deepEqual(await out.write(batchOf(cpuStates({ sec: 1, nsec: 0 }), METRICS)), { rejected: 3 });
  assert.deepEqual(await out.write(batchOf([{ metric: 1, value: 1, ts: TS }, { metric: 1, value: 2, ts: { sec: 2, nsec: 0 } }], METRICS)), { rejected: 1, collapsed: 1 });
  out.close();
  assert.equal(requests.length, 5);
  assert.equal(requests[0]!.body.split('\n').length, 4, 'the NaN point is not sent');
  assert.deepEqual([out.acceptedPoints, out.refusedPoints, out.skippedPoints, out.collapsedPoints], [9, 4, 2, 7]);
  const warnings = logs.filter((l) => l.level === 'warn').map((l) => l.msg ?? '');
  assert.equal(warnings.filter((w) => w.includes('NaN')).length, 1, `the NaN is warned about once: ${warnings.join(' | ')}`);
  assert.equal(warnings.filter((w) => w.includes('attributes_as_tags = ["cpu_state"]')).length, 1, 'the collapse is warned about once, with the remedy');
  assert.match(logs.at(-1)!.msg ?? '', /9 points accepted \(7 of them stored as one with another\), 4 refused \(2 requests\), 2 not sent/);
});

test("InfluxDB 1.x's partial write: the points it dropped and the lines it could not parse", () => {
  assert.equal(refusedOfPartialWrite('{"error":"partial write: field type conflict: … dropped=2"}'), 2);
  assert.equal(refusedOfPartialWrite('{"error":"partial write: unable to parse \'a b\': invalid field format\\nunable to parse \'c\': x dropped=0"}'), 2);
  assert.equal(refusedOfPartialWrite('{"error":"unable to parse \'x\': bad"}'), undefined);
  assert.equal(refusedOfPartialWrite('{"error":"partial write: field type conflict: … dropp…'), undefined, 'a message cut short says nothing');
});

test('the checks refuse a bad host, backoffs the wrong way round, and keys of the other API', () => {
  const cases: Array<[Record<string, unknown>, string[]]> = [
    [{}, []],
    [{ host: 'localhost:8086' }, ['host: must be an http:// or https:// URL']],
    [{ host: 'not a url' }, ['host: "not a url" is not a URL']],
    [{ host: 'http://h:8086/?x=1' }, ['host: must have no query or fragment']],
    [{ min_backoff: '2s', max_backoff: '1s' }, ['max_backoff: 1s is shorter than min_backoff (2s)']],
    [{ attributes_as: 'tags' }, ['attributes_as: expected one of "field", "tag", got the string "tags"; did you mean "tag"?']],
    [{ api: 'v3' }, ['api: expected one of "v2", "v1"']],
    [{ api: 'v1' }, ['database: is needed with api = "v1"']],
    [{ api: 'v1', database: 'd', token: 't', bucket: 'b' }, ['token: applies to api = "v2" only', 'bucket: applies to api = "v2" only']],
    [{ api: 'v1', database: 'd', username: 'u' }, ['password: username and password go together']],
    [{ api: 'v1', database: 'd', password: 'p' }, ['username: username and password go together']],
    [{ database: 'd', username: 'u', password: 'p' }, ['database: applies to api = "v1" only', 'username: applies to api = "v1" only', 'password: applies to api = "v1" only']],
  ];
  for (const [table, expected] of cases) {
    const problems = configProblems(plugin, table);
    assert.equal(problems.length, expected.length, `${JSON.stringify(table)}: ${problems.join(' | ')}`);
    expected.forEach((start, i) => assert.ok(problems[i]!.startsWith(`plugins.influxdb.${start}`), `${problems[i]} starts with plugins.influxdb.${start}`));
  }
});
