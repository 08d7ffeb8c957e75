// Scenario `prometheus` (main thread of the bench process), against the real agent and a real Prometheus:
// - scrape: latency of GET /metrics on the prometheus-exporter holding 10 000 series, in two shapes: one
//   series per family (10 000 families: the most header lines) and 4 families of 2 500 series; and the points
//   the exporter wrote meanwhile, against those its source produced. Baseline in the same run: prom-client
//   (the Node.js Prometheus library) rendering the same series in this thread.
// - remote write: samples per second the prometheus-remote-write output gets accepted by Prometheus, from a
//   synthetic source producing more than that; baseline: plain HTTP POSTs of one such request body, as fast
//   as Prometheus takes them.

import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { sendControlLine } from '../src/control/client.js';
import { freePort, startPrometheus } from '../test/helpers/prometheus.js';
import { acceptedPerSecond, startAgent } from './push-agent.js';
import { log, percentile, rmrf, round, tempDir, waitUntil, type Row, type Scenario } from './util.js';

const SERIES = 10_000;
const SCRAPES = 200;
const WRITE_SECONDS = Number(process.env['BENCH_ROUND_MS'] ?? 10_000) / 1000;

/** 10 000 series as `metrics` families of `seriesPerMetric` series each. */
interface Shape {
  readonly name: string;
  readonly metrics: number;
  readonly seriesPerMetric: number;
}

const SHAPES: readonly Shape[] = [
  { name: `${SERIES} families`, metrics: SERIES, seriesPerMetric: 1 },
  { name: '4 families', metrics: 4, seriesPerMetric: SERIES / 4 },
];

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

/** `points_out` of every element of the agent listening on `socket`, by name. */
async function pointsOut(socket: string): Promise<Map<string, number>> {
  const reply = await sendControlLine(socket, 'status --json', 10_000);
  return new Map(reply.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { name: string; counters: { points_out: number } }).map((e) => [e.name, e.counters.points_out]));
}

interface ScrapeResult {
  agentMs: number[];
  promClientMs: number[];
  /** Points the source produced and the exporter wrote between the first scrape and the last. */
  produced: number;
  written: number;
}

async function scrape(dir: string, shape: Shape): Promise<ScrapeResult> {
  const port = await freePort();
  const socket = join(dir, 'ctl.sock');
  const agent = startAgent(
    dir,
    `[plugins.synthetic]\npoll_interval = "1s"\npoints_per_poll = ${SERIES}\nmetrics = ${shape.metrics}\nseries_per_metric = ${shape.seriesPerMetric}\nattributes = 2\n` +
      `[plugins.prometheus-exporter]\nhost = "127.0.0.1"\nport = ${port}\n` +
      `[plugins.socket-control]\nsocket_path = "ctl.sock"\n`,
  );
  try {
    const url = `http://127.0.0.1:${port}/metrics`;
    const get = async (): Promise<string> => (await fetch(url, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } })).text();
    const samples = (text: string): number => text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    await waitUntil(async () => samples(await get().catch(() => '')) >= SERIES, `the exporter to hold ${SERIES} series`, 60_000);
    const before = await pointsOut(socket);
    const agentMs = await timings(SCRAPES, get);
    const after = await pointsOut(socket);
    const delta = (name: string): number => (after.get(name) ?? NaN) - (before.get(name) ?? NaN);

    // The same series in prom-client: one gauge family per metric, with the same labels.
    const registry = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
    const labelNames = ['attr_0', 'attr_1', 'resource_consumer_id', 'resource_consumer_kind', 'resource_id', 'resource_kind'];
    for (let m = 0; m < shape.metrics; m++) {
      const gauge = new Gauge({ name: `synthetic_${m}_alumet`, help: 'synthetic counter for tests and benchmarks', labelNames, registers: [registry] });
      for (let series = 0; series < shape.seriesPerMetric; series++) {
        const tail = shape.seriesPerMetric === 1 ? '' : `_s${series}`;
        gauge.set({ attr_0: `m${m}_0${tail}`, attr_1: `m${m}_1${tail}`, resource_consumer_id: '', resource_consumer_kind: 'local_machine', resource_id: '', resource_kind: 'local_machine' }, m);
      }
    }
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const promClientMs = await timings(SCRAPES, () => registry.metrics());
    return {
      agentMs,
      promClientMs,
      produced: delta('source/synthetic/synthetic-0'),
      written: delta('output/prometheus-exporter/prometheus-exporter'),
    };
  } finally {
    await agent.stop();
  }
}

