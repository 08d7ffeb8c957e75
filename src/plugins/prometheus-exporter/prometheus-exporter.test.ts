// The prometheus-exporter through the plugin harness: the real agent, procfs sources in workers, the
// exporter's HTTP server in its output worker. Its HTTP answers (formats, gzip, 404, 405), a port in use
// at start-up, the config checks, and a real Prometheus scraping it every second (PromQL over the HTTP API).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { Problems } from '../../agent/config/schema.js';
import { rmrf, runAgentToEnd, tempDir, waitFor } from '../../../test/helpers/agent-process.js';
import { startPlugin, type PluginRun } from '../../../test/helpers/plugin-harness.js';
import { freePort, startPrometheus } from '../../../test/helpers/prometheus.js';
import type { TestContext } from 'node:test';
import procfs from '../procfs/index.js';
import exporter from './index.js';

const ELEMENT = 'output/prometheus-exporter/prometheus-exporter';
const LOCAL = { resource_kind: 'local_machine', resource_id: '', resource_consumer_kind: 'local_machine', resource_consumer_id: '' };

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP request with exactly these headers (fetch would add Accept and Accept-Encoding of its own). */
function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The exporter with procfs's kernel and memory sources polling fast (no processes, no network). */
async function startExporter(t: TestContext, port: number, config: Record<string, unknown> = {}): Promise<PluginRun> {
  return startPlugin(t, exporter, {
    config: { host: '127.0.0.1', port, ...config },
    with: [
      {
        plugin: procfs,
        config: { kernel: { poll_interval: '200ms' }, memory: { poll_interval: '200ms', metrics: ['MemTotal', 'MemFree'] }, network: { enabled: false }, processes: { enabled: false } },
      },
    ],
  });
}

async function scrapeUntil(port: number, what: string, done: (text: string) => boolean, headers: Record<string, string> = {}): Promise<Reply> {
  let last: Reply | undefined;
  return waitFor(
    async () => {
      last = await get(port, '/metrics', headers);
      return last.status === 200 && done(last.body.toString('utf8')) ? last : undefined;
    },
    { what, timeout: 30_000, seen: () => (last === undefined ? 'no answer' : `${last.status} ${last.body.toString('utf8').slice(0, 2000)}`) },
  );
}

function memTotalBytes(): number {
  const kb = /^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]!;
  return Number(kb) * 1024;
}

