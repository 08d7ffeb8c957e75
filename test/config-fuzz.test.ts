// Config fuzzing: malformed TOML, a value of every other type for every key of every plugin (walked from its
// defaults), bad durations, huge numbers, unknown plugins. Each gives one ConfigError with one clear message
// that names the file, line and key — never another exception. Mostly in-process through loadConfig; a few
// through the real binary's `config validate` and `run`, which must exit 1 with one line and no stack.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { loadConfig } from '../src/agent/config/loader.js';
import { ConfigError } from '../src/agent/config/errors.js';
import { PLUGINS } from '../src/plugins/index.js';
import { rmrf, runAgentToEnd, tempDir } from './helpers/agent-process.js';

type Table = Record<string, unknown>;

/** Loads `text` as a config file and returns the ConfigError it must raise. */
function configError(dir: string, text: string, what: string): ConfigError {
  const path = join(dir, 'c.toml');
  writeFileSync(path, text);
  let caught: unknown;
  try {
    loadConfig({ path, noDefaultConfig: true, overrides: [], plugins: PLUGINS, env: { HOME: '/home/x' } });
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `${what}: the config was accepted:\n${text}`);
  assert.ok(caught instanceof ConfigError, `${what}: expected a ConfigError, got ${caught instanceof Error ? (caught.stack ?? caught.message) : String(caught)}\n${text}`);
  assertClear(caught.message, what);
  return caught;
}

/** A message a person can act on: no stack, no JavaScript internals, says where. */
function assertClear(message: string, what: string): void {
  assert.ok(message.length > 0, `${what}: empty message`);
  assert.doesNotMatch(message, /\n\s+at .+:\d+:\d+/, `${what}: a stack trace in ${message}`);
  assert.doesNotMatch(message, /\[object \w+\]|\bundefined\b|the number null|TypeError|ReferenceError|Cannot read prop/, `${what}: JavaScript internals in: ${message}`);
  assert.match(message, /c\.toml/, `${what}: the message names the file: ${message}`);
}

/** Exactly one problem, which names `key`. */
function assertOneProblem(e: ConfigError, key: string, what: string): void {
  assert.equal(e.problems.length, 1, `${what}: expected one problem, got:\n${e.message}`);
  assert.ok(e.message.includes(key), `${what}: the message names ${key}: ${e.message}`);
}

function pluginToml(name: string, table: Table): string {
  return stringify({ plugins: { [name]: table } });
}

/** Every key path of a defaults table, tables included: [['kernel'], ['kernel', 'poll_interval'], …]. */
function keyPaths(table: Table, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [k, v] of Object.entries(table)) {
    const path = [...prefix, k];
    out.push(path);
    if (isTable(v)) out.push(...keyPaths(v, path));
  }
  return out;
}

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

type Kind = 'string' | 'number' | 'boolean' | 'array' | 'table' | 'date';

function kindOf(v: unknown): Kind {
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'date';
  if (isTable(v)) return 'table';
  return typeof v as Kind;
}

/** Values of each TOML type; a key gets every one whose type differs from its default's. */
const OTHER_TYPES: ReadonlyArray<{ kind: Kind; value: unknown }> = [
  { kind: 'string', value: 'not what you want' },
  { kind: 'number', value: 42 },
  { kind: 'number', value: 1.5 },
  { kind: 'number', value: -7 },
  { kind: 'boolean', value: true },
  { kind: 'array', value: [1, 2] },
  { kind: 'array', value: [] },
  { kind: 'table', value: { nested: 1 } },
  { kind: 'date', value: new Date('1979-05-27T07:32:00Z') },
];

function withValue(defaults: Table, path: string[], value: unknown): Table {
  const copy = structuredClone(defaults);
  let at: Table = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Table;
  at[path[path.length - 1]!] = value;
  return copy;
}

test('malformed TOML gives one "invalid TOML" error with line and column', (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const cases = [
    '[plugins.csv',
    '[plugins.csv]\noutput_path = "unterminated\n',
    '[plugins.csv]\noutput_path = \n',
    '[plugins.csv]\noutput_path = "a"\noutput_path = "b"\n',
    '[plugins.csv]\n[plugins.csv]\n',
    '[plugins.csv]\noutput_path = "bad \\q escape"\n',
    '[plugins.csv]\noutput_path = """never closed\n',
    '[plugins]]\n',
    '= 1\n',
    '[plugins.procfs]\nkernel = { enabled = true,, }\n',
    '[plugins.procfs]\nkernel.poll_interval = "1s" "2s"\n',
    '[plugins.csv]\noutput_path = "nul\u0000byte"\n',
    '[plugins.csv]\nforce_flush = tru\n',
    '[plugins.csv]\nforce_flush = 1979-13-45\n',
    '[plugins.synthetic]\npoints_per_poll = 0x\n',
    '[plugins.synthetic]\npoints_per_poll = 1__0\n',
    '[plugins.csv]\n[[plugins.csv]]\n',
    '\u00ff\u00fe[plugins.csv]\n',
    '[plugins.csv]\r\noutput_path = "x"\routput_path2 = 1\n',
    `[plugins.csv]\noutput_path = "${'x'.repeat(200_000)}\n`,
    `${'['.repeat(5000)}\n`,
    `a = ${'['.repeat(5000)}\n`,
  ];
  for (const text of cases) {
    const what = `malformed ${JSON.stringify(text.slice(0, 60))}`;
    const e = configError(dir, text, what);
    assert.equal(e.problems.length, 1, `${what}: ${e.message}`);
    assert.match(e.message, /c\.toml:\d+:\d+: invalid TOML: \S/, what);
  }
});

