// Drift-free tick scheduler for managed sources. Runs in a worker thread.
//
// Tick k falls at t0 + k·period on the monotonic clock, whatever the time polls take; ticks missed while a
// poll ran long are coalesced into one and counted. Long waits use timers (which free the event loop);
// the last few milliseconds before a tick, on a thread that hosts a single source, are spent blocked in
// Atomics.wait on the element's wake cell and then a short spin, because Node timers are only ~1 ms
// accurate. The supervisor notifies the wake cell with every control request, so a blocked source still
// answers pause, stop, set-period and trigger-now at once.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { monoMs } from '../protocol/clock.js';

/** Below this much time to the next tick, a precise scheduler blocks instead of using a timer. */
const PRECISE_WINDOW_MS = 2.5;
/**
 * The final stretch before a tick is spun, because Atomics.wait returns late: by ~10 µs on an idle bare
 * machine, by 85 µs (median) to 190 µs (p99) on a 2-vCPU VM (measured). So the spin starts at SPIN_MS and
 * then follows how late this thread's timed waits actually return (see WakeLatency).
 */
const SPIN_MS = 0.06;
const SPIN_MIN_MS = 0.03;
/** A spin never takes more than this much of the time before a tick (a control request ends it anyway). */
const SPIN_MAX_MS = 0.3;
/** Timed waits per re-estimate of the spin. */
const WAKE_SAMPLES = 128;
/** Node fires a longer timer after 1 ms (TimeoutOverflowWarning): a long period is slept in several parts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface TickTarget {
  /**
   * One poll; `manual` is true for trigger-now (which also flushes at once). `scheduledMs` is when the tick
   * was due on the monotonic clock (`monoMs`): the latest of the ticks a late poll coalesces, or the time
   * of the request for a manual tick.
   */
  tick(manual: boolean, scheduledMs: number): Promise<void> | void;
  missed(n: number): void;
}

/**
 * How late Atomics.wait returns on this thread, sampled over the last WAKE_SAMPLES timed waits. The spin
 * covers about the 98th percentile of that lateness (plus a margin): a block then ends early enough for the
 * spin to hit the tick almost always, and a machine that wakes threads fast spins little. One per thread
 * (module state), since the lateness belongs to the machine, not to a source.
 */
class WakeLatency {
  readonly #samples = new Float64Array(WAKE_SAMPLES);
  #n = 0;
  spinMs = SPIN_MS;

  record(lateMs: number): void {
    this.#samples[this.#n++] = Math.max(0, lateMs);
    if (this.#n < WAKE_SAMPLES) return;
    this.#n = 0;
    const sorted = this.#samples.slice().sort();
    this.spinMs = Math.min(SPIN_MAX_MS, Math.max(SPIN_MIN_MS, sorted[WAKE_SAMPLES - 3]! + 0.02));
  }
}

const wakeLatency = new WakeLatency();

export class Scheduler {
  #periodMs: number;
  #t0 = 0;
  #k = 0;
  #state: 'running' | 'paused' | 'stopped';
  #started = false;
  readonly #precise: boolean;
  readonly #wake: Int32Array;
  readonly #target: TickTarget;
  #interruptSleep: (() => void) | undefined;
  #manualWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  #done: Promise<void> | undefined;

  constructor(periodNs: bigint, opts: { precise: boolean; wake: Int32Array; paused: boolean; target: TickTarget }) {
    this.#periodMs = Number(periodNs) / 1e6;
    this.#precise = opts.precise;
    this.#wake = opts.wake;
    this.#target = opts.target;
    this.#state = opts.paused ? 'paused' : 'running';
  }

