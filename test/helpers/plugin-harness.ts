// Test helper: runs a plugin the way the agent does — its table read by the real config loader, its `start`
// called by the real Agent, its elements in real worker threads under the real Supervisor — next to a
// recording output (test/fixtures/point-recorder.ts) whose file the test reads. Main thread.
//
// Every plugin has at least one test through here (test/plugin-conformance.test.ts checks it). `stop()`
// also checks the plugin against its own declarations: every metric it registered is declared in its
// `metrics` with that type and unit, and every point that reached the output carries only declared
// attribute keys.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { stringify } from 'smol-toml';
import { Agent } from '../../src/agent/agent.js';
import { loadConfig } from '../../src/agent/config/loader.js';
import { definePlugin, isDerived, isForeign, t as schema, type AnyPlugin, type DerivedMetricSpec, type ForeignMetricSpec, type MetricSpec, type MetricSpecs } from '../../src/agent/plugin-api.js';
import type { ControlAction, ElementSummary } from '../../src/control/control-target.js';
import { U64, type AttrValue, type ResourceRef, type Timestamp } from '../../src/protocol/batch.js';
import { parseUnit, unitEquals, unitUniqueName } from '../../src/protocol/units.js';
import { rmrf, tempDir, waitFor } from './agent-process.js';

/** A point as it reached the recording output. */
export interface RecordedPoint {
  metric: string;
  type: 'u64' | 'f64';
  /** bigint for u64 points, number for f64 points. */
  value: number | bigint;
  timestamp: Timestamp;
  resource: ResourceRef;
  consumer: ResourceRef;
  attributes: Record<string, AttrValue>;
}

export interface HarnessOptions {
  /**
   * Keys of `[plugins.NAME]`, merged over the plugin's defaults by the loader, as a config file's table is;
   * or a function of the run's temp directory that returns them.
   */
  config?: Record<string, unknown> | ((dir: string) => Record<string, unknown>);
  /** Other plugins to run too (a source for a transform, say), with their tables; the plugin's table comes last. */
  with?: ReadonlyArray<{ plugin: AnyPlugin; config?: Record<string, unknown> }>;
  /** Keys of `[pipeline]` over the harness's (2 pool threads, quick restarts, generous timeouts). */
  pipeline?: Record<string, unknown>;
  /** Log level of the worker threads, which log to stderr; default silent. */
  workerLogLevel?: string;
}

export interface PluginRun {
  /** A temp directory of the test's own, removed after it. */
  readonly dir: string;
  readonly agent: Agent;
  /** Every line the main thread logged (the agent and the plugins' `start`), as parsed pino JSON. */
  readonly logs: ReadonlyArray<{ level: number; msg: string }>;
  /** The points that have reached the output so far, in order. */
  points(): RecordedPoint[];
  /** Waits until `done(points)` holds (30 s by default); on timeout the error shows the last points seen. */
  waitForPoints(what: string, done: (points: RecordedPoint[]) => boolean, timeoutMs?: number): Promise<RecordedPoint[]>;
  elements(): ElementSummary[];
  element(name: string): ElementSummary;
  /** Waits until `done` holds for element `name` (30 s by default); on timeout the error shows its summary. */
  waitForElement(name: string, what: string, done: (e: ElementSummary) => boolean, timeoutMs?: number): Promise<ElementSummary>;
  /** Applies a control action to the named elements (`source/procfs/kernel`); fails the test if one refuses. */
  control(names: readonly string[], action: ControlAction): Promise<void>;
  /** One poll of each named source, flushed at once. */
  trigger(...names: string[]): Promise<void>;
  /** Stops the agent (final flushes included), checks the declarations, and returns every point recorded. */
  stop(): Promise<RecordedPoint[]>;
}

export const RECORDER_ELEMENT = 'output/recorder/recorder';

const recorder = definePlugin({
  name: 'recorder',
  version: '0.0.0',
  config: schema.table({ path: schema.string('', { nonEmpty: true }) }),
  start(config, ctx) {
    ctx.output('recorder', new URL('../fixtures/point-recorder.js', import.meta.url), config);
  },
});

const PIPELINE = {
  pool_threads: 2,
  restart_backoff: '20ms',
  restart_backoff_max: '100ms',
  shutdown_timeout: '20s',
  control_timeout: '10s',
};

/**
 * Starts `plugin` (and `options.with`) with a recording output. Rejects with the agent's start-up error
 * when the plugin fails to start (the agent has then undone its start). The agent is stopped after the test.
 */
