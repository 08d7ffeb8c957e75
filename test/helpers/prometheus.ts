// Test helper: a real Prometheus server (Debian's `prometheus` package, installed by .ci/run) of the test's
// own: a free loopback port, a temporary TSDB and a generated prometheus.yml that scrapes the given targets
// every second. Stopped by PID after the test. Main thread.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { rmrf, tempDir, waitFor } from './agent-process.js';

/** A TCP port free on 127.0.0.1 right now (the kernel's choice; closed again before it is returned). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Where the prometheus binary is, or undefined when it is not installed. */
export function prometheusBinary(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path !== '' ? path : undefined;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  readonly port: number;
  readonly pid: number;
  /** An instant query over the HTTP API; throws unless the API says success. */
  query(promql: string): Promise<PromSample[]>;
  /** Waits (60 s by default) until `promql` returns samples for which `done` holds. */
  waitForQuery(promql: string, what: string, done?: (samples: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>;
  /** What Prometheus said on stdout and stderr so far. */
  log(): string;
}

/**
 * Starts Prometheus scraping `targets` (`host:port`) every second at `metricsPath`. The server and its
 * storage go away after the test, the server stopped by its PID (SIGTERM, then SIGKILL after 10 s).
 */
export async function startPrometheus(t: TestContext, targets: readonly string[], metricsPath = '/metrics'): Promise<PrometheusServer> {
  const binary = prometheusBinary();
  if (binary === undefined) throw new Error('prometheus is not installed (apt-get install -y prometheus; .ci/run does it)');
  const dir = tempDir('alumet-prometheus-');
  t.after(() => rmrf(dir));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: alumet',
      `    metrics_path: ${JSON.stringify(metricsPath)}`,
      '    static_configs:',
      `      - targets: ${JSON.stringify(targets)}`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(
    binary,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d: Buffer) => void (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => void (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(child.pid!, 'SIGTERM');
    const timer = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid!, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${output}`);
      const r = await fetch(`${base}/-/ready`).catch(() => undefined);
      return r?.ok === true;
    },
    { what: `prometheus ready on ${base}`, timeout: 60_000, seen: () => output.slice(-2000) || 'no output' },
  );
  const query = async (promql: string): Promise<PromSample[]> => {
    const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await r.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error ?? r.status}`);
    return body.data!.result;
  };
  return {
    port,
    pid: child.pid!,
    query,
    async waitForQuery(promql, what, done = (s) => s.length > 0, timeoutMs = 60_000) {
      let last: PromSample[] | string = [];
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
        {
          what: `${what} (${promql})`,
          timeout: timeoutMs,
          seen: () => `${JSON.stringify(last).slice(0, 1500)}; prometheus says: ${output.slice(-1000) || 'nothing'}`,
        },
      );
    },
    log: () => output,
  };
}
