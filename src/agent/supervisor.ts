// The supervisor (main thread): owns the element table and the worker threads, wires their data links,
// restarts what fails, applies control requests, and runs the shutdown that loses no point. It implements
// the ControlTarget the socket server talks to.

import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { transfer } from '../protocol/rpc.js';
import type { Logger } from '../protocol/logging.js';
import type { MetricInfo } from '../protocol/metrics.js';
import type { WorkerEvent } from '../protocol/messages.js';
import type { ConsumerEvent, RuntimeSourceSpec } from '../protocol/element.js';
import { parseDuration } from '../protocol/duration.js';
import type { ControlAction, ControlTarget, ElementSummary } from '../control/control-target.js';
import { ElementRecord, type ElementDecl } from './element-record.js';
import { Topology, type Slot, type SlotRole } from './pipeline.js';
import { WorkerHandle } from './worker-handle.js';

export interface SupervisorOptions {
  log: Logger;
  logLevel: string;
  pretty: boolean;
  batchWindow: number;
  outputBacklog: number;
  controlTimeoutMs: number;
  shutdownTimeoutMs: number;
  restartMax: number;
  restartBackoffMs: number;
  restartBackoffMaxMs: number;
  /** Threads of the shared pool for run-time sources; 0 = one per CPU core. */
  poolThreads: number;
  /** Called once the pipeline has shut down (after a `shutdown` command, say). */
  onShutdown?: () => void;
}

interface Link {
  readonly from: Slot;
  readonly to: Slot;
  /** The workers at either end when the link was made (a slot's handle changes when it is respawned). */
  readonly fromHandle: WorkerHandle;
  readonly toHandle: WorkerHandle;
}

/** Where every point went, from the element counters (see `Supervisor.pointBalance`). */
export interface PointBalance {
  /** Points the sources handed downstream (run-time sources removed since included). */
  readonly produced: number;
  readonly transforms: ReadonlyArray<{ name: string; received: number; forwarded: number; dropped_crash: number }>;
  readonly outputs: ReadonlyArray<{
    name: string;
    /** Points sent to this output (what the stage before it forwarded); undefined for a stopped output. */
    input: number | undefined;
    written: number;
    received: number;
    dropped_backlog: number;
    dropped_crash: number;
    /** Still held in its backlog (non-zero only if a shutdown did not complete). */
    backlog: number;
    /** input − written − drops − backlog: 0 unless a shutdown timed out or a double fault lost count. */
    unaccounted: number | undefined;
  }>;
}

const START_TIMEOUT_MS = 30_000;