test('serves OpenMetrics by default and to Prometheus, 0.0.4 to text/plain, gzip when asked, 404 elsewhere', async (t) => {
  const port = await freePort();
  const run = await startExporter(t, port);
  assert.equal(run.element(ELEMENT).state, 'running');
  const om = await scrapeUntil(port, 'mem_total and the kernel counters', (s) => s.includes('mem_total_alumet_bytes{') && s.includes('kernel_cpu_time_alumet_milliseconds_total{'));
  assert.equal(om.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  const text = om.body.toString('utf8');
  assert.ok(text.endsWith('# EOF\n'), 'the body ends with # EOF');
  assert.match(text, /^# HELP mem_total_alumet_bytes .+\.\n# TYPE mem_total_alumet_bytes gauge\n# UNIT mem_total_alumet_bytes bytes\n/m);
  assert.match(
    text,
    new RegExp(`^mem_total_alumet_bytes\\{resource_consumer_id="",resource_consumer_kind="local_machine",resource_id="",resource_kind="local_machine"\\} ${memTotalBytes()}\\.0$`, 'm'),
  );
  assert.match(text, /^kernel_cpu_time_alumet_milliseconds\{cpu_state="user",resource_consumer_id="",resource_consumer_kind="local_machine",resource_id="0",resource_kind="cpu_core"\} \d+\.0$/m);

  const prometheusAccept = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
  const zipped = await get(port, '/metrics', { Accept: prometheusAccept, 'Accept-Encoding': 'gzip' });
  assert.equal(zipped.status, 200);
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.equal(zipped.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  assert.ok(gunzipSync(zipped.body).toString('utf8').endsWith('# EOF\n'));

  const plain = await get(port, '/metrics', { Accept: 'text/plain' });
  assert.equal(plain.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(plain.headers['content-encoding'], undefined);
  const plainText = plain.body.toString('utf8');
  assert.doesNotMatch(plainText, /# EOF|# UNIT/);
  assert.match(plainText, /^# TYPE kernel_cpu_time_alumet_milliseconds_total counter$/m);

  for (const path of ['/', '/metric', '/metrics/x', '/favicon.ico']) {
    const r = await get(port, path);
    assert.equal(r.status, 404, path);
    assert.equal(r.body.toString(), 'Not Found');
  }
  assert.equal((await get(port, '/metrics?x=1')).status, 200, 'a query string is ignored');
  const head = await get(port, '/metrics', {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.ok(Number(head.headers['content-length']) > 0, 'HEAD says how long the body would be');
  const post = await get(port, '/metrics', {}, 'POST');
  assert.equal(post.status, 405);
  assert.equal(post.headers['allow'], 'GET, HEAD');

  await run.stop();
  await assert.rejects(get(port, '/metrics'), 'the port is closed once the agent stopped');
});

test('series_ttl and path: a series that stops is dropped; only the configured path serves', async (t) => {
  const port = await freePort();
  const run = await startExporter(t, port, { series_ttl: '1500ms', path: '/alumet' });
  assert.equal((await get(port, '/metrics')).status, 404);
  let last = '';
  const served = async (): Promise<string> => (last = (await get(port, '/alumet')).body.toString('utf8'));
  const seen = (): string => last.slice(0, 2000);
  await waitFor(async () => (await served()).includes('mem_total_alumet_bytes{'), { what: 'mem_total on /alumet', timeout: 30_000, seen });
  await run.control(['source/procfs/memory'], { type: 'pause' });
  await waitFor(async () => !(await served()).includes('mem_total_alumet_bytes{'), { what: 'mem_total gone 1.5 s after its source paused', timeout: 30_000, seen });
  assert.match(await served(), /^kernel_cpu_time_alumet_milliseconds\{/m, 'the kernel series, still fed, stay');
  await run.stop();
});

test('a port in use fails the start-up (exit 1) with an error naming host:port, before the csv output creates its file', async (t) => {
  // Through the agent binary: the line the user sees, and a failed start ends the process.
  const port = await freePort();
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port }, resolve));
  t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const dir = tempDir('alumet-exporter-busy-');
  t.after(() => rmrf(dir));
  writeFileSync(
    join(dir, 'alumet-config.toml'),
    ['[plugins.procfs.memory]', '[plugins.csv]', 'output_path = "out.csv"', '[plugins.prometheus-exporter]', 'host = "127.0.0.1"', `port = ${port}`, ''].join('\n'),
  );
  const { code, output } = await runAgentToEnd(['--no-default-config', '--plugins', 'procfs,csv,prometheus-exporter', 'run'], { cwd: dir });
  assert.equal(code, 1, output);
  assert.match(output, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
  assert.equal(existsSync(join(dir, 'out.csv')), false, 'the csv output never created its file');
});

test('config checks: host must be an IP address, path an HTTP path', () => {
  const problems = new Problems();
  const defaults = exporter.config.defaultValue();
  for (const host of ['0.0.0.0', '127.0.0.1', '::', '[::1]', '[::]']) exporter.check!({ ...defaults, host }, problems);
  assert.deepEqual(problems.list, []);
  const bad = new Problems();
  exporter.check!({ ...defaults, host: 'localhost' }, bad);
  exporter.check!({ ...defaults, host: '[127.0.0.1]' }, bad);
  exporter.check!({ ...defaults, path: 'metrics' }, bad);
  assert.deepEqual(
    bad.list.map((p) => p.split(':')[0]),
    ['host', 'host', 'path'],
  );
});

test('a real Prometheus scrapes it: mem_total in bytes with the Rust labels, and rate() of the kernel CPU time counter', async (t) => {
  const port = await freePort();
  await startExporter(t, port);
  const prometheus = await startPrometheus(t, { targets: [`127.0.0.1:${port}`] });
  await prometheus.waitForQuery('up{job="alumet"} == 1', 'the exporter target is up');

  const expected = memTotalBytes();
  const mem = await prometheus.waitForQuery('mem_total_alumet_bytes', 'mem_total scraped');
  assert.equal(mem.length, 1, JSON.stringify(mem));
  assert.equal(Number(mem[0]!.value![1]), expected);
  // Prometheus drops labels whose value is empty (the ids of local_machine).
  const labels = { ...mem[0]!.metric };
  assert.deepEqual(labels, { __name__: 'mem_total_alumet_bytes', instance: `127.0.0.1:${port}`, job: 'alumet', resource_kind: LOCAL.resource_kind, resource_consumer_kind: LOCAL.resource_consumer_kind });

  const rate = await prometheus.waitForQuery(
    'sum(rate(kernel_cpu_time_alumet_milliseconds_total{resource_kind="local_machine"}[10s]))',
    'a positive rate of the CPU time counter (it needs a few scrapes)',
    (s) => s.length === 1 && Number.isFinite(Number(s[0]!.value![1])) && Number(s[0]!.value![1]) > 0,
  );
  // Every state, busy or idle, adds up to about 1000 ms of CPU time per second per core.
  assert.ok(Number(rate[0]!.value![1]) > 0);
  const perState = await prometheus.query('rate(kernel_cpu_time_alumet_milliseconds_total{resource_kind="local_machine"}[10s])');
  assert.ok(perState.some((s) => s.metric['cpu_state'] === 'idle' || s.metric['cpu_state'] === 'user'), JSON.stringify(perState));
  for (const s of perState) assert.ok(Number.isFinite(Number(s.value![1])), `rate of ${JSON.stringify(s.metric)} is finite`);
});
