// The agent's lifecycle (main thread): start the enabled plugins (they register metrics and declare
// elements), start the pipeline through the supervisor, serve the control socket, and shut everything down
// in order — whoever asks: a signal (main.ts), `exec`'s end, or the socket's `shutdown` command.

import { formatDuration, parseDuration } from '../protocol/duration.js';
import type { Logger } from '../protocol/logging.js';
import { parseUnit } from '../protocol/units.js';
import { F64, U64 } from '../protocol/batch.js';
import { ControlDispatcher } from '../control/dispatch.js';
import { SocketServer } from '../control/socket-server.js';
import { controlTarget } from '../control/control-target.js';
import type { PipelineSettings } from './config/pipeline-settings.js';
import type { AnyPlugin, ControlSocketOptions, PluginStartContext } from './plugin-api.js';
import { MetricRegistry, describeMetric } from './metric-registry.js';
import type { ElementDecl } from './element-record.js';
import { Supervisor } from './supervisor.js';
import { OutputFiles } from './output-files.js';
import { StartupError } from './startup-error.js';

export interface AgentOptions {
  plugins: ReadonlyArray<{ plugin: AnyPlugin; config: unknown }>;
  disabled: readonly string[];
  pipeline: PipelineSettings;
  log: Logger;
  logLevel: string;
  pretty: boolean;
}

export class Agent {
  readonly registry = new MetricRegistry();
  readonly supervisor: Supervisor;
  readonly #opts: AgentOptions;
  readonly #log: Logger;
  #server: SocketServer | undefined;
  #stopped: Promise<void> | undefined;
  #onStopped: Array<() => void> = [];
  #memoryTimer: NodeJS.Timeout | undefined;
  /** Plugins whose start was called, to stop them in any case. */
  readonly #started: AnyPlugin[] = [];
  readonly #outputFiles: OutputFiles;
  /** Resolves true once the pipeline runs (false if start-up failed): control lines wait for it. */
  readonly #ready = deferred<boolean>();

  constructor(opts: AgentOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#outputFiles = new OutputFiles(opts.log);
    this.supervisor = new Supervisor({ log: opts.log, logLevel: opts.logLevel, pretty: opts.pretty, pipeline: opts.pipeline, registry: this.registry });
  }