  /** Starts the loop; the first tick is immediate (as Alumet's timer, whose start is already due). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#t0 = this.#origin();
    this.#k = 0;
    this.#done = this.#loop();
  }

  pause(): void {
    if (this.#state === 'running') this.#state = 'paused';
    this.#interrupt();
  }

  /** A resumed source restarts its schedule from now, with an immediate poll. */
  resume(): void {
    if (this.#state !== 'paused') return;
    this.#state = 'running';
    this.#t0 = this.#origin();
    this.#k = 0;
    this.#interrupt();
  }

  setPeriod(periodNs: bigint): void {
    this.#periodMs = Number(periodNs) / 1e6;
    this.#t0 = this.#origin();
    this.#k = 1;
    this.#interrupt();
  }

  /** One extra poll now (also when paused); resolves once that poll has run and been flushed. */
  triggerNow(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#manualWaiters.push({ resolve, reject });
      this.#interrupt();
      if (!this.#started) this.start();
    });
  }

  /** Ends the loop after the poll in progress, if any. */
  async stop(): Promise<void> {
    this.#state = 'stopped';
    this.#interrupt();
    await this.#done;
    for (const w of this.#manualWaiters.splice(0)) w.reject(new Error('source stopped'));
  }

  async #loop(): Promise<void> {
    while (this.#state !== 'stopped') {
      if (this.#manualWaiters.length > 0) {
        const waiters = this.#manualWaiters.splice(0);
        try {
          await this.#target.tick(true, monoMs());
          for (const w of waiters) w.resolve();
        } catch (e) {
          for (const w of waiters) w.reject(e);
        }
        continue;
      }
      if (this.#state === 'paused') {
        await this.#sleep(Infinity);
        continue;
      }
      const next = this.#t0 + this.#k * this.#periodMs;
      const remaining = next - monoMs();
      if (remaining > 0) {
        if (!this.#precise || remaining > PRECISE_WINDOW_MS) {
          await this.#sleep(this.#precise ? remaining - PRECISE_WINDOW_MS + 0.5 : remaining);
          continue;
        }
        if (!this.#waitPrecisely(next)) {
          await yieldToEventLoop(); // a control request is waiting in the port
          continue;
        }
      }
      const late = monoMs() - next;
      const missed = late >= this.#periodMs ? Math.floor(late / this.#periodMs) : 0;
      if (missed > 0) this.#target.missed(missed);
      this.#k += missed + 1;
      // A coalesced poll stands for the latest of the ticks it replaces.
      await this.#target.tick(false, next + missed * this.#periodMs);
      // Let credits and control messages in between ticks (a precise wait blocks the event loop).
      if (this.#precise) await yieldToEventLoop();
    }
  }

  /**
   * Tick 0 of a (re)started schedule: now, or — on a thread shared by many sources — the last multiple of
   * the period, so that sources with the same period tick together: one wake-up, one merged batch.
   */
  #origin(): number {
    const now = monoMs();
    return this.#precise ? now : Math.floor(now / this.#periodMs) * this.#periodMs;
  }

  /** Blocks until `deadline`; returns false if woken early by the supervisor. */
  #waitPrecisely(deadline: number): boolean {
    const wake = this.#wake;
    const seq = Atomics.load(wake, 0);
    const spinFrom = deadline - wakeLatency.spinMs;
    const blockMs = spinFrom - monoMs();
    if (blockMs > 0) {
      if (Atomics.wait(wake, 0, seq, blockMs) !== 'timed-out') return false;
      wakeLatency.record(monoMs() - spinFrom);
    }
    // Spin: the remaining time is shorter than the wake-up jitter of a blocked thread. A control request
    // (the supervisor bumps the wake cell) ends it at once.
    while (monoMs() < deadline) if (Atomics.load(wake, 0) !== seq) return false;
    return Atomics.load(wake, 0) === seq;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, Math.min(Math.max(0, ms), MAX_TIMER_MS)) : undefined;
      function done(): void {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      }
      this.#interruptSleep = done;
    });
  }

  #interrupt(): void {
    const wake = this.#interruptSleep;
    this.#interruptSleep = undefined;
    wake?.();
  }
}
