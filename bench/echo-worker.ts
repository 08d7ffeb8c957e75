// Bench worker (worker thread) for the `control` scenario's baseline: answers every message with itself,
// so the bench can time a bare main ⇄ worker round trip on this machine.

import { parentPort } from 'node:worker_threads';

parentPort!.on('message', (m: unknown) => parentPort!.postMessage(m));
