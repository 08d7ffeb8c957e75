// Config loading (src/agent/config/loader.ts) with fake plugins: every mistake gives its message with file,
// line and key; overrides, --output-file, --plugins, table order and default generation.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { definePlugin, isEnabledByDefault, type AnyPlugin } from '../src/agent/plugin-api.js';
import { t } from '../src/agent/config/schema.js';
import { parseDuration } from '../src/protocol/duration.js';
import { loadConfig, type LoadOptions, type LoadedConfig } from '../src/agent/config/loader.js';
import { generateDefaultConfig } from '../src/agent/config/default-config.js';
import { ConfigError } from '../src/agent/config/errors.js';
import { pipelineSchema } from '../src/agent/config/pipeline-settings.js';

const periodic = (poll: string) =>
  t.table({ enabled: t.bool(true), poll_interval: t.duration(poll), flush_interval: t.optional(t.duration('1s')) });

const seen: unknown[] = [];

const procfs = definePlugin({
  name: 'procfs',
  version: '0.1.0',
  config: t.table({
    root: t.string('/proc', { nonEmpty: true }),
    kernel: periodic('5s'),
    memory: t.table({ enabled: t.bool(true), poll_interval: t.duration('5s'), metrics: t.list(t.string(''), ['MemTotal', 'MemFree']) }),
  }),
  check(cfg, problems) {
    seen.push(cfg);
    const k = cfg.kernel;
    if (k.flush_interval !== undefined && parseDuration(k.flush_interval) < parseDuration(k.poll_interval)) {
      problems.add('kernel.flush_interval', `must not be shorter than poll_interval (${k.poll_interval})`);
    }
  },
  start() {},
});

const csv = definePlugin({
  name: 'csv',
  version: '0.1.0',
  config: t.table({ output_path: t.string('alumet-output.csv', { nonEmpty: true }), force_flush: t.bool(true), buffer_size: t.int(8192, { min: 0 }) }),
  check(cfg, problems) {
    if (cfg.output_path.endsWith('/')) problems.add('output_path', `${JSON.stringify(cfg.output_path)} is a directory; name a file`);
  },
  start() {},
});

// Disabled by default: it needs hardware.
const rapl = definePlugin({
  name: 'rapl',
  version: '0.1.0',
  enabledByDefault: false,
  config: t.table({ poll_interval: t.duration('1s'), flush_interval: t.duration('5s'), no_perf_events: t.bool(false) }),
  start() {},
});

// A transform disabled by default, with awkward defaults for the TOML round trip.
const filter = definePlugin({
  name: 'filter',
  version: '0.1.0',
  enabledByDefault: false,
  config: t.table({
    include: t.list(t.string(''), []),
    pattern: t.string('quote " backslash \\ tab \t ${NOT_ENV} é'),
    ratio: t.float(0.25),
    whole: t.float(2),
    limits: t.map(t.int(0), {}),
    nested: t.table({ deeper: t.table({ flag: t.bool(false) }) }),
  }),
  start() {},
});

const aggregation = definePlugin({
  name: 'aggregation',
  version: '0.1.0',
  config: t.table({ interval: t.duration('1s'), function: t.oneOf(['mean', 'sum'], 'mean') }),
  start() {},
});

const PLUGINS: readonly AnyPlugin[] = [procfs, csv, rapl, filter, aggregation];
const AVAILABLE = 'procfs, csv, rapl, filter, aggregation';
const KERNEL_KEYS = '(valid keys: enabled, poll_interval, flush_interval)';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'alumet-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Extra = Partial<Omit<LoadOptions, 'path'>>;

function load(t: TestContext, toml: string, extra: Extra = {}): LoadedConfig {
  const path = join(tempDir(t), 'alumet-config.toml');
  writeFileSync(path, toml);
  return loadConfig({ path, noDefaultConfig: true, overrides: [], plugins: PLUGINS, env: {}, ...extra });
}

