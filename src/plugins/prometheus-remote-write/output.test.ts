// Tests of the remote-write output element in this thread against a node:http server on loopback: the
// protocol headers, the user's headers and credentials, and what each answer makes of a write.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { uncompress } from 'snappyjs';
import { U64 } from '../../protocol/batch.js';
import { Problems } from '../../agent/config/schema.js';
import { batchOf, metricTable } from '../../../test/helpers/csv-output.js';
import { fakeContext } from '../../../test/helpers/element-context.js';
import type { RemoteWriteConfig } from './config.js';
import { WriteRequest } from './encode.js';
import plugin from './index.js';
import { RemoteWriteOutput, USER_AGENT } from './output.js';

const METRICS = metricTable([['mem_total', U64, 'By']]);

interface Request {
  headers: IncomingHttpHeaders;
  samples: number[];
}

async function receiver(t: TestContext, status: (n: number) => number): Promise<{ url: string; requests: Request[] }> {
  const requests: Request[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const decoded = WriteRequest.toObject(WriteRequest.decode(uncompress(Buffer.concat(chunks))), { longs: Number, defaults: true }) as {
        timeseries: Array<{ samples: Array<{ value: number }> }>;
      };
      requests.push({ headers: req.headers, samples: decoded.timeseries.flatMap((s) => s.samples.map((x) => x.value)) });
      res.writeHead(status(requests.length));
      res.end(status(requests.length) >= 400 ? 'refused by the test' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`, requests };
}

function configOf(overrides: Record<string, unknown>): RemoteWriteConfig {
  const problems = new Problems();
  const cfg = plugin.config.parse(overrides, 'plugins.prometheus-remote-write', problems) as RemoteWriteConfig;
  plugin.check!(cfg, problems);
  assert.deepEqual(problems.list, []);
  return cfg;
}

const points = (from: number, n: number) => batchOf(Array.from({ length: n }, (_, i) => ({ metric: 0, value: BigInt(from + i), ts: { sec: 1_700_000_000 + from + i, nsec: 0 } })), METRICS);

test('every request carries the remote-write 1.0 headers, the user agent, the user headers and the token', async (t) => {
  const { url, requests } = await receiver(t, () => 204);
  const out = new RemoteWriteOutput(configOf({ url, headers: { 'X-Scope-OrgID': 'team-a' }, bearer_token: 'tok' }), fakeContext({ metrics: METRICS }));
  await out.write(points(0, 3));
  out.close();
  assert.equal(requests.length, 1);
  const h = requests[0]!.headers;
  assert.equal(h['content-encoding'], 'snappy');
  assert.equal(h['content-type'], 'application/x-protobuf');
  assert.equal(h['x-prometheus-remote-write-version'], '0.1.0');
  assert.equal(h['user-agent'], USER_AGENT);
  assert.equal(h['x-scope-orgid'], 'team-a');
  assert.equal(h['authorization'], 'Bearer tok');
  assert.deepEqual(requests[0]!.samples, [0, 1, 2]);
});

test('each write is one request: accepted, refused for good (its samples rejected), or to be retried (nothing taken)', async (t) => {
  const { url, requests } = await receiver(t, (n) => [200, 400, 503, 200][n - 1]!);
  const out = new RemoteWriteOutput(configOf({ url, min_backoff: '250ms' }), fakeContext({ metrics: METRICS }));
  assert.deepEqual(await out.write(points(0, 4)), { rejected: 0 });
  assert.deepEqual(await out.write(points(4, 2)), { rejected: 2 });
  assert.deepEqual(await out.write(points(6, 3)), { retryAfterMs: 250, error: `${url}: HTTP 503: refused by the test` });
  assert.deepEqual(await out.write(points(6, 3)), { rejected: 0 });
  out.close();
  assert.deepEqual(
    requests.map((r) => r.samples),
    [[0, 1, 2, 3], [4, 5], [6, 7, 8], [6, 7, 8]],
  );
  assert.equal(out.acceptedSamples, 7);
  assert.equal(out.rejectedSamples, 2);
  assert.equal(out.sender.stats.rejected, 1);
});
