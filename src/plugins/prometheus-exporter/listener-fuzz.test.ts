// The exporter's HTTP listener under odd and malformed requests, over raw TCP sockets, in the real agent
// (the exporter in its output worker, a synthetic source feeding it). Requests of every method, path, query
// string, Accept and Accept-Encoding, several per connection, written in random pieces, each get exactly the
// answer they should; random bytes, mutated requests, huge headers and unknown methods get a well-formed
// answer (a 4xx, unless the mutation left a valid request) or a closed connection; requests left half-written and hundreds of connections at once keep nobody else
// waiting. After each round the exporter is still running, never restarted, and a normal scrape works.
// The generator is seeded; every assertion message carries the seed (ALUMET_FUZZ_SEED=N replays it).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import net from 'node:net';
import { gunzipSync } from 'node:zlib';
import { waitFor } from '../../../test/helpers/agent-process.js';
import { startPlugin, type PluginRun } from '../../../test/helpers/plugin-harness.js';
import { freePort } from '../../../test/helpers/prometheus.js';
import { seededRandom } from '../../../test/helpers/random.js';
import synthetic from '../synthetic/index.js';
import { acceptsGzip, CONTENT_TYPES, negotiate } from './exposition.js';
import exporter from './index.js';

const SEED = Number(process.env['ALUMET_FUZZ_SEED'] ?? 0x0e4907e5);
const TAG = `seed=${SEED}`;
const { rand, int, pick } = seededRandom(SEED);
const ELEMENT = 'output/prometheus-exporter/prometheus-exporter';
/** How long the server may take to answer and close a connection we half-closed: far more than it needs. */
const ANSWER_DEADLINE_MS = 30_000;

async function startExporter(t: TestContext): Promise<{ run: PluginRun; port: number }> {
  const port = await freePort();
  const run = await startPlugin(t, exporter, {
    config: { host: '127.0.0.1', port },
    with: [{ plugin: synthetic, config: { poll_interval: '50ms', points_per_poll: 6, metrics: 3, attributes: 1 } }],
  });
  await waitFor(async () => (await scrape(port)).includes('synthetic_2_alumet{'), { what: `${TAG}: the exporter serves the synthetic series` });
  return { run, port };
}

/** A plain scrape with Node's HTTP client: the body, or '' for any other answer. */
function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(res.statusCode === 200 ? Buffer.concat(chunks).toString('utf8') : ''));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Still running, never restarted, and a normal scrape gets every series. */
async function assertHealthy(run: PluginRun, port: number, after: string): Promise<void> {
  const e = run.element(ELEMENT);
  assert.equal(e.state, 'running', `${TAG}: the exporter runs after ${after} (${e.lastError ?? 'no error'})`);
  assert.equal(e.counters['restarts'], 0, `${TAG}: the exporter never restarted during ${after}`);
  const body = await scrape(port);
  assert.match(body, /^synthetic_0_alumet\{attr_0="m0_0",.*\} \d+\.0$/m, `${TAG}: a normal scrape after ${after}`);
  assert.ok(body.endsWith('# EOF\n'), `${TAG}: a complete scrape after ${after}`);
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** `data` cut in random pieces, drawn before any connection starts so that a seed always gives the same cases. */
function pieces(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const n = 1 + int(rand() < 0.3 ? 16 : 2048);
    out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}

/**
 * Writes the pieces one by one (each reaching the server on its own, mostly), half-closes, and collects
 * every byte the server sends until it closes the connection.
 */
async function exchange(port: number, data: readonly Buffer[], what: string): Promise<Buffer> {
  const socket = await connect(port);
  socket.setNoDelay(true);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  // The server may reset a connection whose request it refused while we still write: that is an answer too.
  socket.on('error', () => undefined);
  let isClosed = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  for (const piece of data) {
    if (isClosed) break;
    socket.write(piece);
    await new Promise((r) => setImmediate(r));
  }
  socket.end();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ANSWER_DEADLINE_MS)));
  const outcome = await Promise.race([closed, deadline]);
  clearTimeout(timer);
  socket.destroy();
  assert.notEqual(outcome, 'late', `${TAG}: the server closes within ${ANSWER_DEADLINE_MS} ms after ${what}; got so far ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 300))}`);
  return Buffer.concat(chunks);
}