test('a value of every other type for every key of every plugin names that key, once', (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  let cases = 0;
  for (const plugin of PLUGINS) {
    const defaults = plugin.config.defaultValue() as Table;
    for (const path of keyPaths(defaults)) {
      const current = path.reduce<unknown>((v, k) => (v as Table)[k], defaults);
      for (const { kind, value } of OTHER_TYPES) {
        if (kind === kindOf(current)) continue;
        // An array of tables (procfs.processes.groups) holds tables; an empty array is a valid list.
        if (kindOf(current) === 'array' && kind === 'array') continue;
        const what = `plugins.${plugin.name}.${path.join('.')} = ${JSON.stringify(value)}`;
        const e = configError(dir, pluginToml(plugin.name, withValue(defaults, path, value)), what);
        assertOneProblem(e, `plugins.${plugin.name}.${path.join('.')}`, what);
        assert.match(e.message, /c\.toml:\d+/, `${what}: the message names the line: ${e.message}`);
        cases++;
      }
    }
    // `enabled` is the agent's key, not the plugin's: it must be a boolean too.
    for (const value of ['yes', 1, [true], { a: 1 }]) {
      const what = `plugins.${plugin.name}.enabled = ${JSON.stringify(value)}`;
      assertOneProblem(configError(dir, pluginToml(plugin.name, { ...defaults, enabled: value }), what), `plugins.${plugin.name}.enabled`, what);
      cases++;
    }
  }
  assert.ok(cases > 200, `only ${cases} cases`);
});

test('a list of the wrong items names the item', (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const cases: Array<[string, string]> = [
    ['[plugins.procfs]\nmemory.metrics = [1]\n', 'plugins.procfs.memory.metrics[0]'],
    ['[plugins.procfs]\nmemory.metrics = ["MemTotal", true]\n', 'plugins.procfs.memory.metrics[1]'],
    ['[plugins.procfs]\nmemory.metrics = [["MemTotal"]]\n', 'plugins.procfs.memory.metrics[0]'],
    ['[plugins.procfs]\nmemory.metrics = [""]\n', 'plugins.procfs.memory.metrics[0]'],
    ['[plugins.filter]\nexclude = [{ a = 1 }]\n', 'plugins.filter.exclude[0]'],
    ['[plugins.procfs]\nprocesses.groups = [1]\n', 'plugins.procfs.processes.groups[0]'],
    ['[plugins.procfs]\nprocesses.groups = [{ pid = "one" }]\n', 'plugins.procfs.processes.groups[0].pid'],
  ];
  for (const [text, key] of cases) assertOneProblem(configError(dir, text, text), key, text);
});

test('bad durations name the key and the value, and say what a duration looks like', (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const bad = ['10 sec', '-1s', '1.5s', '', ' ', 's', '1', '1x', '∞', 'NaN', '1e3ms', '1h1', '1_000ms', '٣s', 'ms10', '10ms!', '1s,5ms', 'null'];
  const keys: Array<[string, string]> = [
    ['[pipeline]\nshutdown_timeout', 'pipeline.shutdown_timeout'],
    ['[plugins.procfs]\nkernel.poll_interval', 'plugins.procfs.kernel.poll_interval'],
    ['[plugins.synthetic]\npoll_interval', 'plugins.synthetic.poll_interval'],
  ];
  for (const [prefix, key] of keys) {
    for (const value of bad) {
      const text = `${prefix} = ${JSON.stringify(value)}\n`;
      const e = configError(dir, text, text);
      assertOneProblem(e, key, text);
      assert.match(e.message, /"100us", "10ms", "1s"|is not a duration|empty duration/, `${text}: says what is valid: ${e.message}`);
    }
  }
  // Valid durations beyond what the key allows.
  const range: Array<[string, string, RegExp]> = [
    ['[pipeline]\nshutdown_timeout = "30d"\n', 'pipeline.shutdown_timeout', /too long; the maximum is 24d/],
    ['[pipeline]\ncontrol_timeout = "99999999999999999999999y"\n', 'pipeline.control_timeout', /too long/],
    ['[pipeline]\nrestart_backoff = "0s"\n', 'pipeline.restart_backoff', /too short/],
    ['[plugins.procfs]\nmemory.poll_interval = "10us"\n', 'plugins.procfs.memory.poll_interval', /too short; the minimum is 100us/],
    ['[pipeline]\nrestart_backoff = "1m"\nrestart_backoff_max = "1s"\n', 'pipeline.restart_backoff', /longer than restart_backoff_max/],
  ];
  for (const [text, key, why] of range) {
    const e = configError(dir, text, text);
    assertOneProblem(e, key, text);
    assert.match(e.message, why, text);
  }
});

