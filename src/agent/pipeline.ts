// The shape of the measurement pipeline (main thread): which worker sends to which. The link table
// (link-table.ts) asks this module for a slot's neighbours whenever it wires a new or restarted worker.
//
//   source workers ──┐                                            ┌─► output worker A
//   (one per source, │   ┌──────────────┐     ┌──────────────┐    ├─► output worker B
//    or a pool thread├──►│ transform 1  │ ──► │ transform 2  │ ───┤   (every output gets
//    hosting many)   │   └──────────────┘     └──────────────┘    └─► every batch)
//                  ──┘
//   Without transforms, every source worker sends straight to every output. Each arrow is a MessagePort
//   pair carrying transferred batches one way and credits the other; the main thread is never on it.
//   The supervisor reaches each worker through a separate comlink control port (not drawn here; the control
//   path has its diagram in src/control/control-target.ts).

import type { WorkerHandle } from './worker-handle.js';
import type { ElementRecord } from './element-record.js';

export type SlotRole = 'source' | 'transform' | 'output';

/** One worker thread and the elements it hosts. */
export interface Slot {
  readonly role: SlotRole;
  handle: WorkerHandle;
  readonly elements: ElementRecord[];
  /** No longer part of the pipeline (its elements were stopped). */
  retired: boolean;
  /** A thread of the shared pool, hosting run-time sources. */
  readonly pool: boolean;
  /** `own` (a worker for this element alone) or `pool-N`, as `status` shows it. */
  readonly thread: string;
}

export class Topology {
  readonly sources: Slot[] = [];
  readonly transforms: Slot[] = [];
  readonly outputs: Slot[] = [];

  slotsOf(role: SlotRole): Slot[] {
    return role === 'source' ? this.sources : role === 'transform' ? this.transforms : this.outputs;
  }

  all(): Slot[] {
    return [...this.outputs, ...this.transforms, ...this.sources];
  }

  #live(slots: Slot[]): Slot[] {
    return slots.filter((s) => !s.retired);
  }

  /** The slots `slot` sends its batches to. */
  downstreamOf(slot: Slot): Slot[] {
    if (slot.role === 'output') return [];
    const ti = slot.role === 'transform' ? this.transforms.indexOf(slot) + 1 : 0;
    const next = this.transforms[ti];
    return next !== undefined ? [next] : this.#live(this.outputs);
  }

  /** The slots that send their batches to `slot`. */
  upstreamOf(slot: Slot): Slot[] {
    if (slot.role === 'source') return [];
    const ti = slot.role === 'transform' ? this.transforms.indexOf(slot) : this.transforms.length;
    return ti > 0 ? [this.transforms[ti - 1]!] : this.#live(this.sources);
  }
}
