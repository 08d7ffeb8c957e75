// Scenario `frequency` (main thread of the bench process): one managed source's schedule at 1, 10 and 20 kHz,
// each for a few seconds in its own worker, with the real Scheduler in precise mode; the baseline is a bare
// spin loop on the same schedule (the jitter the machine itself adds).

import { Worker } from 'node:worker_threads';
import type { FrequencyInit, FrequencyReport } from './frequency-worker.js';
import { log, percentile, round, type Row, type Scenario } from './util.js';

const WORKER_URL = new URL('./frequency-worker.js', import.meta.url);
const RUNS_HZ = [1000, 10_000, 20_000];
const RUN_MS = Number(process.env['BENCH_FREQUENCY_MS'] ?? 5000);
const BASELINE_HZ = 10_000;
const BASELINE_MS = 2000;

interface RunFigures {
  hz: number;
  polled_ratio: number;
  p50_error_us: number;
  p99_error_us: number;
  max_error_us: number;
  cpu_percent: number;
  missed_ticks: number;
}

function runWorker(init: FrequencyInit): Promise<FrequencyReport> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_URL, { workerData: init });
    w.once('message', (r: FrequencyReport) => {
      resolve(r);
      void w.terminate();
    });
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`frequency worker exited with code ${code} before reporting`)));
  });
}

function figures(hz: number, r: FrequencyReport): RunFigures {
  return {
    hz,
    polled_ratio: round(r.polled / r.scheduled, 4),
    p50_error_us: round(percentile(r.errorsUs, 50), 1),
    p99_error_us: round(percentile(r.errorsUs, 99), 1),
    max_error_us: round(percentile(r.errorsUs, 100), 1),
    cpu_percent: round((r.cpuMs / r.wallMs) * 100, 1),
    missed_ticks: r.missed,
  };
}

export const frequency: Scenario = {
  name: 'frequency',
  what: `one managed source at ${RUNS_HZ.map((h) => h / 1000).join(', ')} kHz (real Scheduler, precise), vs a bare spin loop`,
  async run() {
    const runs: RunFigures[] = [];
    for (const hz of RUNS_HZ) {
      log(`frequency: ${hz} Hz for ${RUN_MS} ms…`);
      const f = figures(hz, await runWorker({ mode: 'scheduler', hz, durationMs: RUN_MS }));
      log(`frequency: ${JSON.stringify(f)}`);
      runs.push(f);
    }
    log(`frequency: baseline spin loop at ${BASELINE_HZ} Hz for ${BASELINE_MS} ms…`);
    const base = figures(BASELINE_HZ, await runWorker({ mode: 'spin', hz: BASELINE_HZ, durationMs: BASELINE_MS }));
    log(`frequency: baseline ${JSON.stringify(base)}`);
    const rows: Row[] = [];
    for (const r of runs) {
      const k = `${r.hz / 1000} kHz`;
      const gated = r.hz === 10_000;
      rows.push({
        figure: `${k} polled ratio`,
        value: r.polled_ratio,
        unit: '',
        ...(gated ? { target: { op: '>=', value: 0.99 } as const } : {}),
        baseline: { name: 'spin ratio', value: base.polled_ratio },
      });
      rows.push({
        figure: `${k} p99 tick error`,
        value: r.p99_error_us,
        unit: 'us',
        ...(gated ? { target: { op: '<=', value: 100 } as const } : {}),
        baseline: { name: 'spin p99', value: base.p99_error_us },
      });
      rows.push({ figure: `${k} p50 / max tick error`, value: r.p50_error_us, unit: `us (max ${r.max_error_us} us)` });
      rows.push({ figure: `${k} CPU`, value: r.cpu_percent, unit: '% of a core' });
    }
    rows.push({ figure: `baseline: spin loop ${BASELINE_HZ / 1000} kHz p99 error`, value: base.p99_error_us, unit: `us (polled ratio ${base.polled_ratio})` });
    return {
      json: {
        runs: runs.map(({ missed_ticks: _, ...r }) => r),
        missed_ticks: runs.map((r) => r.missed_ticks),
        run_ms: RUN_MS,
        baseline_spin: { hz: base.hz, polled_ratio: base.polled_ratio, p50_error_us: base.p50_error_us, p99_error_us: base.p99_error_us, max_error_us: base.max_error_us, cpu_percent: base.cpu_percent },
      },
      rows,
    };
  },
};