/** The problem lines of the ConfigError that loading throws, with the file's path written FILE. */
function problems(t: TestContext, toml: string, extra: Extra = {}): string[] {
  const dir = tempDir(t);
  const path = join(dir, 'alumet-config.toml');
  writeFileSync(path, toml);
  try {
    loadConfig({ path, noDefaultConfig: true, overrides: [], plugins: PLUGINS, env: {}, ...extra });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
    return e.problems.map((p) => p.split(path).join('FILE'));
  }
  assert.fail(`loading succeeded but should have failed:\n${toml}`);
}

function names(cfg: LoadedConfig): string[] {
  return cfg.plugins.map((p) => p.plugin.name);
}

function configOf(cfg: LoadedConfig, name: string): unknown {
  return cfg.plugins.find((p) => p.plugin.name === name)?.config;
}

test('each config mistake is reported with file, line, key and what would be valid', (t) => {
  const cases: Array<{ name: string; toml: string; extra?: Extra; expect: string[] }> = [
    {
      name: 'misspelt key under a table header',
      toml: '[plugins.procfs]\nroot = "/proc"\n\n[plugins.procfs.kernel]\npol_interval = "1s"\n',
      expect: [`FILE:5: plugins.procfs.kernel.pol_interval: unknown key; did you mean "poll_interval"? ${KERNEL_KEYS}`],
    },
    {
      name: 'misspelt key in dotted form',
      toml: '[plugins.procfs]\nroot = "/proc"\nkernel.pol_interval = "1s"\n',
      expect: [`FILE:3: plugins.procfs.kernel.pol_interval: unknown key; did you mean "poll_interval"? ${KERNEL_KEYS}`],
    },
    {
      name: 'misspelt key written in full at the top',
      toml: '# comment\nplugins.csv.output_paht = "x.csv"\n',
      expect: ['FILE:2: plugins.csv.output_paht: unknown key; did you mean "output_path"? (valid keys: output_path, force_flush, buffer_size)'],
    },
    {
      name: 'key with no close match',
      toml: '[plugins.csv]\ncompletely_unrelated = 1\n',
      expect: ['FILE:2: plugins.csv.completely_unrelated: unknown key (valid keys: output_path, force_flush, buffer_size)'],
    },
    {
      name: 'a method name is not a key',
      toml: '[plugins.csv]\ntoString = 1\n',
      expect: ['FILE:2: plugins.csv.toString: unknown key (valid keys: output_path, force_flush, buffer_size)'],
    },
    {
      name: 'quoted table header',
      toml: '[plugins."csv"]\nforce_flush = "yes"\n',
      expect: ['FILE:2: plugins.csv.force_flush: expected a boolean (true or false), got the string "yes"'],
    },
    {
      name: 'wrong types',
      toml: '[plugins.csv]\noutput_path = 5\nbuffer_size = 1.5\n[plugins.procfs.memory]\nmetrics = "MemTotal"\n',
      expect: [
        'FILE:2: plugins.csv.output_path: expected a string, got the number 5',
        'FILE:3: plugins.csv.buffer_size: expected an integer, got the number 1.5',
        'FILE:5: plugins.procfs.memory.metrics: expected an array of a string, got the string "MemTotal"',
      ],
    },
    {
      name: 'wrong type inside an array',
      toml: '[plugins.procfs.memory]\nmetrics = [\n  "MemTotal",\n  2,\n]\n',
      expect: ['FILE:2: plugins.procfs.memory.metrics[1]: expected a string, got the number 2'],
    },
    {
      name: 'a table where a value belongs, and a value where a table belongs',
      toml: '[plugins.procfs]\nroot = { path = "/proc" }\nkernel = "5s"\n',
      expect: ['FILE:2: plugins.procfs.root: expected a string, got a table', 'FILE:3: plugins.procfs.kernel: expected a table, got the string "5s"'],
    },
    {
      name: 'bad durations',
      toml: '[plugins.procfs.kernel]\npoll_interval = "10 sec"\n[plugins.procfs.memory]\npoll_interval = 10\n[plugins.rapl]\npoll_interval = "1.5s"\n',
      expect: [
        'FILE:2: plugins.procfs.kernel.poll_interval: "10 sec" is not a duration (no space is allowed between a number and its unit: "10sec"); write a number and a unit: "100us", "10ms", "1s", "2m", "1h", "1m30s"',
        'FILE:4: plugins.procfs.memory.poll_interval: expected a duration string such as "10ms" or "1m30s", got the number 10',
        'FILE:6: plugins.rapl.poll_interval: "1.5s" is not a duration (fractions are not supported; combine units instead, e.g. "1s500ms" for 1.5 s); write a number and a unit: "100us", "10ms", "1s", "2m", "1h", "1m30s"',
      ],
    },
    {
      name: 'value not among the allowed ones',
      toml: '[plugins.aggregation]\nfunction = "summ"\n',
      expect: ['FILE:2: plugins.aggregation.function: expected one of "mean", "sum", got the string "summ"; did you mean "sum"?'],
    },
    {
      name: 'unknown plugin',
      toml: '[plugins.csv]\n\n[plugins.procf]\nroot = "/proc"\n[plugins.zzzzzzzz]\n',
      expect: [
        `FILE:3: plugins.procf: unknown plugin "procf"; did you mean "procfs"? (available: ${AVAILABLE})`,
        `FILE:5: plugins.zzzzzzzz: unknown plugin "zzzzzzzz" (available: ${AVAILABLE})`,
      ],
    },
    {
      name: 'plugin entry that is not a table',
      toml: '[plugins]\ncsv = "on"\n',
      expect: ['FILE:2: plugins.csv: expected a table, got the string "on"; write [plugins.csv] and its keys below it'],
    },
    {
      name: 'plugins that is not a table',
      toml: 'plugins = ["csv"]\n',
      expect: ['FILE:1: plugins: expected a table of [plugins.NAME] tables, got an array'],
    },
    {
      name: 'enabled that is not a boolean',
      toml: '[plugins.csv]\nenabled = "yes"\n',
      expect: ['FILE:2: plugins.csv.enabled: expected a boolean (true or false), got the string "yes"'],
    },
    {
      name: 'enable instead of enabled',
      toml: '[plugins.rapl]\nenable = true\n',
      expect: ['FILE:2: plugins.rapl.enable: unknown key; did you mean "enabled"? (valid keys: poll_interval, flush_interval, no_perf_events)'],
    },
    {
      name: 'unknown top-level keys',
      toml: 'verbose = true\n[plugin.csv]\n',
      expect: [
        'FILE:1: verbose: unknown top-level key (valid: [pipeline] and [plugins.NAME] tables, and the Rust agent\'s max_update_interval and source_channel_size)',
        'FILE:2: plugin: unknown top-level key; did you mean "plugins"? (valid: [pipeline] and [plugins.NAME] tables, and the Rust agent\'s max_update_interval and source_channel_size)',
      ],
    },
    {
      name: 'pipeline mistakes',
      toml: '[pipeline]\nbatch_window = 0\nshutdown_timout = "5s"\npool_threads = -1\n',
      expect: [
        'FILE:2: pipeline.batch_window: must be >= 1, got 0',
        'FILE:3: pipeline.shutdown_timout: unknown key; did you mean "shutdown_timeout"? (valid keys: batch_window, pool_threads, shutdown_timeout, restart_max, restart_backoff, restart_backoff_max, output_backlog, control_timeout)',
        'FILE:4: pipeline.pool_threads: must be >= 0, got -1',
      ],
    },
    {
      name: 'restart backoff above its maximum',
      toml: '[pipeline]\nrestart_backoff_max = "1s"\nrestart_backoff = "2s"\n',
      expect: ['FILE:3: pipeline.restart_backoff: "2s" is longer than restart_backoff_max ("1s"); make it shorter or raise restart_backoff_max'],
    },
    {
      name: 'huge integers',
      toml: '[pipeline]\noutput_backlog = 99999999999999999999\n[plugins.csv]\nbuffer_size = -99999999999999999999\noutput_path = 99999999999999999999\n',
      expect: [
        'FILE:2: pipeline.output_backlog: 99999999999999999999 is too large; must fit in 53 bits',
        'FILE:4: plugins.csv.buffer_size: -99999999999999999999 is too large; must fit in 53 bits',
        'FILE:5: plugins.csv.output_path: expected a string, got the integer 99999999999999999999',
      ],
    },
    {
      name: "a plugin's own check, on a key of the file",
      toml: '[plugins.procfs.kernel]\npoll_interval = "10s"\nflush_interval = "1s"\n',
      expect: ['FILE:3: plugins.procfs.kernel.flush_interval: must not be shorter than poll_interval (10s)'],
    },
    {
      name: "a plugin's own check, where the other key came from an override",
      toml: '[plugins.procfs]\nroot = "/proc"\n[plugins.procfs.kernel]\nflush_interval = "1s"\n',
      extra: { overrides: ['plugins.procfs.kernel.poll_interval = "9s"'] },
      expect: ['FILE:4: plugins.procfs.kernel.flush_interval: must not be shorter than poll_interval (9s)'],
    },
    {
      name: 'a key inside an inline table points at the line of that table',
      toml: '[plugins.procfs]\nkernel = { flush_interval = "1ms" }\n',
      expect: ['FILE:2: plugins.procfs.kernel.flush_interval: must not be shorter than poll_interval (5s)'],
    },
    {
      name: "a plugin's own check, on a key set by an override",
      toml: '[plugins.csv]\nforce_flush = false\n',
      extra: { overrides: ['plugins.csv.output_path = "dir/"'] },
      expect: ['--config-override: plugins.csv.output_path: "dir/" is a directory; name a file'],
    },
    {
      name: 'bad value from an override',
      toml: '[plugins.csv]\nforce_flush = false\n',
      extra: { overrides: ['plugins.csv.force_flush = "no"', 'plugins.nope.x = 1'] },
      expect: [
        `--config-override: plugins.nope: unknown plugin "nope" (available: ${AVAILABLE})`,
        '--config-override: plugins.csv.force_flush: expected a boolean (true or false), got the string "no"',
      ],
    },
    {
      name: 'override that is not TOML',
      toml: '',
      extra: { overrides: ['plugins.csv.force_flush = ', 'plugins.csv.force_flush = true'] },
      expect: [
        'config override is not a valid TOML table: plugins.csv.force_flush =  (column 27: invalid value); write for example \'plugins.csv.output_path = "out.csv"\'',
      ],
    },
    {
      name: 'unknown plugin in --plugins',
      toml: '',
      extra: { only: ['csv', 'procf'] },
      expect: [`--plugins: unknown plugin "procf"; did you mean "procfs"? (available: ${AVAILABLE})`],
    },
  ];
  for (const c of cases) {
    assert.deepEqual(problems(t, c.toml, c.extra), c.expect, c.name);
  }
});

