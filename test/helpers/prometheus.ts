// Test helper: a real Prometheus server (Debian's `prometheus` package; .ci/run installs it) of the test's
// own, on a free loopback port, with a temporary storage directory, stopped by its PID after the test. It
// scrapes the given targets every second and/or receives remote writes; it can be stopped and started again
// on the same storage and port (outage tests), and queried over its HTTP API. Main thread.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { rmrf, tempDir, waitFor } from './agent-process.js';

export interface PrometheusServer {
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly base: string;
  /** The remote-write receiver: `BASE/api/v1/write`. */
  readonly writeUrl: string;
  readonly storage: string;
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM, then SIGKILL after 30 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and storage; resolves once it is ready. */
  start(): Promise<void>;
  /** An instant query at `time` (seconds); the `data.result` of the answer. */
  query(promql: string, time?: number): Promise<PromResult[]>;
  /** Waits (60 s by default) until `promql` returns results for which `done` holds. */
  waitForQuery(promql: string, what: string, done?: (results: PromResult[]) => boolean, timeoutMs?: number): Promise<PromResult[]>;
  /** What Prometheus said on stderr lately. */
  log(): string;
}

export interface PrometheusOptions {
  /** `host:port` of exporters to scrape every second. */
  targets?: readonly string[];
  metricsPath?: string;
  /** Accept remote writes at /api/v1/write. */
  remoteWriteReceiver?: boolean;
}

export interface PromResult {
  metric: Record<string, string>;
  /** Range vectors: [seconds, "value"] pairs. */
  values?: Array<[number, string]>;
  value?: [number, string];
}

/** Whether the prometheus binary is installed. */
export function prometheusInstalled(): boolean {
  return spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPrometheus(t: TestContext, opts: PrometheusOptions = {}): Promise<PrometheusServer> {
  assert.ok(prometheusInstalled(), 'the prometheus binary is on PATH (Debian package "prometheus"; .ci/run installs it)');
  const dir = tempDir('alumet-prometheus-');
  t.after(() => rmrf(dir));
  const storage = join(dir, 'data');
  const config = join(dir, 'prometheus.yml');
  const targets = opts.targets ?? [];
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      targets.length === 0 ? 'scrape_configs: []' : 'scrape_configs:',
      ...(targets.length === 0
        ? []
        : ['  - job_name: alumet', `    metrics_path: ${JSON.stringify(opts.metricsPath ?? '/metrics')}`, '    static_configs:', `      - targets: ${JSON.stringify(targets)}`]),
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';

  const start = async (): Promise<void> => {
    assert.equal(child, undefined, 'prometheus is not running');
    stderr = '';
    const args = [
      `--config.file=${config}`,
      `--storage.tsdb.path=${storage}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
      ...(opts.remoteWriteReceiver ? ['--web.enable-remote-write-receiver'] : []),
    ];
    const proc = spawn('prometheus', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    void exited.then(() => {
      if (child === proc) child = undefined;
    });
    await waitFor(
      async () => {
        if (child !== proc) throw new Error(`prometheus exited: ${stderr}`);
        const res = await fetch(`${base}/-/ready`).catch(() => undefined);
        return res?.status === 200;
      },
      { what: `prometheus ready on ${base}`, timeout: 60_000, seen: () => stderr },
    );
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };
  t.after(stop);
  await start();
  const query = async (promql: string, time?: number): Promise<PromResult[]> => {
    const params = new URLSearchParams({ query: promql, ...(time === undefined ? {} : { time: String(time) }) });
    const res = await fetch(`${base}/api/v1/query?${params}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: PromResult[] } };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error ?? res.status}`);
    return body.data!.result;
  };
  return {
    port,
    base,
    writeUrl: `${base}/api/v1/write`,
    storage,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    query,
    async waitForQuery(promql, what, done = (r) => r.length > 0, timeoutMs = 60_000) {
      let last: PromResult[] | string = [];
      return waitFor(
        async () => {
          try {
            last = await query(promql);
          } catch (e) {
            last = (e as Error).message;
            return undefined;
          }
          return done(last) ? last : undefined;
        },
        { what: `${what} (${promql})`, timeout: timeoutMs, seen: () => `${JSON.stringify(last).slice(0, 1500)}; prometheus says: ${stderr.slice(-1000) || 'nothing'}` },
      );
    },
    log: () => stderr,
  };
}