interface Answer {
  status: number;
  /** Header names in lower case; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: Buffer;
}

const STATUS_LINE = /^HTTP\/1\.1 (\d{3}) [ -~]*$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+): ?([ -~]*)$/;

/** The head of the answer at `at`: its status, its headers, and where its body starts; undefined if incomplete. */
function parseHead(bytes: Buffer, at: number, what: string): { status: number; headers: Record<string, string>; bodyAt: number } | undefined {
  const end = bytes.indexOf('\r\n\r\n', at);
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = bytes.subarray(at, end).toString('latin1').split('\r\n');
  const m = STATUS_LINE.exec(statusLine);
  assert.ok(m, `${TAG}: ${what}: a status line, not ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const h = HEADER_LINE.exec(line);
    assert.ok(h, `${TAG}: ${what}: a header line, not ${JSON.stringify(line)}`);
    const name = h[1]!.toLowerCase();
    headers[name] = headers[name] === undefined ? h[2]! : `${headers[name]}, ${h[2]!}`;
  }
  return { status: Number(m[1]), headers, bodyAt: end + 4 };
}

/** The answers in `bytes` to requests of these methods (HEAD answers have no body), interim 1xx left out. */
function parseAnswers(bytes: Buffer, methods: readonly string[], what: string): Answer[] {
  const answers: Answer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const head = parseHead(bytes, at, what);
    assert.ok(head, `${TAG}: ${what}: a complete head at byte ${at} of ${JSON.stringify(bytes.toString('latin1').slice(at, at + 300))}`);
    at = head.bodyAt;
    if (head.status >= 100 && head.status < 200) continue;
    let body: Buffer = Buffer.alloc(0);
    if (methods[answers.length] !== 'HEAD') {
      if (head.headers['transfer-encoding'] === 'chunked') {
        const parts: Buffer[] = [];
        for (;;) {
          const eol = bytes.indexOf('\r\n', at);
          assert.ok(eol > at, `${TAG}: ${what}: a chunk size line at byte ${at}`);
          const size = Number.parseInt(bytes.subarray(at, eol).toString('latin1'), 16);
          assert.ok(Number.isInteger(size) && eol + 2 + size + 2 <= bytes.length, `${TAG}: ${what}: a complete chunk at byte ${at}`);
          parts.push(bytes.subarray(eol + 2, eol + 2 + size));
          at = eol + 2 + size + 2;
          if (size === 0) break;
        }
        body = Buffer.concat(parts);
      } else if (head.headers['content-length'] !== undefined) {
        const length = Number(head.headers['content-length']);
        assert.ok(at + length <= bytes.length, `${TAG}: ${what}: the ${length} bytes Content-Length announces`);
        body = bytes.subarray(at, at + length);
        at += length;
      } else {
        body = bytes.subarray(at); // until the server closed
        at = bytes.length;
      }
    }
    answers.push({ status: head.status, headers: head.headers, body });
  }
  return answers;
}

// ---- requests the server must answer exactly ----

const METHODS = ['GET', 'GET', 'GET', 'HEAD', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE'];
const SERVED_PATHS = ['/metrics', '/metrics?', '/metrics?x=1', '/metrics?a=b&c=%20d', '/metrics?/metrics', '/metrics??', `/metrics?${'q'.repeat(3000)}`];
const OTHER_PATHS = ['/', '/metrics/', '/Metrics', '//metrics', '/metrics%3F', '/%6detrics', '/metrics#x', '/metricsmetrics', '/metrics;x', '/favicon.ico', '*', 'http://127.0.0.1/metrics', `/${'a'.repeat(3000)}`];
const MEDIA_TYPES = ['application/openmetrics-text', 'application/openmetrics-text;version=1.0.0', 'application/openmetrics-text; version=0.0.1', 'text/plain', 'text/plain;version=0.0.4', 'TEXT/PLAIN', '*/*', 'text/*', 'application/*', 'application/json', 'text/html', ''];
const MEDIA_PARAMS = ['', '', ';q=0', ';q=1', ';q=0.5', ';q=0.001', ';q=abc', ';q=', ';q=-1', ';q=1e3', ';Q=0.2', ' ; q = 0.3', ';charset=utf-8', ';;'];
const CODINGS = ['gzip', 'GZIP', 'x-gzip', ' gzip ', 'deflate', 'br', 'zstd', 'identity', '*', 'compress', ''];
const CODING_PARAMS = ['', '', ';q=0', ';q=0.0', ';q=1', '; q=0.001', ';q=abc', ';q='];

function list(items: readonly string[], params: readonly string[]): string {
  return Array.from({ length: 1 + int(4) }, () => pick(items) + pick(params)).join(pick([',', ', ', ' ,', ',,']));
}

interface Sent {
  method: string;
  path: string;
  /** Every value of each header sent, as Node joins repeated ones. */
  accept: string | undefined;
  acceptEncoding: string | undefined;
  expectsContinue: boolean;
  text: string;
}

/** A well-formed HTTP/1.1 request; the last of a connection may ask to close it. */
function wellFormedRequest(last: boolean): Sent {
  const method = pick(METHODS);
  const path = rand() < 0.6 ? pick(SERVED_PATHS) : pick(OTHER_PATHS);
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  const values = (name: string, make: () => string): string | undefined => {
    const sent = rand() < 0.2 ? [] : Array.from({ length: rand() < 0.15 ? 2 : 1 }, make);
    for (const v of sent) lines.push(`${pick([name, name.toLowerCase(), name.toUpperCase()])}: ${v}`);
    return sent.length === 0 ? undefined : sent.join(', ');
  };
  const accept = values('Accept', () => list(MEDIA_TYPES, MEDIA_PARAMS));
  const acceptEncoding = values('Accept-Encoding', () => list(CODINGS, CODING_PARAMS));
  const expectsContinue = rand() < 0.1;
  if (expectsContinue) lines.push('Expect: 100-continue');
  if (rand() < 0.1) lines.push(`X-Filler: ${'f'.repeat(int(4000))}`);
  let body = '';
  if (method !== 'GET' && method !== 'HEAD' && rand() < 0.5) {
    body = 'x'.repeat(int(200));
    lines.push(`Content-Length: ${body.length}`);
  }
  if (last && rand() < 0.5) lines.push('Connection: close');
  return { method, path, accept, acceptEncoding, expectsContinue, text: `${lines.join('\r\n')}\r\n\r\n${body}` };
}

function assertAnswer(sent: Sent, answer: Answer | undefined, what: string): void {
  const shown = `${what}: ${JSON.stringify(sent.text.slice(0, 300))}`;
  assert.ok(answer, `${TAG}: ${shown} gets an answer`);
  const q = sent.path.indexOf('?');
  if ((q < 0 ? sent.path : sent.path.slice(0, q)) !== '/metrics') {
    assert.equal(answer.status, 404, `${TAG}: ${shown}`);
    if (sent.method !== 'HEAD') assert.equal(answer.body.toString(), 'Not Found', `${TAG}: ${shown}`);
    return;
  }
  if (sent.method !== 'GET' && sent.method !== 'HEAD') {
    assert.equal(answer.status, 405, `${TAG}: ${shown}`);
    assert.equal(answer.headers['allow'], 'GET, HEAD', `${TAG}: ${shown}`);
    return;
  }
  assert.equal(answer.status, 200, `${TAG}: ${shown}`);
  const format = negotiate(sent.accept);
  assert.equal(answer.headers['content-type'], CONTENT_TYPES[format], `${TAG}: ${shown}`);
  const gzip = acceptsGzip(sent.acceptEncoding);
  assert.equal(answer.headers['content-encoding'], gzip ? 'gzip' : undefined, `${TAG}: ${shown}`);
  if (sent.method === 'HEAD') {
    assert.equal(answer.body.length, 0, `${TAG}: ${shown}: no body`);
    return;
  }
  const text = (gzip ? gunzipSync(answer.body) : answer.body).toString('utf8');
  assert.match(text, /^synthetic_1_alumet\{attr_0="m1_0",.*\} \d+\.0$/m, `${TAG}: ${shown}`);
  assert.equal(text.endsWith('# EOF\n'), format === 'openmetrics', `${TAG}: ${shown}: # EOF ends OpenMetrics only`);
}

test('requests of every method, path, query string, Accept and Accept-Encoding, several per connection, get exactly their answers', async (t) => {
  const { run, port } = await startExporter(t);
  let answered = 0;
  for (let round = 0; round < 25; round++) {
    const connections = Array.from({ length: 12 }, () => {
      const n = 1 + int(4);
      const sent = Array.from({ length: n }, (_, i) => wellFormedRequest(i === n - 1));
      return { sent, data: pieces(Buffer.from(sent.map((s) => s.text).join(''), 'latin1')) };
    });
    await Promise.all(
      connections.map(async ({ sent, data }, c) => {
        const what = `round ${round} connection ${c}`;
        const answers = parseAnswers(await exchange(port, data, what), sent.map((s) => s.method), what);
        // An answer with `Connection: close` is the last (Node closes after answering a request that expected
        // `100 Continue` without sending it): the requests after it are left for the client to send again.
        const closing = answers.findIndex((a) => a.headers['connection'] === 'close');
        if (closing >= 0 && closing < sent.length - 1) assert.ok(sent[closing]!.expectsContinue, `${TAG}: ${what}: only the last request, or one that expects 100 Continue, closes the connection`);
        const expected = closing < 0 ? sent.length : closing + 1;
        assert.equal(answers.length, expected, `${TAG}: ${what}: one answer per request up to a closing one; sent ${JSON.stringify(sent.map((s) => s.text.slice(0, 160)))}`);
        answers.forEach((a, i) => assertAnswer(sent[i]!, a, `${what} request ${i}`));
        answered += answers.length;
      }),
    );
    if (round % 5 === 4) await assertHealthy(run, port, `round ${round}`);
  }
  assert.ok(answered >= 300, `${TAG}: only ${answered} requests answered`);
});

// ---- requests the server must refuse, or close on ----

const WELL_FORMED = 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n';
const MALFORMED = [
  'get /metrics HTTP/1.1\r\nHost: x\r\n\r\n',
  'BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n',
  'G ET /metrics HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n',
  'GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n',
  'GET /metrics HTTPS/1.1\r\nHost: x\r\n\r\n',
  'GET /metrics HTTP/1.1\r\n\r\n',
  'GET /metrics HTTP/1.1\nHost: x\n\n',
  'GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n',
  'GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n',
  'GET /metrics HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n',
  'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
  'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
  'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
  'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
  'POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  'GET /metr',
  'GET /metrics HTTP/1.1\r\nHost: x\r\n',
  '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
  '\r\n\r\n\r\n',
  '',
];
/** Statuses a refused or odd request may get (200, 404 and 405 for mutations that are still requests). */
const REFUSALS = new Set([200, 400, 404, 405, 413, 414, 431, 501, 505]);

function randomBytes(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => int(256)));
}

