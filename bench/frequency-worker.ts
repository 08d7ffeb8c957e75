// Bench worker (worker thread) for the `frequency` scenario: runs the real Scheduler in precise mode, as a
// source thread does, with a tick target that records how late each tick ran; or, as the baseline, a bare
// spin loop on the same drift-free schedule (what the machine allows with a core spent on nothing else).
// Posts the lateness of every tick when the window ends.

import { parentPort, workerData } from 'node:worker_threads';
import { Scheduler } from '../src/workers/scheduler.js';
import { monoMs } from '../src/protocol/clock.js';

export interface FrequencyInit {
  readonly mode: 'scheduler' | 'spin';
  readonly hz: number;
  readonly durationMs: number;
}

export interface FrequencyReport {
  /** Lateness of every polled tick, in microseconds (actual − scheduled). */
  readonly errorsUs: Float64Array;
  /** Ticks polled whose scheduled time fell in the window. */
  readonly polled: number;
  /** Ticks the schedule had in the window. */
  readonly scheduled: number;
  /** Ticks the scheduler reported as missed (coalesced). */
  readonly missed: number;
  readonly cpuMs: number;
  readonly wallMs: number;
}

const init = workerData as FrequencyInit;
const periodMs = 1000 / init.hz;
const scheduled = Math.ceil(init.durationMs / periodMs);
const errorsUs = new Float64Array(scheduled + 16);
let polled = 0;
let missed = 0;

const cpu0 = process.cpuUsage();
const t0 = monoMs();
const end = t0 + init.durationMs;

if (init.mode === 'spin') {
  // The same drift-free schedule and coalescing as the Scheduler, with nothing but a spin in between.
  let k = 0;
  while (k < scheduled) {
    const due = t0 + k * periodMs;
    let now = monoMs();
    while (now < due) now = monoMs();
    const late = now - due;
    const skipped = late >= periodMs ? Math.floor(late / periodMs) : 0;
    missed += skipped;
    k += skipped + 1;
    if (due + skipped * periodMs >= end) break;
    errorsUs[polled++] = (now - (due + skipped * periodMs)) * 1000;
  }
} else {
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const scheduler: Scheduler = new Scheduler(BigInt(Math.round(periodMs * 1e6)), {
    precise: true,
    wake: new Int32Array(new SharedArrayBuffer(8)),
    paused: false,
    target: {
      tick(_manual, scheduledMs) {
        const now = monoMs();
        if (scheduledMs >= end) {
          // stop() waits for the loop, which waits for this tick: do not await it here.
          void scheduler.stop().then(finished);
          return;
        }
        errorsUs[polled++] = (now - scheduledMs) * 1000;
      },
      missed(n) {
        missed += n;
      },
    },
  });
  scheduler.start();
  await done;
}

const wallMs = monoMs() - t0;
const cpu = process.cpuUsage(cpu0);
const report: FrequencyReport = { errorsUs: errorsUs.slice(0, polled), polled, scheduled, missed, cpuMs: (cpu.user + cpu.system) / 1000, wallMs };
parentPort!.postMessage(report, [report.errorsUs.buffer as ArrayBuffer]);
