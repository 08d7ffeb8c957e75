// The supervisor (main thread): starts the elements' workers in order, applies control requests to them,
// restarts what fails, and runs the shutdown that loses no point (the agent decides when). Its other jobs have
// files of their own: element-table, link-table, restart-policy, runtime-sources and point-balance.

import type { Logger } from '../protocol/logging.js';
import type { MetricInfo } from '../protocol/metrics.js';
import type { RegistrationResult, WorkerEvent } from '../protocol/messages.js';
import type { ConsumerEvent } from '../protocol/element.js';
import { parseDuration } from '../protocol/duration.js';
import { AUTONOMOUS_REFUSALS, actionRefusal } from '../protocol/element-kinds.js';
import type { ControlAction, ElementControl, ElementSummary } from '../control/control-target.js';
import type { PipelineSettings } from './config/pipeline-settings.js';
import type { ElementDecl, ElementRecord } from './element-record.js';
import { ElementTable } from './element-table.js';
import { LinkTable } from './link-table.js';
import { Topology, type Slot, type SlotRole } from './pipeline.js';
import { logBalance, pointBalance, type PointBalance } from './point-balance.js';
import { RestartPolicy } from './restart-policy.js';
import { RuntimeSources } from './runtime-sources.js';
import { WorkerHandle } from './worker-handle.js';
import type { MetricRegistry } from './metric-registry.js';

export interface SupervisorOptions {
  log: Logger;
  /** Level and format of the workers' own logs. */
  logLevel: string;
  pretty: boolean;
  /** The `[pipeline]` table, as the config gives it. */
  pipeline: PipelineSettings;
  /** Where elements register metrics while the agent runs (the agent's registry). */
  registry: MetricRegistry;
}

const START_TIMEOUT_MS = 30_000;

/** A `[pipeline]` duration in whole milliseconds. */
const ms = (duration: string): number => Number(parseDuration(duration) / 1_000_000n);