function mutate(text: string): Buffer {
  const bytes = [...Buffer.from(text, 'latin1')];
  for (let k = 1 + int(4); k > 0; k--) {
    const at = int(bytes.length + 1);
    switch (int(7)) {
      case 0:
        if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = int(256);
        break;
      case 1:
        bytes.splice(at, 0, pick([0x00, 0x0d, 0x0a, 0x20, 0x3a, 0x7f, 0xff, 0x09]));
        break;
      case 2:
        bytes.splice(at, 1 + int(8));
        break;
      case 3:
        bytes.splice(at); // a prefix: a request cut short
        break;
      case 4:
        bytes.splice(at, 0, ...randomBytes(1 + int(20)));
        break;
      case 5:
        bytes.splice(at, 0, ...Buffer.from(pick(['\r\n', '\r\n\r\n', ': ', ' HTTP/1.1', '?', '%', '%00', '\t', 'Host: y\r\n'])));
        break;
      case 6:
        bytes.splice(at, 0, ...bytes.slice(int(bytes.length), int(bytes.length) + 30)); // a repeated piece
        break;
    }
  }
  return Buffer.from(bytes);
}

function hugeHead(): Buffer {
  switch (int(4)) {
    case 0:
      return Buffer.from(`GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000 + int(100_000))}\r\n\r\n`);
    case 1:
      return Buffer.from(`GET /metrics HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 + int(3000) }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`);
    case 2:
      return Buffer.from(`GET /metrics?${'a'.repeat(20_000 + int(50_000))} HTTP/1.1\r\nHost: x\r\n\r\n`);
    default:
      return Buffer.from(`GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: ${'text/plain;q=0.5, '.repeat(2000)}\r\n\r\n`);
  }
}

