// Tests of the shared HTTP sender against a node:http server on loopback: 5xx, 429 and refused connections
// are to be retried, with a backoff that doubles and honours Retry-After; a 4xx refusal is final;
// authentication headers; gzip bodies; close() ends a request in progress; probe says what the server
// answered without counting or logging.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { HttpSender, retryAfterMs, type HttpSenderOptions } from './http-sender.js';

interface Seen {
  headers: IncomingMessage['headers'];
  body: Buffer;
}

async function serve(t: TestContext, handler: (n: number, req: Seen, res: ServerResponse) => void, port = 0): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = { headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(s);
      handler(seen.length, s, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/write`, seen };
}

function logs(): { log: HttpSenderOptions['log']; lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  const rec = (level: string) => (a: unknown, b?: string) => void lines.push({ level, msg: b ?? String(a) });
  return { log: { error: rec('error'), warn: rec('warn'), info: rec('info'), debug: rec('debug') }, lines };
}

const options = (url: string, log: HttpSenderOptions['log'], more: Partial<HttpSenderOptions> = {}): HttpSenderOptions => ({
  name: 'output/test/test',
  url,
  headers: { 'X-Test': 'yes' },
  userAgent: 'tester/1',
  timeoutMs: 10_000,
  minBackoffMs: 5,
  maxBackoffMs: 40,
  log,
  ...more,
});

test('5xx and 429 are to be retried after a backoff that doubles, honouring Retry-After; the same body and headers each time', async (t) => {
  const statuses = [503, 500, 429, 204];
  const { url, seen } = await serve(t, (n, _req, res) => {
    res.writeHead(statuses[n - 1]!, n === 3 ? { 'Retry-After': '1' } : {});
    res.end(n < 4 ? `busy ${n}` : '');
  });
  const { log, lines } = logs();
  const sender = new HttpSender(options(url, log));
  assert.deepEqual(await sender.send(Buffer.from('payload')), { retryAfterMs: 5, error: `${url}: HTTP 503: busy 1` });
  assert.deepEqual(await sender.send(Buffer.from('payload')), { retryAfterMs: 10, error: `${url}: HTTP 500: busy 2` });
  assert.deepEqual(await sender.send(Buffer.from('payload')), { retryAfterMs: 240, error: `${url}: HTTP 429: busy 3` }, 'Retry-After (1 s) beats the 20 ms backoff, capped at 6 × the 40 ms maximum');
  assert.deepEqual(await sender.send(Buffer.from('payload')), { accepted: true, response: new Uint8Array() });
  assert.equal(seen.length, 4);
  for (const s of seen) {
    assert.equal(s.body.toString(), 'payload');
    assert.equal(s.headers['x-test'], 'yes');
    assert.equal(s.headers['user-agent'], 'tester/1');
  }
  assert.deepEqual({ ...sender.stats }, { accepted: 1, rejected: 0, retries: 3, lastError: 'HTTP 429: busy 3' });
  assert.equal(lines.filter((l) => l.level === 'warn').length, 1, 'one warning when the failures start');
  assert.equal(lines.filter((l) => l.level === 'info').length, 1, 'one line when they end');
});

test('the backoff stops doubling at its maximum and starts again from the minimum after a success', async (t) => {
  let ok = false;
  const { url } = await serve(t, (_n, _req, res) => {
    res.writeHead(ok ? 200 : 502);
    res.end();
  });
  const sender = new HttpSender(options(url, logs().log));
  const waits = [];
  for (let i = 0; i < 6; i++) {
    const outcome = await sender.send(Buffer.from('x'));
    assert.ok('retryAfterMs' in outcome);
    waits.push(outcome.retryAfterMs);
  }
  assert.deepEqual(waits, [5, 10, 20, 40, 40, 40]);
  ok = true;
  assert.deepEqual(await sender.send(Buffer.from('x')), { accepted: true, response: new Uint8Array() });
  ok = false;
  assert.deepEqual(await sender.send(Buffer.from('x')), { retryAfterMs: 5, error: `${url}: HTTP 502` });
});

test('a 400 is not retried: the request is refused, the message logged at most once per interval', async (t) => {
  const { url, seen } = await serve(t, (_n, _req, res) => {
    res.writeHead(400);
    res.end('out of order sample');
  });
  const { log, lines } = logs();
  const sender = new HttpSender(options(url, log));
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await sender.send(Buffer.from('x')), { accepted: false, status: 400, message: 'out of order sample' });
  }
  assert.equal(seen.length, 3);
  assert.equal(sender.stats.rejected, 3);
  const errors = lines.filter((l) => l.level === 'error');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.msg, /refused a request, its points are dropped: HTTP 400: out of order sample/);
});

test('a refused connection is to be retried; once a server listens on the port the request is accepted', async (t) => {
  const first = await serve(t, (_n, _req, res) => res.end());
  const port = Number(new URL(first.url).port);
  await new Promise<void>((resolve) => first.server.close(() => resolve()));
  const sender = new HttpSender(options(first.url, logs().log));
  const outcome = await sender.send(Buffer.from('late'));
  assert.ok('retryAfterMs' in outcome && /ECONNREFUSED/.test(outcome.error), JSON.stringify(outcome));
  const second = await serve(t, (_n, _req, res) => res.end(), port);
  assert.deepEqual(await sender.send(Buffer.from('late')), { accepted: true, response: new Uint8Array() });
  assert.equal(second.seen[0]!.body.toString(), 'late');
});

test('basic auth from a password file, bearer token; close() ends a request in progress, to be retried', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'alumet-sender-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'pw'), 's3cret\n');
  let answered: () => void = () => undefined;
  const { url, seen } = await serve(t, (n, _req, res) => {
    if (n <= 2) res.end();
    else answered = () => res.end(); // the third request gets no answer until the test is over
  });
  t.after(() => answered());
  const { log } = logs();
  await new HttpSender(options(url, log, { basicAuth: { username: 'alice', passwordFile: join(dir, 'pw') } })).send(Buffer.from('a'));
  assert.equal(seen[0]!.headers.authorization, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
  await new HttpSender(options(url, log, { bearerToken: 'tok' })).send(Buffer.from('b'));
  assert.equal(seen[1]!.headers.authorization, 'Bearer tok');
  const sender = new HttpSender(options(url, log));
  const sending = sender.send(Buffer.from('c'));
  while (seen.length < 3) await new Promise((r) => setTimeout(r, 5));
  sender.close();
  assert.deepEqual(await sending, { retryAfterMs: 5, error: `${url}: sender closed` });
});

test('Retry-After in seconds or as a date, capped', () => {
  assert.equal(retryAfterMs(null, 1000), 0);
  assert.equal(retryAfterMs('2', 10_000), 2000);
  assert.equal(retryAfterMs('120', 10_000), 10_000);
  assert.equal(retryAfterMs('soon', 10_000), 0);
  const inFiveSeconds = new Date(Date.now() + 5000).toUTCString();
  assert.ok(retryAfterMs(inFiveSeconds, 60_000) > 3000);
});

test("the caller's rule says which statuses are retried; an accepted answer's body comes back", async (t) => {
  const statuses = [500, 502, 200];
  const { url } = await serve(t, (n, _req, res) => {
    res.writeHead(statuses[n - 1]!);
    res.end(n === 3 ? 'partial' : `status ${statuses[n - 1]}`);
  });
  const sender = new HttpSender(options(url, logs().log, { retryable: (status) => status === 502 }));
  assert.deepEqual(await sender.send(Buffer.from('x')), { accepted: false, status: 500, message: 'status 500' });
  assert.deepEqual(await sender.send(Buffer.from('x')), { retryAfterMs: 5, error: `${url}: HTTP 502: status 502` });
  assert.deepEqual(await sender.send(Buffer.from('x')), { accepted: true, response: new Uint8Array(Buffer.from('partial')) });
});

test('with gzip the body goes compressed, with Content-Encoding: gzip, and the same on a retry', async (t) => {
  const { url, seen } = await serve(t, (n, _req, res) => {
    res.writeHead(n === 1 ? 503 : 204);
    res.end();
  });
  const sender = new HttpSender(options(url, logs().log, { gzip: true }));
  const body = Buffer.from('m value=1 1\n'.repeat(100));
  assert.ok('retryAfterMs' in (await sender.send(body)));
  assert.deepEqual(await sender.send(body), { accepted: true, response: new Uint8Array() });
  for (const s of seen) {
    assert.equal(s.headers['content-encoding'], 'gzip');
    assert.ok(s.body.length < body.length, `${s.body.length} bytes sent for ${body.length}`);
    assert.deepEqual(gunzipSync(s.body), body);
  }
});

test('probe says what the server answered (status and message, or why there was no answer) and counts and logs nothing', async (t) => {
  const { url, seen } = await serve(t, (n, _req, res) => {
    res.writeHead([204, 401, 503, 503][n - 1]!);
    res.end(n === 2 ? '{"error":"authorization failed"}' : '');
  });
  const { log, lines } = logs();
  const sender = new HttpSender(options(url, log));
  assert.equal(await sender.probe(Buffer.alloc(0)), undefined);
  assert.equal(await sender.probe(Buffer.alloc(0)), 'HTTP 401: {"error":"authorization failed"}');
  assert.equal(await sender.probe(Buffer.alloc(0)), 'HTTP 503');
  assert.equal(seen.length, 3);
  assert.equal(seen[0]!.body.length, 0);
  assert.deepEqual({ ...sender.stats }, { accepted: 0, rejected: 0, retries: 0, lastError: undefined });
  assert.deepEqual(lines, []);
  const closed = await serve(t, (_n, _req, res) => res.end());
  await new Promise<void>((resolve) => closed.server.close(() => resolve()));
  assert.match((await new HttpSender(options(closed.url, log)).probe(Buffer.alloc(0))) ?? '', /^ECONNREFUSED/);
  // Failed probes start no backoff: the first failed send waits the minimum.
  assert.deepEqual(await sender.send(Buffer.from('x')), { retryAfterMs: 5, error: `${url}: HTTP 503` });
});