export async function startPlugin(t: TestContext, plugin: AnyPlugin, options: HarnessOptions = {}): Promise<PluginRun> {
  const dir = tempDir(`alumet-${plugin.name}-`);
  let started: Agent | undefined;
  // One hook, the agent stopped first: its recorder may still be writing into the directory (hooks run in the
  // order they were added, so two hooks would remove the directory first).
  t.after(async () => {
    await started?.stop();
    rmrf(dir);
  });
  const output = join(dir, 'points.jsonl');
  const tables: Record<string, unknown> = {};
  for (const other of options.with ?? []) tables[other.plugin.name] = other.config ?? {};
  tables[plugin.name] = (typeof options.config === 'function' ? options.config(dir) : options.config) ?? {};
  tables['recorder'] = { path: output };
  const path = join(dir, 'alumet-config.toml');
  writeFileSync(path, stringify({ pipeline: { ...PIPELINE, ...options.pipeline }, plugins: tables }));
  const plugins = [...(options.with ?? []).map((w) => w.plugin), plugin, recorder];
  const loaded = loadConfig({ path, noDefaultConfig: true, overrides: [], plugins, env: {} });

  const logs: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) });
  const agent = new Agent({
    plugins: loaded.plugins,
    disabled: loaded.disabled,
    pipeline: loaded.pipeline,
    log,
    logLevel: options.workerLogLevel ?? 'silent',
    pretty: false,
  });
  started = agent;
  await agent.start();

  const points = (): RecordedPoint[] => readPoints(output);
  const elements = (): ElementSummary[] => agent.supervisor.elements();
  const control = async (names: readonly string[], action: ControlAction): Promise<void> => {
    assert.deepEqual(await agent.supervisor.apply(names, action), [], `${action.type} ${names.join(' ')}`);
  };
  return {
    dir,
    agent,
    logs,
    points,
    elements,
    element(name) {
      const e = elements().find((x) => x.name === name);
      assert.ok(e, `element ${name} exists (have ${elements().map((x) => x.name).join(', ')})`);
      return e;
    },
    waitForElement(name, what, done, timeoutMs = 30_000) {
      const find = () => elements().find((x) => x.name === name);
      return waitFor(() => {
        const e = find();
        return e !== undefined && done(e) ? e : undefined;
      }, { what: `${name}: ${what}`, timeout: timeoutMs, seen: () => JSON.stringify(find() ?? 'no such element') });
    },
    waitForPoints: (what, done, timeoutMs = 30_000) =>
      waitFor(
        () => {
          const seen = points();
          return done(seen) ? seen : undefined;
        },
        { what, timeout: timeoutMs, seen: () => describePoints(points()) },
      ),
    control,
    trigger: (...names) => control(names, { type: 'trigger-now' }),
    async stop() {
      await agent.stop();
      const all = points();
      checkDeclarations(agent, [plugin, ...(options.with ?? []).map((w) => w.plugin)], all);
      return all;
    },
  };
}

/** The points in a recorder file; a last line still being written is left for the next read. */
function readPoints(path: string): RecordedPoint[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line, (_k, v: unknown) => (isEncodedBigint(v) ? BigInt(v.u64) : v)) as RecordedPoint);
}

function isEncodedBigint(v: unknown): v is { u64: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { u64?: unknown }).u64 === 'string';
}

function describePoints(points: RecordedPoint[]): string {
  const last = points.slice(-5).map((p) => `${p.metric}=${p.value} ${JSON.stringify(p.attributes, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v))}`);
  return `${points.length} points${last.length > 0 ? `, the last: ${last.join('; ')}` : ''}`;
}

/** `<placeholder>` in a declared name or attribute key stands for one or more of a-z, 0-9 and _ (captured). */
export function declaredPattern(name: string): RegExp {
  const parts = name.split(/<[^>]*>/).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('([a-z0-9_]+)')}$`);
}

type Declaration = { key: string; spec: MetricSpec | DerivedMetricSpec | ForeignMetricSpec };

/**
 * The declaration of metric `name` among `specs`: its own entry, else the family whose pattern it matches,
 * else a family of foreign metrics (which takes any name).
 */
export function declarationOf(specs: MetricSpecs, name: string): Declaration | undefined {
  if (Object.hasOwn(specs, name)) return { key: name, spec: specs[name]! };
  const family = Object.keys(specs).find((key) => key.includes('<') && (isForeign(specs[key]!) || declaredPattern(key).test(name)));
  return family === undefined ? undefined : { key: family, spec: specs[family]! };
}

function checkDeclarations(agent: Agent, plugins: readonly AnyPlugin[], points: RecordedPoint[]): void {
  const declarationFor = (name: string): Declaration => {
    // A plugin's own name first: a family whose names come from the config (energy-attribution's
    // `<formula>`) would match the metrics of the plugins it reads too.
    for (const p of plugins) if (Object.hasOwn(p.metrics ?? {}, name)) return { key: name, spec: p.metrics![name]! };
    for (const p of plugins) {
      const found = declarationOf(p.metrics ?? {}, name);
      if (found !== undefined) return found;
    }
    assert.fail(`metric ${name} is registered but no plugin declares it in its metrics (${plugins.map((p) => p.name).join(', ')})`);
  };
  for (const m of agent.registry.all()) {
    const { key, spec } = declarationFor(m.name);
    if (isForeign(spec)) continue; // its unit and type are the sender's
    if (isDerived(spec)) {
      // `<metric>_sum` has the unit and type of the metric its placeholder names.
      const input = agent.registry.byName(declaredPattern(key).exec(m.name)![1]!);
      assert.ok(input !== undefined && input.type === m.type && unitEquals(input.unit, m.unit), `${m.name}: registered with the unit and type of the metric it comes from`);
      continue;
    }
    // A family's type may follow the config (synthetic's value_type); its unit may not.
    if (key === m.name) assert.equal(m.type === U64 ? 'u64' : 'f64', spec.type, `${m.name}: registered type`);
    const unit = typeof spec.unit === 'string' ? parseUnit(spec.unit) : spec.unit;
    assert.ok(unitEquals(m.unit, unit), `${m.name}: registered in ${unitUniqueName(m.unit)}, declared in ${unitUniqueName(unit)}`);
  }
  for (const p of points) {
    const { spec } = declarationFor(p.metric);
    if (isForeign(spec)) continue; // its attributes are the sender's
    const keys = (spec.attributes ?? []).map(declaredPattern);
    for (const key of Object.keys(p.attributes)) {
      assert.ok(keys.some((k) => k.test(key)), `${p.metric}: attribute ${key} is not declared (declared: ${(spec.attributes ?? []).join(', ') || 'none'})`);
    }
  }
}