async function remoteWrite(dir: string): Promise<{ agentPerS: number; postPerS: number }> {
  const cleanups: Array<() => unknown> = [];
  const t = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext;
  try {
    const prom = await startPrometheus(t, { remoteWriteReceiver: true });
    const agent = startAgent(
      dir,
      `[plugins.synthetic]\npoll_interval = "10ms"\npoints_per_poll = 2000\nmetrics = 100\n` +
        `[plugins.prometheus-remote-write]\nurl = "${prom.writeUrl}"\n` +
        `[plugins.socket-control]\nsocket_path = "ctl.sock"\n`,
    );
    cleanups.push(() => agent.stop());
    const agentPerS = await acceptedPerSecond(dir, WRITE_SECONDS, 'remote write');
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
  what: `GET /metrics of ${SERIES} series in ${SHAPES.map((sh) => sh.name).join(' and in ')} (vs prom-client rendering them) and remote-write samples/s into a real Prometheus (vs plain POSTs)`,
  async run() {
    const dir = tempDir('alumet-bench-prom-');
    try {
      const json: Record<string, unknown> = { series: SERIES };
      const rows: Row[] = [];
      for (const [k, shape] of SHAPES.entries()) {
        const s = await scrape(dir, shape);
        const p50 = percentile(s.agentMs, 50);
        const p99 = percentile(s.agentMs, 99);
        const base50 = percentile(s.promClientMs, 50);
        const base99 = percentile(s.promClientMs, 99);
        log(
          `prometheus: scrape of ${SERIES} series in ${shape.name} p50 ${round(p50)} ms, p99 ${round(p99)} ms; prom-client render p50 ${round(base50)} ms, p99 ${round(base99)} ms; ` +
            `during the scrapes the source produced ${s.produced} points and the exporter wrote ${s.written}`,
        );
        // The first shape keeps the figures' original names.
        const key = k === 0 ? '' : `_${shape.metrics}_families`;
        Object.assign(json, {
          [`scrape${key}_p50_ms`]: round(p50),
          [`scrape${key}_p99_ms`]: round(p99),
          [`baseline_prom_client${key}`]: { render_p50_ms: round(base50), render_p99_ms: round(base99) },
          [`scrape${key}_points`]: { produced: s.produced, written: s.written },
        });
        rows.push(
          { figure: `scrape p50 (${SERIES} series, ${shape.name})`, value: round(p50), unit: 'ms', target: { op: '<=', value: 100 }, baseline: { name: 'prom-client render p50', value: round(base50) } },
          { figure: `scrape p99 (${SERIES} series, ${shape.name})`, value: round(p99), unit: 'ms', target: { op: '<=', value: 100 }, baseline: { name: 'prom-client render p99', value: round(base99) } },
          { figure: `points written while scraped (${shape.name})`, value: s.written, unit: 'points', baseline: { name: 'points produced meanwhile', value: s.produced } },
        );
      }
      const w = await remoteWrite(dir);
      log(`prometheus: remote write ${Math.round(w.agentPerS)} samples/s accepted; plain POSTs ${Math.round(w.postPerS)} samples/s`);
      Object.assign(json, { remote_write_points_per_s: Math.round(w.agentPerS), baseline_plain_post: { points_per_s: Math.round(w.postPerS) } });
      rows.push({ figure: 'remote write', value: Math.round(w.agentPerS), unit: 'points/s', baseline: { name: 'plain POSTs of one body', value: Math.round(w.postPerS) } });
      return { json, rows };
    } finally {
      rmrf(dir);
    }
  },
};
