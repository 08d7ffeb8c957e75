// The data links between slots (main thread): made when a worker starts, replaced when one is respawned,
// dropped when one retires, and the points lost on them when the worker at one end dies. Which slot sends
// to which is the Topology's to say (pipeline.ts); the links themselves are MessagePort pairs between workers.

import { MessageChannel } from 'node:worker_threads';
import { transfer } from '../protocol/rpc.js';
import type { Logger } from '../protocol/logging.js';
import type { Slot, Topology } from './pipeline.js';
import type { WorkerHandle } from './worker-handle.js';

interface Link {
  readonly from: Slot;
  readonly to: Slot;
  /** The workers at either end when the link was made (a slot's handle changes when it is respawned). */
  readonly fromHandle: WorkerHandle;
  readonly toHandle: WorkerHandle;
}

export class LinkTable {
  readonly #topology: Topology;
  readonly #log: Logger;
  readonly #controlTimeoutMs: number;
  readonly #links = new Map<number, Link>();
  #nextId = 1;
  /**
   * The last change to the wiring (see `change`). Respawns and placements on the pool run one at a time:
   * two slots respawned at once would each link to the other, and a batch would then arrive twice.
   */
  #changes: Promise<unknown> = Promise.resolve();

  constructor(topology: Topology, log: Logger, controlTimeoutMs: number) {
    this.#topology = topology;
    this.#log = log;
    this.#controlTimeoutMs = controlTimeoutMs;
  }

  /** Runs `fn`, a change to the wiring, once every change begun before it has ended (failed or not). */
  change<T>(fn: () => Promise<T>): Promise<T> {
    const done = this.#changes.then(fn);
    this.#changes = done.catch(() => undefined);
    return done;
  }

  /** Resolves once every change begun so far has ended. */
  async settled(): Promise<void> {
    await this.#changes;
  }

  /** Links `slot` to every slot it sends to. */
  async linkDownstream(slot: Slot): Promise<void> {
    for (const to of this.#topology.downstreamOf(slot)) await this.#connect(slot, to);
  }

  /**
   * Links a slot whose worker was just respawned where the old worker was: to its consumers, and from its
   * live producers in place of their links to the dead worker, charging the points lost on those.
   */
  async relink(slot: Slot): Promise<void> {
    // Downstream first, as at start: a transform fed before it has outputs would forward batches to nobody.
    await this.linkDownstream(slot);
    for (const up of this.#topology.upstreamOf(slot)) {
      // A producer that is down itself links to this slot when it comes back.
      if (!up.handle.alive) continue;
      const stale = [...this.#links].find(([, l]) => l.from === up && l.to === slot && l.fromHandle === up.handle)?.[0];
      const lost = await this.#connect(up, slot, stale);
      if (stale !== undefined) this.#links.delete(stale);
      this.#chargeCrash(slot, lost);
    }
    // Links from producers that died too: their count of what they could not send died with them.
    for (const [id, link] of this.#links) if (link.to === slot && link.toHandle !== slot.handle) this.#links.delete(id);
  }

  /**
   * Links `from` to `to`, in place of link `replaces` if given; resolves with the points lost on the
   * replaced link. When `to` is down (failed, waiting for its restart or given up on), the producer gets a
   * link whose other end is closed at once: it sends nothing on it and counts what it would have sent.
   */
  async #connect(from: Slot, to: Slot, replaces?: number): Promise<number> {
    const id = this.#nextId++;
    const { port1, port2 } = new MessageChannel();
    const consumerUp = to.handle.alive;
    this.#links.set(id, { from, to, fromHandle: from.handle, toHandle: to.handle });
    const t = this.#controlTimeoutMs;
    if (consumerUp) await to.handle.call('attachInput', (c) => c.attachInput(id, transfer(port2, [port2])), t);
    const lost = await from.handle.call('attachOutput', (c) => c.attachOutput(id, transfer(port1, [port1]), replaces), t);
    if (!consumerUp) port2.close();
    return lost;
  }

  /** Forgets the links of a retired slot (its worker has ended). */
  async unlink(slot: Slot): Promise<void> {
    const calls: Array<Promise<unknown>> = [];
    for (const [id, link] of this.#links) {
      if (link.to === slot && link.from.handle === link.fromHandle && link.fromHandle.alive) {
        // Normally the producer dropped this link when the output stopped; anything else it reports is lost.
        calls.push(this.#detach(id, link).then((lost) => this.#chargeCrash(slot, lost)));
      }
      if (link.from === slot || link.to === slot) this.#links.delete(id);
    }
    await Promise.allSettled(calls);
  }

  /**
   * Accounts for the death of `slot`'s worker `handle`. An output's backlog was acknowledged upstream, so only
   * its counter knows it is gone. What the worker had not acknowledged, its producers count
   * (src/workers/links.ts) and report when the link is replaced (`relink`). Links from it end by themselves
   * once all it sent has arrived; links to it stay until it is replaced.
   */
  workerDied(slot: Slot, handle: WorkerHandle): void {
    for (const r of slot.elements) {
      const held = r.kind === 'output' ? r.counters.get('backlog_points') : 0;
      if (held > 0) {
        r.counters.add('dropped_crash', held);
        r.counters.set('backlog_points', 0);
        this.#log.warn(`${r.name}: ${held} points of its backlog were lost when its worker died`);
      }
    }
    for (const [id, link] of this.#links) if (link.fromHandle === handle) this.#links.delete(id);
  }

  /**
   * At shutdown, after the drains: producers still count the points they could not send to a consumer that
   * died (src/workers/links.ts); collect them into that consumer's `dropped_crash`.
   */
  async collectLosses(): Promise<void> {
    const calls: Array<Promise<unknown>> = [];
    for (const [id, link] of this.#links) {
      if (link.toHandle.alive || link.to.retired || link.from.handle !== link.fromHandle || !link.fromHandle.alive) continue;
      calls.push(
        this.#detach(id, link).then(
          (lost) => this.#chargeCrash(link.to, lost),
          (e: Error) => this.#log.error(`points lost on the link from ${link.from.handle.label} to ${link.to.handle.label} are not counted: ${e.message}`),
        ),
      );
      this.#links.delete(id);
    }
    await Promise.all(calls);
  }

  /** Asks the producer to drop link `id`; resolves with the points it could not send on it. */
  #detach(id: number, link: Link): Promise<number> {
    return link.fromHandle.call('detachOutput', (c) => c.detachOutput(id), this.#controlTimeoutMs);
  }

  /** Points a crash of `slot`'s worker cost it (it hosts one transform or one output). */
  #chargeCrash(slot: Slot, points: number): void {
    if (points <= 0) return;
    const r = slot.elements[0];
    if (r === undefined) return;
    r.counters.add('dropped_crash', points);
    this.#log.warn(`${r.name}: ${points} points were lost on their way to it when its worker died`);
  }
}