export class Supervisor implements ControlTarget {
  readonly #opts: SupervisorOptions;
  readonly #log: Logger;
  readonly #topology = new Topology();
  readonly #records = new Map<number, ElementRecord>();
  #order: ElementRecord[] | undefined;
  #nextElementId = 0;
  /** Points produced by run-time sources that have since been removed, for the shutdown balance. */
  #removedProduced = 0;
  /**
   * Serialises changes to the wiring (pool threads, respawns): two slots respawned at once would each link
   * to the other, and a batch would then arrive twice.
   */
  #wiring: Promise<unknown> = Promise.resolve();
  /** Run-time sources being added: a shutdown waits for them, so that none starts after its thread drained. */
  readonly #adding = new Set<Promise<void>>();
  readonly #byName = new Map<string, ElementRecord>();
  /** Run-time sources being removed, by name. */
  readonly #removals = new Map<string, Promise<void>>();
  readonly #slotOf = new Map<ElementRecord, Slot>();
  readonly #links = new Map<number, Link>();
  #nextLinkId = 1;
  #metrics: MetricInfo[] = [];
  #shuttingDown: Promise<void> | undefined;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    this.#log = opts.log;
  }

  get isShuttingDown(): boolean {
    return this.#shuttingDown !== undefined;
  }

  /** Starts every element: outputs first, then transforms, then sources, so no batch finds its consumer missing. */
  async start(decls: readonly ElementDecl[], metrics: MetricInfo[]): Promise<void> {
    this.#metrics = metrics;
    const order: SlotRole[] = ['output', 'transform', 'source'];
    for (const role of order) {
      const slots = await Promise.all(
        decls.filter((d) => d.kind === role).map((d) => this.#spawnSlot(role, [this.#addRecord(d)])),
      );
      this.#slotsOf(role).push(...slots);
    }
    for (const slot of this.#topology.all()) {
      for (const to of this.#topology.downstreamOf(slot)) await this.#connect(slot, to);
    }
    // Outputs open their files only now, when every element has been created: nothing is truncated or
    // written by a start-up that fails.
    for (const slot of [...this.#topology.outputs, ...this.#topology.sources]) await slot.handle.call('start', (c) => c.start(), this.#opts.controlTimeoutMs);
    // Run-time sources added meanwhile (by a watcher's first poll) get their state when they are placed.
    for (const r of this.#records.values()) if (!r.decl.runtime) r.state = r.desired === 'paused' ? 'paused' : 'running';
  }

  /** Tells every element about a consumer the agent measures on purpose (`exec`'s child, say). */
  async publishConsumerEvent(event: ConsumerEvent): Promise<void> {
    await Promise.allSettled(
      this.#topology.all().filter((s) => !s.retired && s.handle.alive).map((s) => s.handle.call('consumerEvent', (c) => c.consumerEvent(event), this.#opts.controlTimeoutMs)),
    );
  }

  elements(): ElementSummary[] {
    return this.#ordered().map((r) => ({
      name: r.name,
      kind: r.kind,
      plugin: r.decl.plugin,
      element: r.decl.element,
      state: r.state,
      period: r.periodText,
      // Read only by `status`: every control line lists the elements to match its pattern, and a snapshot of
      // every element's counters each time was most of the supervisor's garbage.
      get counters() {
        return r.counters.snapshot();
      },
      lastError: r.lastError,
      thread: this.#slotOf.get(r)?.thread,
    }));
  }

  /** The records as `list` shows them (sources, transforms, outputs, each in creation order), sorted once per change. */
  #ordered(): ElementRecord[] {
    if (this.#order === undefined) {
      const rank = { source: 0, transform: 1, output: 2 };
      this.#order = [...this.#records.values()].sort((a, b) => rank[a.kind] - rank[b.kind] || a.id - b.id);
    }
    return this.#order;
  }

  async apply(names: readonly string[], action: ControlAction): Promise<Array<{ name: string; error: string }>> {
    const results = await Promise.all(
      names.map(async (name) => {
        const r = this.#byName.get(name);
        if (r === undefined) return { name, error: 'no such element' };
        try {
          await this.#applyOne(r, action);
          return undefined;
        } catch (e) {
          return { name, error: e instanceof Error ? e.message : String(e) };
        }
      }),
    );
    return results.filter((r): r is { name: string; error: string } => r !== undefined);
  }

  shutdown(): void {
    void this.stopAll();
  }

  /**
   * Shuts the pipeline down: sources stop and flush, transforms drain, outputs write everything and close.
   * Every stage drains into a consumer that is still alive, because each waits for the `end` of its inputs.
   */
  stopAll(): Promise<void> {
    this.#shuttingDown ??= this.#stopAll();
    return this.#shuttingDown;
  }

  async #stopAll(): Promise<void> {
    // Placements and respawns under way finish first (no new one starts from now on), so that every worker
    // is drained: a source started on a pool thread after its drain would count points that go nowhere.
    await this.#wiring;
    await Promise.allSettled([...this.#adding]);
    this.#log.info('shutting down: stopping sources, draining transforms and outputs');
    for (const r of this.#records.values()) clearTimeout(r.restartTimer);
    const slots = this.#topology.all().filter((s) => !s.retired && s.handle.alive);
    const deadline = this.#opts.shutdownTimeoutMs;
    const results = await Promise.allSettled(slots.map((s) => s.handle.call('drain', (c) => c.drain(), deadline)));
    results.forEach((res, i) => {
      if (res.status === 'rejected') this.#log.error(`${slots[i]!.handle.label} did not shut down cleanly: ${(res.reason as Error).message}`);
    });
    await this.#collectLinkLosses();
    for (const r of this.#records.values()) if (r.state !== 'failed') r.state = 'stopped';
    // Producers first: a source whose drain timed out would otherwise send its last batches, the moment a
    // stuck consumer's worker ends, to consumers that are being ended too (counted sent, never written).
    const t = this.#topology;
    for (const stage of [t.sources, ...t.transforms.map((s) => [s]), t.outputs]) await Promise.all(stage.map((s) => s.handle.terminate()));
    this.#logBalance();
    this.#opts.onShutdown?.();
  }

  /** Makes metrics registered after start known to every worker. */
  async metricsAdded(list: MetricInfo[]): Promise<void> {
    this.#metrics.push(...list);
    await Promise.allSettled(
      this.#topology.all().filter((s) => s.handle.alive).map((s) => s.handle.call('metricsAdded', (c) => c.metricsAdded(list), this.#opts.controlTimeoutMs)),
    );
  }

  #slotsOf(role: SlotRole): Slot[] {
    return role === 'source' ? this.#topology.sources : role === 'transform' ? this.#topology.transforms : this.#topology.outputs;
  }

  #addRecord(decl: ElementDecl): ElementRecord {
    const r = new ElementRecord(this.#nextElementId++, decl);
    if (this.#byName.has(r.name)) throw new Error(`duplicate element name: ${r.name}`);
    this.#records.set(r.id, r);
    this.#order = undefined;
    this.#byName.set(r.name, r);
    return r;
  }

  async #spawnSlot(role: SlotRole, records: ElementRecord[], pool = false): Promise<Slot> {
    const thread = pool ? `pool-${this.#topology.sources.filter((s) => s.pool).length + 1}` : 'own';
    const label = pool ? `source ${thread} thread` : records[0]!.name;
    const handle = new WorkerHandle(
      label,
      {
        logLevel: this.#opts.logLevel,
        pretty: this.#opts.pretty,
        metrics: this.#metrics,
        batchWindow: this.#opts.batchWindow,
        outputBacklog: this.#opts.outputBacklog,
        elements: records.map((r) => r.spec()),
        shared: pool,
      },
      (e) => this.#onEvent(e),
      (h, error) => this.#onWorkerExit(h, error),
    );
    const slot: Slot = { role, handle, elements: records, retired: false, pool, thread };
    for (const r of records) this.#slotOf.set(r, slot);
    try {
      await handle.call('start-up', (c) => c.ping(), START_TIMEOUT_MS);
    } catch (e) {
      await handle.terminate();
      throw new Error(`${label} failed to start: ${(e as Error).message.replace(`${label}: `, '')}`);
    }
    return slot;
  }

  /**
   * Links `from` to `to`, in place of link `replaces` if given; resolves with the points lost on the
   * replaced link. When `to` is down (failed, waiting for its restart or given up on), the producer gets a
   * link whose other end is closed at once: it sends nothing on it and counts what it would have sent.
   */
  async #connect(from: Slot, to: Slot, replaces?: number): Promise<number> {
    const id = this.#nextLinkId++;
    const { port1, port2 } = new MessageChannel();
    const consumerUp = to.handle.alive;
    this.#links.set(id, { from, to, fromHandle: from.handle, toHandle: to.handle });
    const t = this.#opts.controlTimeoutMs;
    if (consumerUp) await to.handle.call('attachInput', (c) => c.attachInput(id, transfer(port2, [port2])), t);
    const lost = await from.handle.call('attachOutput', (c) => c.attachOutput(id, transfer(port1, [port1]), replaces), t);
    if (!consumerUp) port2.close();
    return lost;
  }

  /** Forgets the links of a retired slot (its worker has ended). */
  async #unlink(slot: Slot): Promise<void> {
    const t = this.#opts.controlTimeoutMs;
    const calls: Array<Promise<unknown>> = [];
    for (const [id, link] of this.#links) {
      if (link.to === slot && link.from.handle === link.fromHandle && link.fromHandle.alive) {
        // Normally the producer dropped this link when the output stopped; anything else it reports is lost.
        calls.push(link.fromHandle.call('detachOutput', (c) => c.detachOutput(id), t).then((lost) => this.#chargeCrash(slot, lost)));
      }
      if (link.from === slot || link.to === slot) this.#links.delete(id);
    }
    await Promise.allSettled(calls);
  }

  /**
   * At shutdown, after the drains: producers still count the points they could not send to a consumer that
   * died (links.ts); collect them into that consumer's `dropped_crash`.
   */
  async #collectLinkLosses(): Promise<void> {
    const t = this.#opts.controlTimeoutMs;
    const calls: Array<Promise<unknown>> = [];
    for (const [id, link] of this.#links) {
      if (link.toHandle.alive || link.to.retired || link.from.handle !== link.fromHandle || !link.fromHandle.alive) continue;
      calls.push(
        link.fromHandle.call('detachOutput', (c) => c.detachOutput(id), t).then(
          (lost) => this.#chargeCrash(link.to, lost),
          (e: Error) => this.#log.error(`points lost on the link from ${link.from.handle.label} to ${link.to.handle.label} are not counted: ${e.message}`),
        ),
      );
      this.#links.delete(id);
    }
    await Promise.all(calls);
  }

  /** Points a crash of `slot`'s worker cost it (it hosts one transform or one output). */
  #chargeCrash(slot: Slot, points: number): void {
    if (points <= 0) return;
    const r = slot.elements[0];
    if (r === undefined) return;
    r.counters.add('dropped_crash', points);
    this.#log.warn(`${r.name}: ${points} points were lost on their way to it when its worker died`);
  }

  async #applyOne(r: ElementRecord, action: ControlAction): Promise<void> {
    const slot = this.#slotOf.get(r);
    if (slot === undefined) throw new Error('it is still starting');
    // The reply names the element already: `could not resume source/procfs/memory: it is stopped`.
    if (r.state === 'stopped' || r.state === 'stopping') throw new Error(`it is ${r.state}`);
    if (this.isShuttingDown) throw new Error('the agent is shutting down');
    const t = this.#opts.controlTimeoutMs;
    const call = <T>(what: string, fn: Parameters<WorkerHandle['call']>[1]): Promise<T> => {
      const p = slot.handle.call(what, fn, t) as Promise<T>;
      r.counters.notify(); // wakes a source blocked in a precise wait, so it reads the request now
      return p;
    };
    switch (action.type) {
      case 'pause':
        await call('pause', (c) => c.pause(r.id));
        r.desired = 'paused';
        if (r.state !== 'failed') r.state = 'paused';
        return;
      case 'resume':
        await call('resume', (c) => c.resume(r.id));
        r.desired = 'running';
        if (r.state !== 'failed') r.state = 'running';
        return;
      case 'set-period':
        if (r.kind !== 'source') throw new Error(`set-period applies to sources only; ${r.name} is a ${r.kind}`);
        await call('setPeriod', (c) => c.setPeriod(r.id, action.periodNs));
        r.pollNs = action.periodNs;
        return;
      case 'trigger-now':
        if (r.kind !== 'source') throw new Error(`trigger-now applies to sources only; ${r.name} is a ${r.kind}`);
        await call('triggerNow', (c) => c.triggerNow(r.id));
        return;
      case 'stop':
        if (r.kind === 'transform') throw new Error(`stop applies to sources and outputs; ${r.name} is a transform`);
        r.state = 'stopping';
        clearTimeout(r.restartTimer);
        try {
          await call('stop', (c) => c.stop(r.id));
        } finally {
          r.state = 'stopped';
        }
        if (slot.elements.every((e) => e.state === 'stopped')) await this.#retire(slot);
        return;
    }
  }

  /** A slot whose elements are all stopped leaves the pipeline and its worker ends. */
  async #retire(slot: Slot): Promise<void> {
    slot.retired = true;
    // Ended first, so that every link to it is closed by the time its producers are asked about them.
    await slot.handle.terminate();
    await this.#unlink(slot);
  }

  #onEvent(e: WorkerEvent): void {
    const r = this.#records.get(e.id);
    if (r === undefined) return;
    switch (e.type) {
      case 'add-source':
        void this.#addRuntimeSource(r, e.spec).catch((err: Error) => this.#log.error(`${r.name} could not add source ${e.spec.element}: ${err.message}`));
        return;
      case 'remove-source': {
        // At shutdown the drain stops every source; removing one as well would count its last points twice.
        if (this.isShuttingDown) return;
        const target = this.#byName.get(`source/${r.decl.plugin}/${e.element}`);
        if (target?.decl.runtime) void this.#removeRuntimeSource(target);
        return;
      }
      case 'ended':
        // A process or cgroup that goes is routine (hundreds a minute on a busy host): debug level.
        if (r.decl.runtime) this.#log.debug(`${r.name} ended: ${e.reason}`);
        else this.#log.info(`${r.name} ended: ${e.reason}`);
        if (this.isShuttingDown) return;
        if (r.decl.runtime) void this.#removeRuntimeSource(r);
        else void this.#applyOne(r, { type: 'stop' }).catch(() => undefined);
        return;
      case 'failed':
        break;
    }
    r.lastError = e.error;
    this.#scheduleRestart(r, () => this.#slotOf.get(r)!.handle.call('restart', (c) => c.restart(r.id), this.#opts.controlTimeoutMs));
  }

  #onWorkerExit(handle: WorkerHandle, error: Error | undefined): void {
    const slot = this.#topology.all().find((s) => s.handle === handle);
    if (slot === undefined || slot.retired) return;
    const message = error?.message ?? 'worker exited';
    this.#log.error(`${handle.label}: worker died: ${message}`);
    for (const r of slot.elements) {
      r.lastError = message;
      // An output's backlog was acknowledged upstream, so only this counter knows it is gone. What the worker
      // had not acknowledged, its producers count (links.ts) and report when the link is replaced.
      const held = r.kind === 'output' ? r.counters.get('backlog_points') : 0;
      if (held > 0) {
        r.counters.add('dropped_crash', held);
        r.counters.set('backlog_points', 0);
        this.#log.warn(`${r.name}: ${held} points of its backlog were lost when its worker died`);
      }
    }
    // Links from it end by themselves once all it sent has arrived; links to it stay until it is replaced.
    for (const [id, link] of this.#links) if (link.fromHandle === handle) this.#links.delete(id);
    if (this.isShuttingDown) return;
    this.#scheduleRestart(slot.elements[0]!, () => this.#respawn(slot), slot.elements);
  }

  /** Restarts after a growing delay; after `restartMax` restarts the element stays `failed`. */
  #scheduleRestart(r: ElementRecord, restart: () => Promise<unknown>, all: ElementRecord[] = [r]): void {
    if (this.isShuttingDown) return;
    for (const e of all) e.state = 'failed';
    if (r.restarts >= this.#opts.restartMax) {
      this.#log.error(`${r.name} failed ${r.restarts + 1} times; giving up (restart_max = ${this.#opts.restartMax}): ${r.lastError}`);
      return;
    }
    const delay = Math.min(this.#opts.restartBackoffMs * 2 ** r.restarts, this.#opts.restartBackoffMaxMs);
    this.#log.warn(`${r.name} failed (${r.lastError}); restarting in ${delay} ms`);
    clearTimeout(r.restartTimer);
    r.restartTimer = setTimeout(() => {
      if (this.isShuttingDown) return;
      // Counted when it begins: the restarted element may fail again (its report racing the restart's
      // reply), and that failure must see this restart to give up at restart_max.
      for (const e of all) {
        e.state = 'restarting';
        e.restarts++;
        e.counters.add('restarts', 1);
      }
      restart().then(
        () => {
          // An element that failed again meanwhile stays `failed` (given up on, or waiting for its next restart).
          for (const e of all) if (e.state === 'restarting') e.state = e.desired === 'paused' ? 'paused' : 'running';
          this.#log.info(`${r.name} restarted`);
        },
        (e: Error) => {
          r.lastError = e.message;
          this.#scheduleRestart(r, restart, all);
        },
      );
    }, delay);
    r.restartTimer.unref();
  }

  #respawn(old: Slot): Promise<void> {
    const done = this.#wiring.then(() => this.#rewire(old));
    this.#wiring = done.catch(() => undefined);
    return done;
  }

  /** Starts a new worker for a slot whose worker died, and links it where the old one was. */
  async #rewire(old: Slot): Promise<void> {
    const fresh = await this.#spawnSlot(old.role, old.elements);
    old.handle = fresh.handle;
    for (const r of old.elements) this.#slotOf.set(r, old);
    // Downstream first, as at start: a transform fed before it has outputs would forward batches to nobody.
    for (const down of this.#topology.downstreamOf(old)) await this.#connect(old, down);
    for (const up of this.#topology.upstreamOf(old)) {
      // A producer that is down itself links to this slot when it comes back.
      if (!up.handle.alive) continue;
      const stale = [...this.#links].find(([, l]) => l.from === up && l.to === old && l.fromHandle === up.handle)?.[0];
      const lost = await this.#connect(up, old, stale);
      if (stale !== undefined) this.#links.delete(stale);
      this.#chargeCrash(old, lost);
    }
    // Links from producers that died too: their count of what they could not send died with them.
    for (const [id, link] of this.#links) if (link.to === old && link.toHandle !== old.handle) this.#links.delete(id);
    if (old.role === 'source') await old.handle.call('start', (c) => c.start(), this.#opts.controlTimeoutMs);
  }

  /** Places a source created at run time on the pool thread with the least polling load. */
  #addRuntimeSource(creator: ElementRecord, spec: RuntimeSourceSpec): Promise<void> {
    const name = `source/${creator.decl.plugin}/${spec.element}`;
    // A name being removed (a reused pid, a re-created cgroup) is added again once the removal is done.
    const removal = this.#removals.get(name);
    if (removal !== undefined) return removal.then(() => this.#addRuntimeSource(creator, spec));
    if (this.#byName.has(name) || this.isShuttingDown) return Promise.resolve();
    const r = this.#addRecord({
      kind: 'source',
      plugin: creator.decl.plugin,
      element: spec.element,
      moduleUrl: spec.module,
      config: spec.config,
      pollNs: parseDuration(spec.poll_interval),
      flushNs: spec.flush_interval === undefined ? undefined : parseDuration(spec.flush_interval),
      runtime: true,
    });
    if (spec.paused) r.desired = 'paused';
    const placed = this.#wiring.then(async () => {
      if (this.isShuttingDown) return undefined;
      const slot = await this.#poolSlotFor();
      slot.elements.push(r);
      this.#slotOf.set(r, slot);
      return slot;
    });
    this.#wiring = placed.catch(() => undefined);
    const added = placed.then(async (slot) => {
      if (slot === undefined || this.isShuttingDown) {
        this.#forget(r);
        return;
      }
      try {
        await slot.handle.call('addElement', (c) => c.addElement(r.spec()), this.#opts.controlTimeoutMs);
        r.state = r.desired === 'paused' ? 'paused' : 'running';
      } catch (e) {
        this.#forget(r);
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
    const pool = this.#topology.sources.filter((s) => s.pool && !s.retired);
    const size = this.#opts.poolThreads > 0 ? this.#opts.poolThreads : availableParallelism();
    const idle = pool.find((s) => s.elements.length === 0);
    if (idle !== undefined) return idle;
    if (pool.length < size) {
      const slot = await this.#spawnSlot('source', [], true);
      this.#topology.sources.push(slot);
      for (const to of this.#topology.downstreamOf(slot)) await this.#connect(slot, to);
      await slot.handle.call('start', (c) => c.start(), this.#opts.controlTimeoutMs);
      return slot;
    }
    return pool.reduce((best, s) => (load(s) < load(best) ? s : best));
  }

  /** Stops a run-time source (final flush) and removes it from the table. */
  #removeRuntimeSource(r: ElementRecord): Promise<void> {
    // A source may be removed twice at once (it ended, and its creator removed it): one removal serves both.
    let removal = this.#removals.get(r.name);
    if (removal === undefined) {
      removal = this.#remove(r).finally(() => this.#removals.delete(r.name));
      this.#removals.set(r.name, removal);
    }
    return removal;
  }

  async #remove(r: ElementRecord): Promise<void> {
    const slot = this.#slotOf.get(r);
    if (slot === undefined) return;
    try {
      await slot.handle.call('removeElement', (c) => c.removeElement(r.id), this.#opts.controlTimeoutMs);
    } catch (e) {
      this.#log.warn(`${r.name}: ${(e as Error).message}`);
    }
    this.#forget(r);
  }

  #forget(r: ElementRecord): void {
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

  /**
   * Where every point went. For each output that was not stopped, `input` (what the stage before it
   * forwarded) = written + dropped_backlog + dropped_crash + backlog; `unaccounted` is the difference.
   */
  pointBalance(): PointBalance {
    let produced = this.#removedProduced;
    const records = [...this.#records.values()];
    for (const r of records) if (r.kind === 'source') produced += r.counters.get('points_out');
    const transforms = this.#topology.transforms.flatMap((s) => s.elements);
    const last = transforms[transforms.length - 1];
    const stageOutput = last === undefined ? produced : last.counters.get('points_out');
    return {
      produced,
      transforms: transforms.map((r) => ({
        name: r.name,
        received: r.counters.get('points_in'),
        forwarded: r.counters.get('points_out'),
        dropped_crash: r.counters.get('dropped_crash'),
      })),
      outputs: records
        .filter((r) => r.kind === 'output')
        .map((r) => {
          const c = r.counters;
          const stopped = this.#slotOf.get(r)?.retired === true;
          const input = stopped ? undefined : stageOutput;
          const accounted = c.get('points_out') + c.get('dropped_backlog') + c.get('dropped_crash') + c.get('backlog_points');
          return {
            name: r.name,
            input,
            written: c.get('points_out'),
            received: c.get('points_in'),
            dropped_backlog: c.get('dropped_backlog'),
            dropped_crash: c.get('dropped_crash'),
            backlog: c.get('backlog_points'),
            unaccounted: input === undefined ? undefined : input - accounted,
          };
        }),
    };
  }

  #logBalance(): void {
    const b = this.pointBalance();
    const parts = [`produced=${b.produced}`];
    for (const o of b.outputs) {
      let part = `${o.name}: written=${o.written} received=${o.received} dropped_backlog=${o.dropped_backlog} dropped_crash=${o.dropped_crash}`;
      if (o.backlog !== 0) part += ` backlog=${o.backlog}`;
      if (o.input === undefined) part += ' (stopped)';
      else if (o.unaccounted !== 0) part += ` unaccounted=${o.unaccounted}`;
      parts.push(part);
    }
    for (const t of b.transforms) parts.push(`${t.name}: received=${t.received} forwarded=${t.forwarded} dropped_crash=${t.dropped_crash}`);
    const balanced = b.outputs.every((o) => !o.unaccounted);
    const line = `point balance: ${parts.join('; ')}`;
    if (balanced) this.#log.info(line);
    else this.#log.warn(`${line} (some points are unaccounted for: the shutdown did not complete, see above)`);
  }
}