test('several problems are thrown once, in file order, under one heading', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'c.toml');
  writeFileSync(path, '[plugins.rapl]\npoll_interval = "fast"\n[plugins.csv]\nforce_flush = 1\n[plugins.procf]\n');
  assert.throws(
    () => loadConfig({ path, noDefaultConfig: true, overrides: [], plugins: PLUGINS }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.exitCode, 1);
      const lines = e.message.split('\n');
      assert.equal(lines[0], `invalid configuration in ${path} (3 problems):`);
      assert.match(lines[1]!, new RegExp(`^  ${path}:2: plugins\\.rapl\\.poll_interval: "fast" is not a duration`));
      assert.match(lines[2]!, new RegExp(`^  ${path}:4: plugins\\.csv\\.force_flush: expected a boolean`));
      assert.match(lines[3]!, new RegExp(`^  ${path}:5: plugins\\.procf: unknown plugin "procf"`));
      return true;
    },
  );
});

test('a TOML syntax error gives file, line and column', (t) => {
  const cases: Array<[string, string]> = [
    ['[plugins.procfs.kernel]\npoll_interval = 1s\n', ':2:18: invalid TOML: illegal character in numeric literal'],
    ['[plugins.csv]\noutput_path = "x\n', ':2:'],
    ['[plugins.csv]\nforce_flush = true\nforce_flush = false\n', ':3:'],
  ];
  for (const [toml, expected] of cases) {
    const path = join(tempDir(t), 'bad.toml');
    writeFileSync(path, toml);
    assert.throws(
      () => loadConfig({ path, noDefaultConfig: true, overrides: [], plugins: PLUGINS }),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${path}${expected}`) && !e.message.includes('\n'),
      toml,
    );
  }
});

test('${VAR} is replaced from the environment, \\${VAR} stays literal, and mistakes name the variable and file', (t) => {
  const toml = '[plugins.${PLUGIN}]\noutput_path = "${OUT_DIR}/out-\\${RUN}.csv"\n';
  const cfg = load(t, toml, { env: { PLUGIN: 'csv', OUT_DIR: '/data' } });
  assert.deepEqual(names(cfg), ['csv']);
  assert.deepEqual(configOf(cfg, 'csv'), { output_path: '/data/out-${RUN}.csv', force_flush: true, buffer_size: 8192 });

  assert.deepEqual(problems(t, toml, { env: { PLUGIN: 'csv' } }), ['FILE:2: environment variable OUT_DIR is not set']);
  assert.deepEqual(problems(t, '\n\nx = "${OUT_DIR"\ny = "${}"\n', { env: { OUT_DIR: 'x' } }), [
    'FILE:3: unclosed "${"; write ${NAME} for an environment variable, or \\${ for a literal "${"',
    'FILE:4: "${}" is not an environment variable reference; a name has letters, digits and _ (or write \\${ for a literal "${")',
  ]);
  assert.deepEqual(names(load(t, '[plugins.csv]\noutput_path = "${EMPTY}x"\n', { env: { EMPTY: '' } })), ['csv']);
});

test('overrides are TOML documents deep-merged in order: tables merge, other values are replaced', (t) => {
  const toml = '[plugins.procfs]\nroot = "/host/proc"\n[plugins.procfs.kernel]\npoll_interval = "1s"\n[plugins.procfs.memory]\nmetrics = ["A", "B"]\n';
  const cfg = load(t, toml, {
    overrides: [
      'plugins.procfs.kernel.flush_interval = "2s"',
      'plugins.procfs.memory.metrics = ["C"]',
      'plugins.procfs.kernel.flush_interval = "3s"\nplugins.csv.force_flush = false',
      '[pipeline]\nbatch_window = 4',
    ],
  });
  assert.deepEqual(names(cfg), ['procfs', 'csv']);
  assert.deepEqual(configOf(cfg, 'procfs'), {
    root: '/host/proc',
    kernel: { enabled: true, poll_interval: '1s', flush_interval: '3s' },
    memory: { enabled: true, poll_interval: '5s', metrics: ['C'] },
  });
  assert.deepEqual(configOf(cfg, 'csv'), { output_path: 'alumet-output.csv', force_flush: false, buffer_size: 8192 });
  assert.equal(cfg.pipeline.batch_window, 4);
  // An override may replace a table by a value, and a value by a table; the schema then judges.
  assert.deepEqual(problems(t, toml, { overrides: ['plugins.procfs.kernel = 1'] }), [
    '--config-override: plugins.procfs.kernel: expected a table, got the number 1',
  ]);
});

test('--output-file sets plugins.csv.output_path after the overrides, keeping the other keys', (t) => {
  const withTable = load(t, '[plugins.csv]\nforce_flush = false\noutput_path = "file.csv"\n', {
    overrides: ['plugins.csv.output_path = "override.csv"'],
    outputFile: 'cli.csv',
  });
  assert.deepEqual(configOf(withTable, 'csv'), { output_path: 'cli.csv', force_flush: false, buffer_size: 8192 });

  // Without a [plugins.csv] table it creates one, which enables csv.
  const withoutTable = load(t, '[plugins.procfs]\n', { outputFile: 'cli.csv' });
  assert.deepEqual(names(withoutTable), ['procfs', 'csv']);
  assert.equal((configOf(withoutTable, 'csv') as { output_path: string }).output_path, 'cli.csv');

  // A disabled csv stays disabled.
  const disabled = load(t, '[plugins.csv]\nenabled = false\n[plugins.procfs]\n', { outputFile: 'cli.csv' });
  assert.deepEqual(names(disabled), ['procfs']);
  assert.ok(disabled.disabled.includes('csv'));

  assert.deepEqual(problems(t, '', { outputFile: '', only: ['csv'] }), ['--output-file: plugins.csv.output_path: must not be empty']);
  const noCsv = loadConfigWith(t, '', { plugins: [procfs], outputFile: 'x.csv' });
  assert.ok(noCsv instanceof ConfigError);
  assert.deepEqual(noCsv.problems, ['--output-file: sets plugins.csv.output_path, but this agent has no csv plugin']);
});

function loadConfigWith(t: TestContext, toml: string, extra: Extra): LoadedConfig | ConfigError {
  try {
    return load(t, toml, extra);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
}

test('a table enables its plugin unless enabled = false; plugins see only their own keys', (t) => {
  seen.length = 0;
  const cfg = load(t, '[plugins.procfs]\nenabled = true\nroot = "/p"\n[plugins.rapl]\nenabled = false\npoll_interval = "10ms"\n[plugins.aggregation]\n');
  assert.deepEqual(names(cfg), ['procfs', 'aggregation']);
  assert.deepEqual(cfg.disabled, ['rapl', 'csv', 'filter']);
  const procfsConfig = configOf(cfg, 'procfs') as Record<string, unknown>;
  assert.equal(procfsConfig['enabled'], undefined);
  assert.equal(procfsConfig['root'], '/p');
  assert.deepEqual(seen, [procfsConfig], 'check() got the parsed config without enabled');
});

test('enabled plugins come in the order of their tables, the others after', (t) => {
  const toml = '[plugins.aggregation]\n[plugins.filter]\n[plugins.csv]\n[plugins.procfs]\n';
  assert.deepEqual(names(load(t, toml)), ['aggregation', 'filter', 'csv', 'procfs']);
  // Tables added by an override come after those of the file.
  assert.deepEqual(names(load(t, toml, { overrides: ['plugins.rapl.no_perf_events = true'] })), ['aggregation', 'filter', 'csv', 'procfs', 'rapl']);
  // --plugins picks the set, not the order; plugins without a table follow in the agent's order.
  const only = load(t, '[plugins.csv]\n[plugins.rapl]\nenabled = false\n', { only: ['aggregation', 'procfs', 'rapl'] });
  assert.deepEqual(names(only), ['rapl', 'procfs', 'aggregation']);
  assert.deepEqual(only.disabled, ['csv', 'filter']);
});

test('--plugins enables exactly the named plugins, with their tables or their defaults', (t) => {
  const cfg = load(t, '[plugins.csv]\noutput_path = "mine.csv"\n[plugins.procfs]\n', { only: ['csv', 'rapl'] });
  assert.deepEqual(names(cfg), ['csv', 'rapl']);
  assert.deepEqual(configOf(cfg, 'csv'), { output_path: 'mine.csv', force_flush: true, buffer_size: 8192 });
  assert.deepEqual(configOf(cfg, 'rapl'), rapl.config.defaultValue());
  // An empty file works: every selected plugin takes its defaults.
  assert.deepEqual(configOf(load(t, '', { only: ['csv'] }), 'csv'), csv.config.defaultValue());
});

test('a missing file is generated with every default, written, and loaded', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'alumet-config.toml');
  const cfg = loadConfig({ path, noDefaultConfig: false, overrides: [], plugins: PLUGINS, env: {} });
  assert.equal(cfg.generated, true);
  assert.equal(readFileSync(path, 'utf8'), generateDefaultConfig(PLUGINS));
  assert.deepEqual(names(cfg), ['procfs', 'csv', 'aggregation']);
  assert.deepEqual(cfg.disabled, ['rapl', 'filter']);
  for (const { plugin, config } of cfg.plugins) assert.deepEqual(config, plugin.config.defaultValue(), plugin.name);
  assert.deepEqual(cfg.pipeline, pipelineSchema.defaultValue());

  const again = loadConfig({ path, noDefaultConfig: true, overrides: [], plugins: PLUGINS, env: {} });
  assert.equal(again.generated, false);
  assert.deepEqual(again.plugins, cfg.plugins);
});

test('a missing file that may not be generated, or cannot be, is an error naming its path', (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'missing.toml');
  assert.throws(
    () => loadConfig({ path: missing, noDefaultConfig: true, overrides: [], plugins: PLUGINS }),
    new ConfigError(`${missing}: the config file does not exist (--no-default-config forbids generating it); create it or run "alumet-agent config regen"`),
  );
  const inMissingDir = join(dir, 'no-such-dir', 'x.toml');
  assert.throws(
    () => loadConfig({ path: inMissingDir, noDefaultConfig: false, overrides: [], plugins: PLUGINS }),
    (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${inMissingDir}: the config file does not exist and the default could not be written there: ENOENT`),
  );
  mkdirSync(join(dir, 'a-dir.toml'));
  assert.throws(
    () => loadConfig({ path: join(dir, 'a-dir.toml'), noDefaultConfig: false, overrides: [], plugins: PLUGINS }),
    (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${join(dir, 'a-dir.toml')}: cannot read the config file: EISDIR`),
  );
});

/** Parses generated TOML as plain data; `\${` in it is the escape of a literal `${` (see the \${VAR} test). */
function readBack(text: string): unknown {
  // smol-toml makes null-prototype objects; structuredClone turns them into plain ones for deepEqual.
  return structuredClone(parse(text.replaceAll('\\${', '${')));
}

test('the generated default config parses back to the same config', () => {
  const text = generateDefaultConfig(PLUGINS);
  assert.match(text, /^# /);
  const doc = readBack(text) as { pipeline: unknown; plugins: Record<string, Record<string, unknown>> };
  assert.deepEqual(doc.pipeline, pipelineSchema.defaultValue());
  assert.deepEqual(Object.keys(doc.plugins), PLUGINS.map((p) => p.name));
  for (const plugin of PLUGINS) {
    const { enabled, ...table } = doc.plugins[plugin.name]!;
    assert.equal(enabled, isEnabledByDefault(plugin) ? undefined : false, plugin.name);
    assert.deepEqual(table, plugin.config.defaultValue(), plugin.name);
    if (enabled === false) assert.match(text, new RegExp(`\\[plugins\\.${plugin.name}\\]\\nenabled = false\\n`), `${plugin.name}: enabled first`);
  }
  // Every pipeline key has its one-line note.
  for (const key of Object.keys(pipelineSchema.defaultValue())) assert.match(text, new RegExp(`# .+\\n${key} = `), key);
});

test('a key a plugin generates with another value than its default is written so, with why above it, and reads back', (tc) => {
  const output = definePlugin({
    name: 'push',
    version: '0.1.0',
    enabledByDefault: false,
    config: t.table({ host: t.string('http://localhost'), mode: t.oneOf(['field', 'tag'], 'field') }),
    generatedValues: { mode: { value: 'tag', why: 'the default loses points;\nkept for old configs' } },
    start() {},
  });
  const text = generateDefaultConfig([csv, output]);
  assert.match(text, /\[plugins\.push\]\nenabled = false\nhost = "http:\/\/localhost"\n# the default loses points;\n# kept for old configs\nmode = "tag"\n/);
  const cfg = load(tc, generateDefaultConfig([csv, output], ['push']), { plugins: [csv, output] });
  assert.deepEqual(configOf(cfg, 'push'), { host: 'http://localhost', mode: 'tag' });
});

test('with plugin names, the default config holds only those, all enabled', (t) => {
  const text = generateDefaultConfig(PLUGINS, ['filter', 'csv']);
  const doc = readBack(text) as { plugins: Record<string, unknown> };
  assert.deepEqual(doc.plugins, { csv: csv.config.defaultValue(), filter: filter.config.defaultValue() });
  // Through the real loader, so the escaped "${" in filter's default reads back as written.
  const cfg = load(t, text);
  assert.deepEqual(names(cfg), ['csv', 'filter']);
  assert.deepEqual(configOf(cfg, 'filter'), filter.config.defaultValue());
  assert.throws(
    () => generateDefaultConfig(PLUGINS, ['csv', 'rapel']),
    new ConfigError(`--plugins: unknown plugin "rapel"; did you mean "rapl"? (available: ${AVAILABLE})`),
  );
});
