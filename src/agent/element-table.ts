// The supervisor's element table (main thread): every element's record by id and by name, the slot (worker
// thread) that hosts it, and the order `list` shows them in.

import { kindRank } from '../protocol/element-kinds.js';
import { ElementRecord, type ElementDecl } from './element-record.js';
import type { Slot } from './pipeline.js';

export class ElementTable {
  readonly #records = new Map<number, ElementRecord>();
  readonly #byName = new Map<string, ElementRecord>();
  readonly #slotOf = new Map<ElementRecord, Slot>();
  #order: ElementRecord[] | undefined;
  #nextId = 0;
  #removedProduced = 0;

  /** Records a new element; its name must be new. */
  add(decl: ElementDecl): ElementRecord {
    const r = new ElementRecord(this.#nextId++, decl);
    if (this.#byName.has(r.name)) throw new Error(`duplicate element name: ${r.name}`);
    this.#records.set(r.id, r);
    this.#order = undefined;
    this.#byName.set(r.name, r);
    return r;
  }

  get(id: number): ElementRecord | undefined {
    return this.#records.get(id);
  }

  named(name: string): ElementRecord | undefined {
    return this.#byName.get(name);
  }

  all(): IterableIterator<ElementRecord> {
    return this.#records.values();
  }

  /** The records as `list` shows them (sources, transforms, outputs, each in creation order), sorted once per change. */
  ordered(): ElementRecord[] {
    if (this.#order === undefined) {
      this.#order = [...this.#records.values()].sort((a, b) => kindRank(a.kind) - kindRank(b.kind) || a.id - b.id);
    }
    return this.#order;
  }

  /** The slot that hosts `r`; undefined while a run-time source waits for its place on the pool. */
  slotOf(r: ElementRecord): Slot | undefined {
    return this.#slotOf.get(r);
  }

  place(r: ElementRecord, slot: Slot): void {
    this.#slotOf.set(r, slot);
  }

  /** Points produced by run-time sources that have since been removed, for the shutdown balance. */
  get removedProduced(): number {
    return this.#removedProduced;
  }

  /** Removes a run-time source from the table and from its slot (no restart of it is pending any more). */
  forget(r: ElementRecord): void {
    if (this.#records.get(r.id) !== r) return;
    clearTimeout(r.restartTimer);
    this.#removedProduced += r.counters.get('points_out');
    this.#records.delete(r.id);
    this.#order = undefined;
    this.#byName.delete(r.name);
    const slot = this.#slotOf.get(r);
    this.#slotOf.delete(r);
    if (slot !== undefined) slot.elements.splice(slot.elements.indexOf(r), 1);
  }
}
