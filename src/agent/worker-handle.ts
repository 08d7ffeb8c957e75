// The supervisor's handle on one element worker (main thread): spawns it, and makes control calls that
// cannot hang — every call races the worker's exit and a timeout, because a comlink call to a worker that
// died stays pending forever.

import { MessageChannel, Worker } from 'node:worker_threads';
import { wrap, type Remote } from '../protocol/rpc.js';
import type { WorkerControl, WorkerEvent, WorkerInit } from '../protocol/messages.js';

const WORKER_ENTRY = new URL('../workers/element-worker.js', import.meta.url);
const POOL_YOUNG_GENERATION_MB = 6;

class WorkerGoneError extends Error {
  override readonly name = 'WorkerGoneError';
}

export class WorkerHandle {
  readonly worker: Worker;
  readonly control: Remote<WorkerControl>;
  readonly label: string;
  #exited = false;
  #exitError: Error | undefined;
  readonly #exitPromise: Promise<never>;
  #intentional = false;

  constructor(label: string, init: Omit<WorkerInit, 'control'>, onEvent: (e: WorkerEvent) => void, onExit: (h: WorkerHandle, error: Error | undefined) => void) {
    this.label = label;
    const { port1, port2 } = new MessageChannel();
    this.worker = new Worker(WORKER_ENTRY, {
      workerData: { ...init, control: port2 } satisfies WorkerInit,
      transferList: [port2],
      stdout: false,
      stderr: false,
      // A pool thread allocates steadily in small pieces for hundreds of sources; left alone, V8 grows its
      // young generation to 48 MiB while less than 15 MiB is live. A smaller nursery keeps RSS near what is used.
      resourceLimits: init.shared ? { maxYoungGenerationSizeMb: POOL_YOUNG_GENERATION_MB } : undefined,
    });
    this.control = wrap<WorkerControl>(port1 as unknown as Parameters<typeof wrap>[0]);
    this.worker.on('message', onEvent);
    this.worker.on('error', (e) => {
      this.#exitError = e;
    });
    this.#exitPromise = new Promise<never>((_, reject) => {
      this.worker.once('exit', (code) => {
        this.#exited = true;
        port1.close();
        const error = this.#exitError ?? (code !== 0 && !this.#intentional ? new Error(`worker exited with code ${code}`) : undefined);
        reject(new WorkerGoneError(`${label}: ${error?.message ?? 'worker exited'}`));
        if (!this.#intentional) onExit(this, error);
      });
    });
    this.#exitPromise.catch(() => undefined);
  }

  get alive(): boolean {
    return !this.#exited;
  }

  /** Runs a control call, failing if the worker exits or the call takes longer than `timeoutMs`. */
  async call<T>(what: string, fn: (c: Remote<WorkerControl>) => Promise<T>, timeoutMs: number): Promise<T> {
    if (this.#exited) throw new WorkerGoneError(`${this.label}: worker is not running`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label}: ${what} timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([fn(this.control), this.#exitPromise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the worker on purpose (no restart). */
  async terminate(): Promise<void> {
    this.#intentional = true;
    if (!this.#exited) await this.worker.terminate();
  }
}
