// Scenario `prometheus` (main thread of the bench process), against the real agent and a real Prometheus:
// - scrape: latency of GET /metrics on the prometheus-exporter holding 10 000 series; baseline in the same
//   run: prom-client (the Node.js Prometheus library) rendering the same 10 000 series in this thread.
// - remote write: samples per second the prometheus-remote-write output gets accepted by Prometheus, from a
//   synthetic source producing more than that; baseline: plain HTTP POSTs of one such request body, as fast
//   as Prometheus takes them.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { sendControlLine } from '../src/control/client.js';
import { freePort, startPrometheus } from '../test/helpers/prometheus.js';
import { MAIN_JS, log, percentile, rmrf, round, sleep, tempDir, waitUntil, type Scenario } from './util.js';

const SERIES = 10_000;
const SCRAPES = 200;
const WRITE_SECONDS = Number(process.env['BENCH_ROUND_MS'] ?? 10_000) / 1000;

export interface Agent {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export function startAgent(dir: string, config: string): Agent {
  writeFileSync(join(dir, 'c.toml'), config);
  const child = spawn(process.execPath, [MAIN_JS, '--config', 'c.toml', '--log-level', 'warn'], { cwd: dir, env: { ...process.env, NO_PRETTY: '1' }, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Milliseconds of each of `n` sequential calls of `f`. */
async function timings(n: number, f: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    out.push(performance.now() - t0);
  }
  return out;
}

async function scrape(dir: string): Promise<{ agent: number[]; promClient: number[] }> {
  const port = await freePort();
  const agent = startAgent(
    dir,
    `[plugins.synthetic]\npoll_interval = "1s"\npoints_per_poll = ${SERIES}\nmetrics = ${SERIES}\nattributes = 2\n` +
      `[plugins.prometheus-exporter]\nhost = "127.0.0.1"\nport = ${port}\n`,
  );
  try {
    const url = `http://127.0.0.1:${port}/metrics`;
    const get = async (): Promise<string> => (await fetch(url, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } })).text();
    const samples = (text: string): number => text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    await waitUntil(async () => samples(await get().catch(() => '')) >= SERIES, `the exporter to hold ${SERIES} series`, 60_000);
    const agentMs = await timings(SCRAPES, get);

    // The same series in prom-client: one gauge family per metric, one series each, with the same labels.
    const registry = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
    for (let m = 0; m < SERIES; m++) {
      const gauge = new Gauge({ name: `synthetic_${m}_alumet`, help: 'synthetic counter for tests and benchmarks', labelNames: ['attr_0', 'attr_1', 'resource_consumer_id', 'resource_consumer_kind', 'resource_id', 'resource_kind'], registers: [registry] });
      gauge.set({ attr_0: `m${m}_0`, attr_1: `m${m}_1`, resource_consumer_id: '', resource_consumer_kind: 'local_machine', resource_id: '', resource_kind: 'local_machine' }, m);
    }
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const promClientMs = await timings(SCRAPES, () => registry.metrics());
    return { agent: agentMs, promClient: promClientMs };
  } finally {
    await agent.stop();
  }
}

async function remoteWrite(dir: string): Promise<{ agentPerS: number; postPerS: number }> {
  const cleanups: Array<() => unknown> = [];
  const t = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext;
  try {
    const prom = await startPrometheus(t, { remoteWriteReceiver: true });
    const socket = join(dir, 'ctl.sock');
    const agent = startAgent(
      dir,
      `[plugins.synthetic]\npoll_interval = "10ms"\npoints_per_poll = 2000\nmetrics = 100\n` +
        `[plugins.prometheus-remote-write]\nurl = "${prom.writeUrl}"\n` +
        `[plugins.socket-control]\nsocket_path = "ctl.sock"\n`,
    );
    cleanups.push(() => agent.stop());
    const written = async (): Promise<number> => {
      const reply = await sendControlLine(socket, 'status output --json', 10_000);
      const line = reply.lines.find((l) => l.startsWith('{'));
      return line === undefined ? 0 : (JSON.parse(line) as { counters: { points_out: number } }).counters.points_out;
    };
    await waitUntil(async () => (await written().catch(() => 0)) > 0, 'the first accepted remote write', 60_000);
    const w0 = await written();
    const t0 = performance.now();
    await sleep(WRITE_SECONDS * 1000);
    const agentPerS = ((await written()) - w0) / ((performance.now() - t0) / 1000);
    await agent.stop();

    // Bodies of the same shape (100 series × 20 samples, as max_samples_per_send = 2000 makes them), built
    // beforehand with advancing timestamps (Prometheus refuses a sample older than the series' last one),
    // then posted back to back: what the HTTP round trips alone allow.
    const { remoteWriteBody, REMOTE_WRITE_HEADERS } = await import('../src/plugins/prometheus-remote-write/encode.js');
    const start = Date.now() + 60_000;
    const bodies = Array.from({ length: 1000 }, (_, b) =>
      remoteWriteBody(
        Array.from({ length: 100 }, (_, m) => ({
          labels: [
            ['__name__', `baseline_${m}`],
            ['resource_kind', 'local_machine'],
          ] as Array<[string, string]>,
          samples: Array.from({ length: 20 }, (_, i) => ({ value: i, timestamp: start + b * 20 + i })),
        })),
      ),
    );
    let posted = 0;
    let refused = 0;
    const p0 = performance.now();
    for (const body of bodies) {
      if (performance.now() - p0 > WRITE_SECONDS * 1000) break;
      const res = await fetch(prom.writeUrl, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS }, body });
      await res.arrayBuffer();
      if (res.status >= 200 && res.status < 300) posted += 2000;
      else refused++;
    }
    if (refused > 0) log(`prometheus: ${refused} baseline POSTs were refused`);
    const postPerS = posted / ((performance.now() - p0) / 1000);
    return { agentPerS, postPerS };
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

export const prometheus: Scenario = {
  name: 'prometheus',
  what: `GET /metrics of ${SERIES} series (vs prom-client rendering them) and remote-write samples/s into a real Prometheus (vs plain POSTs)`,
  async run() {
    const dir = tempDir('alumet-bench-prom-');
    try {
      const s = await scrape(dir);
      const p50 = percentile(s.agent, 50);
      const p99 = percentile(s.agent, 99);
      const base50 = percentile(s.promClient, 50);
      const base99 = percentile(s.promClient, 99);
      log(`prometheus: scrape of ${SERIES} series p50 ${round(p50)} ms, p99 ${round(p99)} ms; prom-client render p50 ${round(base50)} ms, p99 ${round(base99)} ms`);
      const w = await remoteWrite(dir);
      log(`prometheus: remote write ${Math.round(w.agentPerS)} samples/s accepted; plain POSTs ${Math.round(w.postPerS)} samples/s`);
      return {
        json: {
          series: SERIES,
          scrape_p50_ms: round(p50),
          scrape_p99_ms: round(p99),
          baseline_prom_client: { render_p50_ms: round(base50), render_p99_ms: round(base99) },
          remote_write_points_per_s: Math.round(w.agentPerS),
          baseline_plain_post: { points_per_s: Math.round(w.postPerS) },
        },
        rows: [
          { figure: `scrape p50 (${SERIES} series)`, value: round(p50), unit: 'ms', target: { op: '<=', value: 100 }, baseline: { name: 'prom-client render p50', value: round(base50) } },
          { figure: `scrape p99 (${SERIES} series)`, value: round(p99), unit: 'ms', target: { op: '<=', value: 100 }, baseline: { name: 'prom-client render p99', value: round(base99) } },
          { figure: 'remote write', value: Math.round(w.agentPerS), unit: 'points/s', baseline: { name: 'plain POSTs of one body', value: Math.round(w.postPerS) } },
        ],
      };
    } finally {
      rmrf(dir);
    }
  },
};
