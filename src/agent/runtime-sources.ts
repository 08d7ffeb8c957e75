// Run-time sources (main thread): the sources elements create while the agent runs (one per process, one per
// cgroup), placed on the shared pool of worker threads — the thread with the least polling load — or, when
// they work on what their creator holds (a relay client's connection), on their creator's thread; and
// removed (final flush) when they end or their creator removes them.

import { availableParallelism } from 'node:os';
import type { Logger } from '../protocol/logging.js';
import type { RuntimeSourceSpec } from '../protocol/element.js';
import { parseDuration } from '../protocol/duration.js';
import type { ElementRecord } from './element-record.js';
import type { ElementTable } from './element-table.js';
import type { LinkTable } from './link-table.js';
import type { Slot, Topology } from './pipeline.js';

export interface RuntimeSourcesOptions {
  readonly table: ElementTable;
  readonly topology: Topology;
  readonly links: LinkTable;
  readonly log: Logger;
  readonly controlTimeoutMs: number;
  /** Threads of the pool; 0 = one per CPU core. */
  readonly poolThreads: number;
  /** Starts a new, empty pool thread (not yet linked). */
  readonly spawnPoolThread: () => Promise<Slot>;
  readonly shuttingDown: () => boolean;
}

export class RuntimeSources {
  readonly #o: RuntimeSourcesOptions;
  readonly #poolSize: number;
  /**
   * Additions under way. The placement itself is a wiring change (LinkTable.change), but the `addElement`
   * that follows is not: a shutdown waits for these too (`settled`), so that no source starts on a pool
   * thread after that thread was drained, counting points that go nowhere.
   */
  readonly #adding = new Set<Promise<void>>();
  /**
   * Removals under way, by name. A source may be removed twice at once (it ended, and its creator removed
   * it): one removal serves both. A name being removed (a reused pid, a re-created cgroup) is added again
   * only once its removal is done, so the two never share a name in the table.
   */
  readonly #removals = new Map<string, Promise<void>>();

  constructor(options: RuntimeSourcesOptions) {
    this.#o = options;
    this.#poolSize = options.poolThreads > 0 ? options.poolThreads : availableParallelism();
  }

  /** Resolves once every addition begun so far has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#adding]);
  }

  /** Adds the source `creator` asks for and places it on the pool thread with the least polling load. */
  add(creator: ElementRecord, spec: RuntimeSourceSpec): Promise<void> {
    const { table, links } = this.#o;
    const name = `source/${creator.decl.plugin}/${spec.element}`;
    const removal = this.#removals.get(name);
    if (removal !== undefined) return removal.then(() => this.add(creator, spec));
    if (table.named(name) !== undefined || this.#o.shuttingDown()) return Promise.resolve();
    const r = table.add({
      kind: 'source',
      plugin: creator.decl.plugin,
      element: spec.element,
      moduleUrl: spec.module,
      config: spec.config,
      pollNs: spec.poll_interval === undefined ? undefined : parseDuration(spec.poll_interval),
      flushNs: spec.flush_interval === undefined ? undefined : parseDuration(spec.flush_interval),
      runtime: true,
    });
    if (spec.paused) r.desired = 'paused';
    const placed = links.change(async () => {
      if (this.#o.shuttingDown()) return undefined;
      const slot = spec.sameThread ? table.slotOf(creator) : await this.#poolSlotFor();
      if (slot === undefined || slot.retired) return undefined;
      slot.elements.push(r);
      table.place(r, slot);
      return slot;
    });
    const added = placed.then(async (slot) => {
      if (slot === undefined || this.#o.shuttingDown()) {
        table.forget(r);
        return;
      }
      try {
        await slot.handle.call('addElement', (c) => c.addElement(r.spec()), this.#o.controlTimeoutMs);
        r.state = r.desired === 'paused' ? 'paused' : 'running';
      } catch (e) {
        table.forget(r);
        throw e;
      }
    });
    this.#adding.add(added);
    added.then(
      () => this.#adding.delete(added),
      () => this.#adding.delete(added),
    );
    return added;
  }

  async #poolSlotFor(): Promise<Slot> {
    const load = (s: Slot): number => s.elements.reduce((sum, e) => sum + 1e9 / Number(e.pollNs ?? 1_000_000_000n), 0);
    const pool = this.#o.topology.sources.filter((s) => s.pool && !s.retired);
    const idle = pool.find((s) => s.elements.length === 0);
    if (idle !== undefined) return idle;
    if (pool.length < this.#poolSize) {
      const slot = await this.#o.spawnPoolThread();
      this.#o.topology.sources.push(slot);
      await this.#o.links.linkDownstream(slot);
      await slot.handle.call('start', (c) => c.start(), this.#o.controlTimeoutMs);
      return slot;
    }
    return pool.reduce((best, s) => (load(s) < load(best) ? s : best));
  }

  /** Stops a run-time source (final flush) and removes it from the table. */
  remove(r: ElementRecord): Promise<void> {
    let removal = this.#removals.get(r.name);
    if (removal === undefined) {
      removal = this.#remove(r).finally(() => this.#removals.delete(r.name));
      this.#removals.set(r.name, removal);
    }
    return removal;
  }

  async #remove(r: ElementRecord): Promise<void> {
    const slot = this.#o.table.slotOf(r);
    if (slot === undefined) return;
    try {
      await slot.handle.call('removeElement', (c) => c.removeElement(r.id), this.#o.controlTimeoutMs);
    } catch (e) {
      this.#o.log.warn(`${r.name}: ${(e as Error).message}`);
    }
    this.#o.table.forget(r);
  }
}
