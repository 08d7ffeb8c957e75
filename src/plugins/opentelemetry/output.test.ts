// Tests of the opentelemetry output element in this thread against the test OTLP receiver, over gRPC and over
// HTTP: the checks of the config; the headers of every request; what each answer of the collector makes of a
// write (accepted, partially refused, refused, to be retried after a backoff or the delay the collector asks
// for), a collector that does not answer in time, one that is down and comes back, and a close that ends a
// request in progress.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { Problems } from '../../agent/config/schema.js';
import { U64 } from '../../protocol/batch.js';
import { batchOf, metricTable } from '../../../test/helpers/csv-output.js';
import { fakeContext } from '../../../test/helpers/element-context.js';
import { waitFor } from '../../../test/helpers/agent-process.js';
import { startOtlpReceiver, type Answer, type OtlpProtocol } from '../../../test/helpers/otlp-receiver.js';
import type { OpenTelemetryConfig } from './config.js';
import { grpcTarget } from './grpc-exporter.js';
import plugin from './index.js';
import { OpenTelemetryOutput, USER_AGENT, httpMetricsUrl } from './output.js';

const METRICS = metricTable([['mem_total', U64, 'By']]);
const PROTOCOLS: OtlpProtocol[] = ['grpc', 'http/protobuf'];

function configOf(overrides: Record<string, unknown>): OpenTelemetryConfig {
  const problems = new Problems();
  const cfg = plugin.config.parse(overrides, 'plugins.opentelemetry', problems) as OpenTelemetryConfig;
  plugin.check!(cfg, problems);
  assert.deepEqual(problems.list, []);
  return cfg;
}

/** The output, its log lines, and the receiver it sends to. */
function outputFor(collectorHost: string, protocol: OtlpProtocol, more: Record<string, unknown> = {}): { out: OpenTelemetryOutput; logs: string[] } {
  const logs: string[] = [];
  const record = (level: string) => (a: unknown, b?: string) => void logs.push(`${level}: ${b ?? String(a)}`);
  const log = { error: record('error'), warn: record('warn'), info: record('info'), debug: record('debug') };
  const out = new OpenTelemetryOutput(configOf({ collector_host: collectorHost, protocol, min_backoff: '250ms', max_backoff: '2s', ...more }), fakeContext({ name: 'output/opentelemetry/out', metrics: METRICS, log }));
  return { out, logs };
}

const points = (from: number, n: number) => batchOf(Array.from({ length: n }, (_, i) => ({ metric: 0, value: BigInt(from + i), ts: { sec: 1_700_000_000 + from + i, nsec: 0 } })), METRICS);

test('the checks refuse a bad collector_host, headers the transports set or cannot carry, and inverted backoffs', () => {
  const cases: Array<[Record<string, unknown>, string[]]> = [
    [{}, []],
    [{ protocol: 'http/protobuf', collector_host: 'http://collector:4318/otlp' }, []],
    [{ collector_host: 'localhost:4317' }, ['collector_host: must be an http:// or https:// URL']],
    [{ collector_host: 'not a url' }, ['collector_host: "not a url" is not a URL; expected e.g. "http://localhost:4317"']],
    [{ collector_host: 'http://u:p@collector:4317' }, ['collector_host: must not hold credentials']],
    [{ collector_host: 'http://collector:4317/?x=1' }, ['collector_host: must not have a query or fragment']],
    [{ collector_host: 'http://collector:4317/otlp' }, ['collector_host: a gRPC collector is a host and port, without a path']],
    [{ headers: { 'Content-Type': 'text/plain', 'grpc-timeout': '1S', 'X-Scope-OrgID': 'a' } }, ['headers.Content-Type: is set by the transport', 'headers.grpc-timeout: is set by the transport']],
    [{ headers: { 'bad name': 'a', 'trace-bin': 'b', 'x-ok': 'line\nbreak' } }, ['headers.bad name: is not a valid header name', 'headers.trace-bin: names a binary gRPC header', 'headers.x-ok: the value must be printable ASCII']],
    [{ min_backoff: '2s', max_backoff: '1s' }, ['max_backoff: 1s is shorter than min_backoff (2s)']],
  ];
  for (const [overrides, expected] of cases) {
    const problems = new Problems();
    const cfg = plugin.config.parse(overrides, 'plugins.opentelemetry', problems) as OpenTelemetryConfig;
    assert.deepEqual(problems.list, [], JSON.stringify(overrides));
    plugin.check!(cfg, problems);
    assert.equal(problems.list.length, expected.length, `${JSON.stringify(overrides)}: ${problems.list.join(' | ')}`);
    expected.forEach((start, i) => assert.ok(problems.list[i]!.startsWith(start), `${problems.list[i]} starts with ${start}`));
  }
  const problems = new Problems();
  plugin.config.parse({ protocol: 'http/json' }, 'plugins.opentelemetry', problems);
  assert.match(problems.list.join('\n'), /plugins\.opentelemetry\.protocol.*"grpc".*"http\/protobuf"/);
});