  /**
   * Starts the agent. Everything that can fail without harm comes first — plugins start (and claim their
   * output files), the control socket is bound — and only then does the pipeline start, whose outputs open
   * their files last of all: a start-up that fails leaves every file it found as it was.
   */
  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (e) {
      await this.#abortStart();
      throw e;
    }
  }

  async #start(): Promise<void> {
    let control: ControlSocketOptions | undefined;
    // Each plugin's elements in a list of its own, so that those it adds in afterStart keep its place.
    const started = this.#opts.plugins.map(({ plugin, config }) => {
      const decls: ElementDecl[] = [];
      return { plugin, config, decls, ctx: this.#startContext(plugin, decls, (o) => (control = o)) };
    });
    for (const { plugin, config, ctx } of started) {
      this.#started.push(plugin);
      await startStep(plugin, () => plugin.start(config, ctx));
    }
    for (const { plugin, config, ctx } of started) {
      if (plugin.afterStart !== undefined) await startStep(plugin, () => plugin.afterStart!(config, ctx));
    }
    const decls = started.flatMap((s) => s.decls);
    const enabled = this.#opts.plugins.map((p) => p.plugin.name);
    this.#log.info(`enabled plugins: ${enabled.join(', ') || '(none)'}; disabled: ${this.#opts.disabled.join(', ') || '(none)'}`);
    this.#log.info(`${this.registry.size} metrics registered (the list is logged at debug level)`);
    this.#log.debug(`metrics:\n${this.registry.all().map(describeMetric).join('\n')}`);
    const count = (k: string): number => decls.filter((d) => d.kind === k).length;
    this.#log.info(`${count('source')} sources, ${count('transform')} transforms, ${count('output')} outputs`);
    if (count('output') === 0) this.#log.warn('no output is enabled: measurements will be discarded');

    if (control !== undefined) await this.#listen(control);

    try {
      await this.supervisor.start(decls, this.registry.all());
    } catch (e) {
      throw new StartupError(`pipeline failed to start: ${(e as Error).message}`);
    }
    for (const d of decls) {
      const period = d.pollNs === undefined ? '' : ` (every ${formatDuration(d.pollNs)})`;
      this.#log.info(`started ${d.kind}/${d.plugin}/${d.element}${period}`);
    }
    this.#ready.resolve(true);
    this.#log.info('agent is ready');
    this.#startMemoryLog();
  }

  /** Binds the control socket; lines that arrive before the pipeline is up wait for it. */
  async #listen(control: ControlSocketOptions): Promise<void> {
    // Elements are the supervisor's business; the shutdown is the agent's, for the plugins and the socket stop too.
    const dispatcher = new ControlDispatcher(controlTarget(this.supervisor, () => void this.stop()));
    const ready = this.#ready.promise;
    this.#server = new SocketServer({
      path: control.socketPath,
      mode: control.socketMode,
      dispatcher: {
        handleLine: async (line) => ((await ready) ? dispatcher.handleLine(line) : { data: [], status: 'error: the agent failed to start' }),
      },
      log: this.#log.child({ element: 'socket-control' }),
    });
    try {
      await this.#server.start();
    } catch (e) {
      throw new StartupError(`socket-control: ${(e as Error).message}`);
    }
    this.#log.info(`control socket listening on ${control.socketPath}`);
  }

  /** Undoes a start-up that failed: workers end, plugins stop, the socket and the output-file claims go. */
  async #abortStart(): Promise<void> {
    this.#ready.resolve(false);
    await this.stop();
  }

  /**
   * With ALUMET_MEMORY_LOG_MS=N, logs process.memoryUsage() every N ms (for soak runs): rss covers the whole
   * process, the heap figures the main thread only (each worker has its own heap).
   */
  #startMemoryLog(): void {
    const every = Number(process.env['ALUMET_MEMORY_LOG_MS'] ?? '');
    if (!Number.isInteger(every) || every <= 0) return;
    const log = (): void => this.#log.info({ memory: process.memoryUsage() }, 'memory usage');
    log();
    this.#memoryTimer = setInterval(log, Math.min(every, 2 ** 31 - 1));
    this.#memoryTimer.unref();
  }

  /** Shuts the pipeline down, then the plugins and the control socket. Safe to call more than once. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  /** Resolves when the agent has stopped, whoever asked (a signal, or `shutdown` on the socket). */
  whenStopped(): Promise<void> {
    return new Promise((resolve) => this.#onStopped.push(resolve));
  }

  async #stop(): Promise<void> {
    clearInterval(this.#memoryTimer);
    await this.supervisor.stopAll();
    await this.#stopPlugins();
    await this.#server?.close();
    this.#outputFiles.releaseAll();
    this.#log.info('agent stopped');
    for (const resolve of this.#onStopped.splice(0)) resolve();
  }

  async #stopPlugins(): Promise<void> {
    for (const plugin of this.#started.splice(0)) {
      try {
        await plugin.stop?.();
      } catch (e) {
        this.#log.error(`plugin ${plugin.name} failed to stop: ${(e as Error).message}`);
      }
    }
  }

  #startContext(plugin: AnyPlugin, decls: ElementDecl[], serveControl: (o: ControlSocketOptions) => void): PluginStartContext {
    const add = (kind: ElementDecl['kind'], element: string, module: URL, config: unknown, pollNs?: bigint, flushNs?: bigint): void => {
      decls.push({ kind, plugin: plugin.name, element, moduleUrl: module.href, config, pollNs, flushNs });
    };
    return {
      log: this.#log.child({ plugin: plugin.name }),
      metric: (name, spec) => {
        const unit = typeof spec.unit === 'string' ? parseUnit(spec.unit) : spec.unit;
        const info = this.registry.register(name, spec.type === 'u64' ? U64 : F64, unit, spec.description, spec.delta === true);
        return { id: info.id, name: info.name, type: info.type };
      },
      registeredMetrics: () =>
        this.registry.all().map((m) => ({
          id: m.id,
          name: m.name,
          type: m.type,
          spec: { type: m.type === U64 ? 'u64' : 'f64', unit: m.unit, description: m.description, delta: m.delta === true },
        })),
      source: (name, module, config, trigger) =>
        add('source', name, module, config, parseDuration(trigger.poll_interval), trigger.flush_interval === undefined ? undefined : parseDuration(trigger.flush_interval)),
      autonomousSource: (name, module, config) => add('source', name, module, config),
      transform: (name, module, config) => add('transform', name, module, config),
      output: (name, module, config) => add('output', name, module, config),
      claimOutputFile: (path, key) => this.#outputFiles.claim(path, `plugins.${plugin.name}.${key}`),
      serveControl,
    };
  }
}

/** Runs a plugin's start (or afterStart); its error stops the agent's start, naming the plugin. */
async function startStep(plugin: AnyPlugin, step: () => void | Promise<void>): Promise<void> {
  try {
    await step();
  } catch (e) {
    if (e instanceof StartupError) throw e;
    throw new StartupError(`plugin ${plugin.name} v${plugin.version} failed to start: ${(e as Error).message}`);
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