export class Supervisor implements ElementControl {
  readonly #opts: SupervisorOptions;
  readonly #log: Logger;
  readonly #controlTimeoutMs: number;
  readonly #shutdownTimeoutMs: number;
  readonly #topology = new Topology();
  readonly #table = new ElementTable();
  readonly #links: LinkTable;
  readonly #restarts: RestartPolicy;
  readonly #runtime: RuntimeSources;
  #metrics: MetricInfo[] = [];
  #shuttingDown: Promise<void> | undefined;
  readonly #isShuttingDown = (): boolean => this.#shuttingDown !== undefined;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    const p = opts.pipeline;
    this.#controlTimeoutMs = ms(p.control_timeout);
    this.#shutdownTimeoutMs = ms(p.shutdown_timeout);
    this.#links = new LinkTable(this.#topology, opts.log, this.#controlTimeoutMs);
    this.#restarts = new RestartPolicy({ max: p.restart_max, backoffMs: ms(p.restart_backoff), backoffMaxMs: ms(p.restart_backoff_max) }, opts.log, this.#isShuttingDown);
    this.#runtime = new RuntimeSources({
      table: this.#table,
      topology: this.#topology,
      links: this.#links,
      log: opts.log,
      controlTimeoutMs: this.#controlTimeoutMs,
      poolThreads: p.pool_threads,
      spawnPoolThread: () => this.#spawnSlot('source', [], true),
      shuttingDown: this.#isShuttingDown,
    });
  }

  /** Starts every element: outputs first, then transforms, then sources, so no batch finds its consumer missing. */
  async start(decls: readonly ElementDecl[], metrics: MetricInfo[]): Promise<void> {
    this.#metrics = metrics;
    const order: SlotRole[] = ['output', 'transform', 'source'];
    for (const role of order) {
      const spawned = await Promise.allSettled(
        decls.filter((d) => d.kind === role).map((d) => this.#spawnSlot(role, [this.#table.add(d)])),
      );
      // The workers that did start are in the topology even if a sibling failed, so the shutdown that
      // undoes the start ends them too (left out, they would keep the process alive).
      this.#topology.slotsOf(role).push(...spawned.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])));
      const failed = spawned.find((s) => s.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    }
    for (const slot of this.#topology.all()) await this.#links.linkDownstream(slot);
    // Outputs open their files only now, when every element has been created: nothing is truncated or
    // written by a start-up that fails.
    for (const slot of [...this.#topology.outputs, ...this.#topology.sources]) await slot.handle.call('start', (c) => c.start(), this.#controlTimeoutMs);
    // Run-time sources added meanwhile (by a watcher's first poll) get their state when they are placed.
    for (const r of this.#table.all()) if (!r.decl.runtime) r.state = r.desired === 'paused' ? 'paused' : 'running';
  }

  /** Tells every element about a consumer the agent measures on purpose (`exec`'s child, say). */
  async publishConsumerEvent(event: ConsumerEvent): Promise<void> {
    await Promise.allSettled(
      this.#topology.all().filter((s) => !s.retired && s.handle.alive).map((s) => s.handle.call('consumerEvent', (c) => c.consumerEvent(event), this.#controlTimeoutMs)),
    );
  }

  elements(): ElementSummary[] {
    return this.#table.ordered().map((r) => ({
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
      thread: this.#table.slotOf(r)?.thread,
    }));
  }

  async apply(names: readonly string[], action: ControlAction): Promise<Array<{ name: string; error: string }>> {
    const results = await Promise.all(
      names.map(async (name) => {
        const r = this.#table.named(name);
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

  /**
   * Shuts the pipeline down: sources stop and flush, transforms drain, outputs write everything and close.
   * Every stage drains into a consumer that is still alive, because each waits for the `end` of its inputs.
   * Safe to call more than once: every call gets the same promise.
   */
  stopAll(): Promise<void> {
    this.#shuttingDown ??= this.#stopAll();
    return this.#shuttingDown;
  }

  async #stopAll(): Promise<void> {
    // Placements and respawns under way finish first (no new one starts from now on), so that every worker
    // is drained: a source started on a pool thread after its drain would count points that go nowhere.
    await this.#links.settled();
    await this.#runtime.settled();
    this.#log.info('shutting down: stopping sources, draining transforms and outputs');
    for (const r of this.#table.all()) clearTimeout(r.restartTimer);
    const slots = this.#topology.all().filter((s) => !s.retired && s.handle.alive);
    const results = await Promise.allSettled(slots.map((s) => s.handle.call('drain', (c) => c.drain(), this.#shutdownTimeoutMs)));
    results.forEach((res, i) => {
      if (res.status === 'rejected') this.#log.error(`${slots[i]!.handle.label} did not shut down cleanly: ${(res.reason as Error).message}`);
    });
    await this.#links.collectLosses();
    for (const r of this.#table.all()) if (r.state !== 'failed') r.state = 'stopped';
    // Producers first: a source whose drain timed out would otherwise send its last batches, the moment a
    // stuck consumer's worker ends, to consumers that are being ended too (counted sent, never written).
    const t = this.#topology;
    for (const stage of [t.sources, ...t.transforms.map((s) => [s]), t.outputs]) await Promise.all(stage.map((s) => s.handle.terminate()));
    logBalance(this.#log, this.pointBalance());
  }

  /** Where every point went, from the element counters (see point-balance.ts). */
  pointBalance(): PointBalance {
    return pointBalance(this.#table, this.#topology);
  }

  async #spawnSlot(role: SlotRole, records: ElementRecord[], pool = false): Promise<Slot> {
    const thread = pool ? `pool-${this.#topology.sources.filter((s) => s.pool).length + 1}` : 'own';
    const label = pool ? `source ${thread} thread` : records[0]!.name;
    const p = this.#opts.pipeline;
    const handle = new WorkerHandle(
      label,
      {
        logLevel: this.#opts.logLevel,
        pretty: this.#opts.pretty,
        metrics: this.#metrics,
        batchWindow: p.batch_window,
        outputBacklog: p.output_backlog,
        elements: records.map((r) => r.spec()),
        shared: pool,
      },
      (e) => this.#onEvent(e),
      (h, error) => this.#onWorkerExit(h, error),
    );
    const slot: Slot = { role, handle, elements: records, retired: false, pool, thread };
    for (const r of records) this.#table.place(r, slot);
    try {
      await handle.call('start-up', (c) => c.ping(), START_TIMEOUT_MS);
    } catch (e) {
      await handle.terminate();
      throw new Error(`${label} failed to start: ${(e as Error).message.replace(`${label}: `, '')}`);
    }
    return slot;
  }

  async #applyOne(r: ElementRecord, action: ControlAction): Promise<void> {
    const slot = this.#table.slotOf(r);
    if (slot === undefined) throw new Error('it is still starting');
    // The reply names the element already: `could not resume source/procfs/memory: it is stopped`.
    if (r.state === 'stopped' || r.state === 'stopping') throw new Error(`it is ${r.state}`);
    if (this.#isShuttingDown()) throw new Error('the agent is shutting down');
    const refusal = actionRefusal(action.type, r.name, r.kind);
    if (refusal !== undefined) throw new Error(refusal);
    if ((action.type === 'set-period' || action.type === 'trigger-now') && r.pollNs === undefined) throw new Error(AUTONOMOUS_REFUSALS[action.type]);
    const t = this.#controlTimeoutMs;
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
        await call('setPeriod', (c) => c.setPeriod(r.id, action.periodNs));
        r.pollNs = action.periodNs;
        return;
      case 'trigger-now':
        await call('triggerNow', (c) => c.triggerNow(r.id));
        return;
      case 'stop':
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
    await this.#links.unlink(slot);
  }

  #onEvent(e: WorkerEvent): void {
    const r = this.#table.get(e.id);
    if (r === undefined) return;
    switch (e.type) {
      case 'add-source':
        void this.#runtime.add(r, e.spec).catch((err: Error) => this.#log.error(`${r.name} could not add source ${e.spec.element}: ${err.message}`));
        return;
      case 'remove-source': {
        // At shutdown the drain stops every source; removing one as well would count its last points twice.
        if (this.#isShuttingDown()) return;
        const target = this.#table.named(`source/${r.decl.plugin}/${e.element}`);
        if (target?.decl.runtime) void this.#runtime.remove(target);
        return;
      }
      case 'ended':
        // A process or cgroup that goes is routine (hundreds a minute on a busy host): debug level.
        if (r.decl.runtime) this.#log.debug(`${r.name} ended: ${e.reason}`);
        else this.#log.info(`${r.name} ended: ${e.reason}`);
        if (this.#isShuttingDown()) return;
        if (r.decl.runtime) void this.#runtime.remove(r);
        else void this.#applyOne(r, { type: 'stop' }).catch(() => undefined);
        return;
      case 'register-metrics':
        void this.#registerMetrics(r, e);
        return;
      case 'retrying':
        // The output keeps the points and tries again by itself; status shows why until it recovers.
        r.lastError = e.error;
        return;
      case 'failed':
        break;
    }
    r.lastError = e.error;
    this.#restarts.schedule(r, () => this.#table.slotOf(r)!.handle.call('restart', (c) => c.restart(r.id), this.#controlTimeoutMs));
  }

  /**
   * Registers the metrics an element asks for while the agent runs, tells every worker about those that are
   * new, and only then answers the element: no batch of the new metrics can reach an output that does not
   * know them. A wiring change (see LinkTable.change), so that a worker started meanwhile gets them too.
   */
  async #registerMetrics(r: ElementRecord, e: Extract<WorkerEvent, { type: 'register-metrics' }>): Promise<void> {
    let result: RegistrationResult;
    try {
      const metrics = await this.#links.change(async () => {
        const known = this.#opts.registry.size;
        const registered = e.metrics.map((m) => this.#opts.registry.registerOrRename(m.name, m.type, m.unit, m.description, e.renameSuffix));
        const added = this.#opts.registry.all().slice(known);
        if (added.length > 0) {
          this.#metrics.push(...added);
          this.#log.info(`${r.name} registered ${added.length} metrics: ${added.map((m) => m.name).join(', ')}`);
          const slots = this.#topology.all().filter((s) => !s.retired && s.handle.alive);
          await Promise.allSettled(slots.map((s) => s.handle.call('addMetrics', (c) => c.addMetrics(added), this.#controlTimeoutMs)));
        }
        return registered;
      });
      result = { metrics };
    } catch (err) {
      result = { error: (err as Error).message };
    }
    const slot = this.#table.slotOf(r);
    await slot?.handle.call('metricsRegistered', (c) => c.metricsRegistered(e.request, result), this.#controlTimeoutMs).catch(() => undefined);
  }

  #onWorkerExit(handle: WorkerHandle, error: Error | undefined): void {
    const slot = this.#topology.all().find((s) => s.handle === handle);
    if (slot === undefined || slot.retired) return;
    const message = error?.message ?? 'worker exited';
    this.#log.error(`${handle.label}: worker died: ${message}`);
    for (const r of slot.elements) r.lastError = message;
    this.#links.workerDied(slot, handle);
    if (this.#isShuttingDown()) return;
    this.#restarts.schedule(slot.elements[0]!, () => this.#links.change(() => this.#respawn(slot)), slot.elements);
  }

  /** Starts a new worker for a slot whose worker died, and links it where the old one was. */
  async #respawn(old: Slot): Promise<void> {
    const fresh = await this.#spawnSlot(old.role, old.elements);
    old.handle = fresh.handle;
    for (const r of old.elements) this.#table.place(r, old);
    await this.#links.relink(old);
    if (old.role === 'source') await old.handle.call('start', (c) => c.start(), this.#controlTimeoutMs);
  }
}