test('gRPC goes to host:port of collector_host; HTTP posts to collector_host + /v1/metrics', () => {
  assert.equal(grpcTarget(new URL('http://localhost:4317')), 'localhost:4317');
  assert.equal(grpcTarget(new URL('http://[::1]:4317')), '[::1]:4317');
  assert.equal(grpcTarget(new URL('http://collector')), 'collector:80');
  assert.equal(grpcTarget(new URL('https://collector')), 'collector:443');
  assert.equal(httpMetricsUrl('http://localhost:4318'), 'http://localhost:4318/v1/metrics');
  assert.equal(httpMetricsUrl('http://localhost:4318/'), 'http://localhost:4318/v1/metrics');
  assert.equal(httpMetricsUrl('https://gateway.example/otlp/'), 'https://gateway.example/otlp/v1/metrics');
});

for (const protocol of PROTOCOLS) {
  test(`${protocol}: every request carries the user agent and the user's headers (over HTTP, the protobuf content type too)`, async (t) => {
    const receiver = await startOtlpReceiver(t, protocol);
    const { out } = outputFor(receiver.collectorHost, protocol, { headers: { 'X-Scope-OrgID': 'team-a', Authorization: 'Bearer tok' } });
    t.after(() => out.close());
    assert.deepEqual(await out.write(points(0, 3)), { rejected: 0 });
    assert.equal(receiver.requests.length, 1);
    const h = receiver.requests[0]!.headers;
    assert.equal(h['x-scope-orgid'], 'team-a');
    assert.equal(h['authorization'], 'Bearer tok');
    // (grpc-js keeps content-type out of a call's metadata: it is application/grpc by construction)
    if (protocol === 'grpc') assert.match(h['user-agent']!, new RegExp(`^${USER_AGENT} grpc-node-js/`));
    else {
      assert.equal(h['content-type'], 'application/x-protobuf');
      assert.equal(h['user-agent'], USER_AGENT);
    }
    assert.deepEqual(receiver.requests[0]!.points.map((p) => p.value), [0, 1, 2]);
  });
}

/** Writes batches of 3 points, one per answer, and returns each write's outcome; every write is one request. */
async function outcomes(t: Parameters<typeof startOtlpReceiver>[0], protocol: OtlpProtocol, answers: Answer[]) {
  const receiver = await startOtlpReceiver(t, protocol);
  receiver.answer = (_request, n) => answers[n - 1]!;
  const { out, logs } = outputFor(receiver.collectorHost, protocol);
  t.after(() => out.close());
  const results = [];
  for (let i = 0; i < answers.length; i++) results.push(await out.write(points(3 * i, 3)));
  assert.equal(receiver.requests.length, answers.length);
  return { results, out, logs, url: protocol === 'grpc' ? receiver.collectorHost : `${receiver.collectorHost}/v1/metrics` };
}

test('gRPC: OK and partial success are accepted (the refused data points counted); retryable codes back off; the rest is refused', async (t) => {
  const { results, out, logs, url } = await outcomes(t, 'grpc', [
    { accept: true },
    { accept: true, rejectedDataPoints: 2, errorMessage: 'two points too old' },
    { grpcCode: status.INVALID_ARGUMENT, message: 'bad request' },
    { grpcCode: status.UNAVAILABLE, message: 'restarting' },
    { grpcCode: status.RESOURCE_EXHAUSTED, message: 'request too large' },
    { grpcCode: status.RESOURCE_EXHAUSTED, message: 'slow down', retryDelayMs: 1500 },
    { grpcCode: status.ABORTED, message: 'aborted' },
    { grpcCode: status.DATA_LOSS, message: 'lost' },
    { grpcCode: status.UNAUTHENTICATED, message: 'who are you' },
    { accept: true, errorMessage: 'a warning only' },
  ]);
  assert.deepEqual(results, [
    { rejected: 0 },
    { rejected: 2 },
    { rejected: 3 },
    { retryAfterMs: 250, error: `${url}: gRPC UNAVAILABLE: restarting` },
    // RESOURCE_EXHAUSTED without RetryInfo: the collector cannot take this request, ever.
    { rejected: 3 },
    { retryAfterMs: 1500, error: `${url}: gRPC RESOURCE_EXHAUSTED: slow down (retry in 1500 ms)` },
    { retryAfterMs: 1000, error: `${url}: gRPC ABORTED: aborted` },
    { retryAfterMs: 2000, error: `${url}: gRPC DATA_LOSS: lost` },
    { rejected: 3 },
    { rejected: 0 },
  ]);
  assert.equal(out.acceptedPoints, 3 + 1 + 3);
  assert.equal(out.rejectedPoints, 2 + 3 + 3 + 3);
  assert.deepEqual({ ...out.exporter.stats }, { accepted: 3, rejected: 3, retries: 4, lastError: 'gRPC UNAUTHENTICATED: who are you' });
  const errors = logs.filter((l) => l.startsWith('error: '));
  assert.deepEqual(errors, [
    'error: output/opentelemetry/out: the collector refused 2 of 3 data points: two points too old',
    `error: output/opentelemetry/out: ${url} refused a request, its points are dropped: gRPC INVALID_ARGUMENT: bad request`,
  ], 'each kind of refusal logged once a minute at most');
  assert.equal(logs.filter((l) => l.startsWith('warn: ')).length, 1, 'one warning when the failures start');
});