test('huge numbers (past 2^53, past 2^64), infinities and NaN are refused with the key', (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const huge = ['9007199254740993', '18446744073709551617', '-9223372036854775809', '99999999999999999999999999999999', '1e400', '-1e400', 'inf', '-inf', 'nan'];
  const keys: Array<[string, string]> = [
    ['[pipeline]\nbatch_window', 'pipeline.batch_window'],
    ['[pipeline]\nrestart_max', 'pipeline.restart_max'],
    ['[pipeline]\noutput_backlog', 'pipeline.output_backlog'],
    ['[plugins.synthetic]\npoints_per_poll', 'plugins.synthetic.points_per_poll'],
    ['[plugins.energy-estimation-tdp]\ntdp', 'plugins.energy-estimation-tdp.tdp'],
    ['[plugins.socket-control]\nsocket_mode', 'plugins.socket-control.socket_mode'],
    ['[plugins.csv]\nforce_flush', 'plugins.csv.force_flush'],
    ['[plugins.procfs]\nprocesses.groups = [{ pid', 'plugins.procfs.processes.groups[0].pid'],
  ];
  for (const [prefix, key] of keys) {
    for (const n of huge) {
      const text = `${prefix} = ${n}${prefix.endsWith('{ pid') ? ' }]' : ''}\n`;
      const e = configError(dir, text, text);
      assertOneProblem(e, key, text);
    }
  }
});

test('unknown plugins, tables and keys are named, with the closest valid name', (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const cases: Array<[string, RegExp]> = [
    ['[plugins.procfss]\n', /unknown plugin "procfss"; did you mean "procfs"\?/],
    ['[plugins.plugin-procfs]\n', /unknown plugin "plugin-procfs"/],
    ['[plugins."ünïcödé ☃"]\n', /unknown plugin "ünïcödé ☃"/],
    ['[plugins.""]\n', /unknown plugin ""/],
    ['[plugins.nope.deeper]\nx = 1\n', /unknown plugin "nope"/],
    ['[plugins.csv]\noutput_pth = "x"\n', /unknown key; did you mean "output_path"\?/],
    ['[plugins.csv]\nenabeld = true\n', /did you mean "enabled"\?/],
    ['[pipeline]\nbatch_windw = 3\n', /did you mean "batch_window"\?/],
    ['[pipelines]\n', /unknown top-level key; did you mean "pipeline"\?/],
    ['plugins = 3\n', /expected a table of \[plugins\.NAME\] tables/],
    ['pipeline = "fast"\n', /expected a table/],
    ['[plugins]\ncsv = "on"\n', /expected a table/],
    ['[plugins.csv]\noutput_path = "${ALUMET_FUZZ_UNSET}"\n', /environment variable ALUMET_FUZZ_UNSET is not set/],
    ['[plugins.csv]\noutput_path = "${not a name}"\n', /is not an environment variable reference/],
  ];
  for (const [text, why] of cases) {
    const e = configError(dir, text, text);
    assert.equal(e.problems.length, 1, `${text}: ${e.message}`);
    assert.match(e.message, why, text);
  }
});

test('the binary: config validate and run exit 1 with one error line and no stack trace', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const cases = [
    '[plugins.csv\n',
    '[plugins.socket-control]\nsocket_mode = 9007199254740993\n',
    '[plugins.socket-control]\nsocket_mode = 1979-05-27\n',
    '[plugins.procfs]\nkernel = 5\n',
    '[plugins.procfss]\n',
    '[pipeline]\nshutdown_timeout = "30d"\n',
    '[plugins.energy-estimation-tdp]\ntdp = inf\n',
    `\u0000\u0001\u0002${'\u00ff'.repeat(100)}\n`,
  ];
  for (const text of cases) {
    writeFileSync(join(dir, 'c.toml'), text);
    for (const command of [['config', 'validate'], ['run']]) {
      const what = `${command.join(' ')} with ${JSON.stringify(text)}`;
      const { code, output } = await runAgentToEnd(['--config', 'c.toml', ...command], { cwd: dir });
      assert.equal(code, 1, `${what}: ${output}`);
      const lines = output.trimEnd().split('\n');
      assert.equal(lines.length, 1, `${what}: one line: ${output}`);
      assert.match(lines[0]!, /^error: c\.toml/, what);
      assertClear(lines[0]!, what);
      assert.doesNotMatch(output, /internal error/, what);
    }
  }
});