function malformed(): { data: Buffer; kind: string } {
  const r = int(10);
  if (r < 2) return { data: randomBytes(int(400)), kind: 'random bytes' };
  if (r < 3) return { data: Buffer.concat([randomBytes(int(100)), Buffer.from('\r\n\r\n')]), kind: 'random bytes and an empty line' };
  if (r < 6) return { data: mutate(rand() < 0.5 ? WELL_FORMED : pick(MALFORMED)), kind: 'a mutated request' };
  if (r < 8) return { data: Buffer.from(pick(MALFORMED), 'latin1'), kind: 'a malformed request' };
  return { data: hugeHead(), kind: 'a huge head' };
}

test('random bytes, mutated requests, unknown methods and huge heads get a well-formed answer, mostly 400 or 431, or a closed connection', async (t) => {
  const { run, port } = await startExporter(t);
  const statuses = new Map<number, number>();
  let closedSilently = 0;
  for (let round = 0; round < 25; round++) {
    const cases = Array.from({ length: 16 }, () => {
      const { data, kind } = malformed();
      return { data, kind, split: pieces(data) };
    });
    await Promise.all(
      cases.map(async ({ data, kind, split }, c) => {
        const what = `round ${round} connection ${c}: ${kind} ${JSON.stringify(data.toString('latin1').slice(0, 200))}`;
        const bytes = await exchange(port, split, what);
        if (bytes.length === 0) {
          closedSilently++;
          return;
        }
        // Only the first answer is checked: what follows it depends on how much of the garbage was a request.
        const head = parseHead(bytes, 0, what);
        assert.ok(head, `${TAG}: ${what}: a complete answer head, got ${JSON.stringify(bytes.toString('latin1').slice(0, 300))}`);
        const status = head.status === 100 ? parseHead(bytes, head.bodyAt, what)?.status : head.status;
        assert.ok(status !== undefined && REFUSALS.has(status), `${TAG}: ${what}: answered ${status}`);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }),
    );
    if (round % 5 === 4) await assertHealthy(run, port, `round ${round}`);
  }
  t.diagnostic(`answers: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${n} × ${s}`).join(', ')}; ${closedSilently} closed without an answer`);
  assert.ok((statuses.get(400) ?? 0) >= 50, `${TAG}: most garbage is a 400 Bad Request`);
  assert.ok((statuses.get(431) ?? 0) >= 10, `${TAG}: huge heads are 431 Request Header Fields Too Large`);
});

test('requests left half-written and 300 connections at once keep nobody else waiting', async (t) => {
  const { run, port } = await startExporter(t);
  const halves = Array.from({ length: 100 }, () => Buffer.from(WELL_FORMED).subarray(0, int(WELL_FORMED.length - 1)));
  const hanging = await Promise.all(
    halves.map(async (half) => {
      const s = await connect(port);
      s.on('error', () => undefined);
      s.write(half);
      return s;
    }),
  );
  try {
    await assertHealthy(run, port, '100 requests left half-written');
    const bodies = await Promise.all(Array.from({ length: 300 }, () => scrape(port)));
    const complete = bodies.filter((b) => b.includes('synthetic_2_alumet{') && b.endsWith('# EOF\n')).length;
    assert.equal(complete, 300, `${TAG}: every one of 300 simultaneous scrapes gets every series while 100 requests hang`);
    await assertHealthy(run, port, '300 simultaneous scrapes');
  } finally {
    for (const s of hanging) s.destroy();
  }
  await assertHealthy(run, port, 'the half-written requests went away');
});
