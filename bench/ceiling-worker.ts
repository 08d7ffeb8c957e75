// Bench worker (worker thread) for the throughput ceiling: a producer that sends already-packed buffers of
// a batch's size as fast as credits allow, or a consumer that reads every value and grants a credit per
// buffer. No Batch, no actor, no supervisor: the raw MessagePort transfer our pipeline is compared with.
// With `recycle`, the consumer hands each buffer back with its credit and the producer sends it again, as
// our links do with spare buffers; without, every buffer is a fresh ArrayBuffer (the plain way).

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';

export interface CeilingInit {
  readonly role: 'producer' | 'consumer';
  readonly port: MessagePort;
  /** Bytes of one buffer (what our Batch allocates for `points`). */
  readonly bytes: number;
  readonly points: number;
  /** Buffers in flight before the producer waits for a credit (our links' batch_window). */
  readonly window: number;
  readonly recycle: boolean;
  /** Float64[2]: points received by the consumer; then an Int32 flag: 1 = the producer pauses. */
  readonly shared: SharedArrayBuffer;
}

const init = workerData as CeilingInit;
const counter = new Float64Array(init.shared, 0, 2);
const stop = new Int32Array(init.shared, 16, 1);

if (init.role === 'producer') {
  let credits = init.window;
  const spare: ArrayBuffer[] = [];
  const pump = (): void => {
    while (credits > 0 && Atomics.load(stop, 0) === 0) {
      credits--;
      const buffer = spare.pop() ?? new ArrayBuffer(init.bytes);
      init.port.postMessage({ buffer, length: init.points }, [buffer]);
    }
  };
  init.port.on('message', (m: { n: number; buffer?: ArrayBuffer }) => {
    credits += m.n;
    if (m.buffer !== undefined) spare.push(m.buffer);
    pump();
  });
  // The benchmark clears the flag and says `go` to start a measurement round.
  parentPort!.on('message', pump);
  pump();
} else {
  init.port.on('message', (m: { buffer: ArrayBuffer; length: number }) => {
    const value = new Float64Array(m.buffer, 0, m.length);
    let sum = 0;
    for (let i = 0; i < m.length; i++) sum += value[i]!;
    counter[1] += sum;
    counter[0] += m.length;
    if (init.recycle) init.port.postMessage({ n: 1, buffer: m.buffer }, [m.buffer]);
    else init.port.postMessage({ n: 1 });
  });
}