test('HTTP: 200 and partial success are accepted; 429, 502, 503 and 504 back off (Retry-After honoured); 400 and 500 are refused', async (t) => {
  const { results, out, logs, url } = await outcomes(t, 'http/protobuf', [
    { accept: true },
    { accept: true, rejectedDataPoints: 5, errorMessage: 'more than sent' },
    { httpStatus: 400, message: 'bad request' },
    { httpStatus: 500, message: 'internal' },
    { httpStatus: 503, message: 'busy', retryAfterSeconds: 1 },
    { httpStatus: 429, message: 'slow down' },
    { httpStatus: 502, message: 'bad gateway' },
    { httpStatus: 504, message: 'gateway timeout' },
    { accept: true },
  ]);
  assert.deepEqual(results, [
    { rejected: 0 },
    { rejected: 3 },
    { rejected: 3 },
    { rejected: 3 },
    { retryAfterMs: 1000, error: `${url}: HTTP 503: busy` },
    { retryAfterMs: 500, error: `${url}: HTTP 429: slow down` },
    { retryAfterMs: 1000, error: `${url}: HTTP 502: bad gateway` },
    { retryAfterMs: 2000, error: `${url}: HTTP 504: gateway timeout` },
    { rejected: 0 },
  ]);
  assert.equal(out.acceptedPoints, 6);
  assert.equal(out.rejectedPoints, 9);
  assert.deepEqual({ ...out.exporter.stats }, { accepted: 3, rejected: 2, retries: 4, lastError: 'HTTP 504: gateway timeout' });
  assert.ok(logs.includes(`error: output/opentelemetry/out: ${url} refused a request, its points are dropped: HTTP 400: bad request`), logs.join('\n'));
});

for (const protocol of PROTOCOLS) {
  test(`${protocol}: a collector that does not answer within timeout, or is down, gets the request again; once back it takes it`, async (t) => {
    const receiver = await startOtlpReceiver(t, protocol);
    receiver.answer = (_request, n) => (n === 1 ? { silence: true } : { accept: true });
    const { out } = outputFor(receiver.collectorHost, protocol, { timeout: '300ms', min_backoff: '50ms', max_backoff: '200ms' });
    t.after(() => out.close());
    const late = await out.write(points(0, 3));
    assert.ok('retryAfterMs' in late, JSON.stringify(late));
    assert.match(late.error, protocol === 'grpc' ? /gRPC DEADLINE_EXCEEDED/ : /no answer within 300 ms/);
    assert.deepEqual(await out.write(points(0, 3)), { rejected: 0 });

    await receiver.stop();
    const down = await out.write(points(3, 3));
    assert.ok('retryAfterMs' in down, JSON.stringify(down));
    // HTTP: the pooled connection the receiver closed, or the refused new one.
    assert.match(down.error, protocol === 'grpc' ? /gRPC UNAVAILABLE: .*ECONNREFUSED/ : /ECONNREFUSED|other side closed/);
    await receiver.start();
    // The gRPC channel reconnects on its own backoff (at most max_backoff): a few attempts may still fail.
    let outcome = await out.write(points(3, 3));
    for (let tries = 0; tries < 100 && 'retryAfterMs' in outcome; tries++) {
      const { retryAfterMs } = outcome;
      await new Promise((r) => setTimeout(r, retryAfterMs));
      outcome = await out.write(points(3, 3));
    }
    assert.deepEqual(outcome, { rejected: 0 });
    assert.deepEqual(receiver.accepted().map((p) => p.value), [0, 1, 2, 3, 4, 5]);
  });
}

for (const protocol of PROTOCOLS) {
  test(`${protocol}: closing the output ends a request in progress, whose points are then to be sent again`, async (t) => {
    const receiver = await startOtlpReceiver(t, protocol);
    receiver.answer = () => ({ silence: true });
    const { out } = outputFor(receiver.collectorHost, protocol, { timeout: '1h' });
    const writing = out.write(points(0, 3));
    await waitFor(() => receiver.requests.length === 1, { what: 'the request at the receiver' });
    out.close();
    const outcome = await writing;
    assert.ok('retryAfterMs' in outcome, JSON.stringify(outcome));
    assert.match(outcome.error, protocol === 'grpc' ? /exporter closed/ : /sender closed/);
  });
}
