// A config written for the Rust agent loads and runs here: its default config for the plugins we have
// (test/fixtures/rust-alumet-config.toml), its top-level keys and command-line options (applied, or accepted
// with one info line), the tables of its plugins this build lacks, and `exe_regex = ""` meaning any process.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type LoadOptions, type LoadedConfig } from '../src/agent/config/loader.js';
import { ConfigError } from '../src/agent/config/errors.js';
import { parseArgs, UsageError } from '../src/cli-args.js';
import { RUST_AGENT_PLUGINS, type RustFlag } from '../src/agent/config/rust-compat.js';
import { PLUGINS } from '../src/plugins/index.js';
import { sendControlLine } from '../src/control/client.js';
import { assertCompleteCsv, csvRows, processSourcesConfig, REPO_ROOT, rmrf, runAgentToEnd, startAgent, tempDir, waitFor } from './helpers/agent-process.js';
import { fakePowercap } from './helpers/fake-powercap.js';

const FIXTURE = join(REPO_ROOT, 'test/fixtures/rust-alumet-config.toml');
const AVAILABLE = PLUGINS.map((p) => p.name).join(', ');
const RUST_ONLY = RUST_AGENT_PLUGINS.filter((n) => !PLUGINS.some((p) => p.name === n));

/** Writes `toml` as c.toml in a fresh directory and loads it with the real plugins. */
function load(dir: string, toml: string, extra: Partial<Omit<LoadOptions, 'path'>> = {}): LoadedConfig {
  const path = join(dir, 'c.toml');
  writeFileSync(path, toml);
  return loadConfig({ path, noDefaultConfig: true, overrides: [], plugins: PLUGINS, env: {}, ...extra });
}

/** The problem lines loading must throw, with the file's path written FILE. */
function problems(dir: string, toml: string, extra: Partial<Omit<LoadOptions, 'path'>> = {}): string[] {
  try {
    load(dir, toml, extra);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
    return e.problems.map((p) => p.split(join(dir, 'c.toml')).join('FILE'));
  }
  assert.fail(`loading succeeded but should have failed:\n${toml}`);
}

/** The fixture with its output and socket paths moved into `dir`. */
function fixtureIn(dir: string): string {
  const text = readFileSync(FIXTURE, 'utf8')
    .replace('output_path = "alumet-output.csv"', `output_path = ${JSON.stringify(join(dir, 'out.csv'))}`)
    .replace('socket_path = "alumet-control.sock"', `socket_path = ${JSON.stringify(join(dir, 'ctl.sock'))}`);
  assert.ok(text.includes('out.csv') && text.includes('ctl.sock'), 'the fixture names the default output and socket paths');
  const path = join(dir, 'rust.toml');
  writeFileSync(path, text);
  return path;
}

const MAX_UPDATE_NOTE = /^max_update_interval has no meaning in alumet-ts because control commands reach every source at once/;
const CHANNEL_NOTE = /^source_channel_size has no meaning in alumet-ts because no channel is shared by all the sources/;

test("the Rust agent's default config for our plugins loads, with one note per top-level key it has no use for", (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const cfg = loadConfig({ path: fixtureIn(dir), noDefaultConfig: true, overrides: [], plugins: PLUGINS, env: {} });
  assert.deepEqual(
    cfg.plugins.map((p) => p.plugin.name),
    ['procfs', 'cgroups', 'csv', 'socket-control', 'energy-estimation-tdp', 'energy-to-carbon', 'aggregation'],
  );
  // The disabled tables of the Rust agent's other plugins are accepted and are no plugins of ours; its
  // disabled rapl, prometheus-exporter, influxdb and relay tables are ours, read with our defaults for the keys they lack.
  assert.deepEqual(cfg.disabled, ['rapl', 'prometheus-exporter', 'influxdb', 'relay-client', 'relay-server', 'synthetic', 'filter', 'energy-attribution', 'prometheus-remote-write', 'opentelemetry']);
  const configOf = (name: string) => cfg.plugins.find((p) => p.plugin.name === name)!.config;
  assert.deepEqual(configOf('energy-to-carbon'), { mode: 'world_avg' });
  assert.deepEqual(configOf('aggregation'), { interval: '1m', function: 'Sum', metrics: [], keep_inputs: false });
  const procfs = cfg.plugins[0]!.config as { processes: { groups: Array<{ exe_regex?: string }> } };
  assert.equal(procfs.processes.groups[0]!.exe_regex, '');
  assert.equal(cfg.notes.length, 2, cfg.notes.join('\n'));
  assert.match(cfg.notes[0]!, MAX_UPDATE_NOTE);
  assert.match(cfg.notes[0]!, /the value "2s" from .*rust\.toml:6 is ignored$/);
  assert.match(cfg.notes[1]!, CHANNEL_NOTE);
  assert.match(cfg.notes[1]!, /the value 2048 from .*rust\.toml:7 is ignored$/);
});

test("the binary validates the Rust agent's config, runs it until CSV rows arrive, and exits 0 on SIGTERM", async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const config = fixtureIn(dir);

  const validate = await runAgentToEnd(['--config', config, 'config', 'validate'], { cwd: dir });
  assert.equal(validate.code, 0, validate.output);
  assert.match(validate.output, /rust\.toml: valid; enabled plugins: procfs, cgroups, csv, socket-control, energy-estimation-tdp, energy-to-carbon, aggregation\n/);
  assert.equal(validate.output.match(/max_update_interval has no meaning in alumet-ts because/g)?.length, 1, validate.output);
  assert.equal(validate.output.match(/source_channel_size has no meaning in alumet-ts because/g)?.length, 1, validate.output);

  const agent = startAgent(['--config', config], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready', 60_000);
  for (const note of [MAX_UPDATE_NOTE, CHANNEL_NOTE]) {
    const lines = agent.output().split('\n').filter((l) => l.includes('"level":30') && note.test((JSON.parse(l) as { msg: string }).msg));
    assert.equal(lines.length, 1, `one info line matching ${note}:\n${agent.output().slice(0, 3000)}`);
  }
  const out = join(dir, 'out.csv');
  const has = (metric: string, consumer?: string): boolean => csvRows(out).some((r) => r[0] === metric && (consumer === undefined || r[5] === consumer));
  // Memory at the first poll; a process of the machine (exe_regex = "" follows them all) after its first
  // 4 s flush; energy from the tdp transform once kernel_cpu_time has its second poll, 5 s in, and its
  // carbon from energy-to-carbon (world average) at once.
  const all = ['mem_total_B', 'kernel_cpu_time_ms', 'estimated_consumed_energy_J', 'carbon_emission_gCO₂'];
  await waitFor(() => has('memory_usage_B', 'process') && all.every((metric) => has(metric)), {
    timeout: 90_000,
    what: 'memory, process, kernel, estimated energy and carbon rows',
    seen: () => [...new Set(csvRows(out).map((r) => r[0]))].join(', '),
  });
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0, agent.output().slice(-3000));
  assertCompleteCsv(out);
});

test("the Rust agent's rapl, energy-to-carbon and aggregation tables, rapl's with powercap_root added, load unchanged and run on a fake powercap tree", async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const powercap = fakePowercap(t);
  // As the Rust agent's `config regen` writes them.
  const rust = [
    '[plugins.rapl]',
    'poll_interval = "1s"',
    'flush_interval = "5s"',
    'no_perf_events = false',
    `powercap_root = ${JSON.stringify(powercap.root)}`,
    '[plugins.energy-to-carbon]',
    'mode = "world_avg"',
    '[plugins.aggregation]',
    'interval = "1m"',
    'function = "Sum"',
    'metrics = []',
    '[plugins.csv]',
    'output_path = "out.csv"',
    '',
  ].join('\n');
  const cfg = load(dir, rust);
  assert.deepEqual(
    cfg.plugins.filter((p) => p.plugin.name !== 'csv').map((p) => [p.plugin.name, p.config]),
    [
      ['rapl', { poll_interval: '1s', flush_interval: '5s', no_perf_events: false, powercap_root: powercap.root }],
      ['energy-to-carbon', { mode: 'world_avg' }],
      ['aggregation', { interval: '1m', function: 'Sum', metrics: [], keep_inputs: false }],
    ],
  );
  const agent = startAgent(['--config', 'c.toml'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  const out = join(dir, 'out.csv');
  // The counters stand still: every poll after the first reports 0 J, flushed every 5 s.
  await waitFor(() => ['rapl_consumed_energy_J', 'carbon_emission_gCO₂'].every((m) => csvRows(out).some((r) => r[0] === m && r[7] === 'package_total')), {
    timeout: 60_000,
    what: 'rapl and carbon rows',
    seen: () => agent.output().slice(-2000),
  });
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0, agent.output().slice(-3000));
});

test('exe_regex = "" follows every process: a child spawned after the start, the test runner and the agent itself', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  writeFileSync(
    join(dir, 'c.toml'),
    processSourcesConfig({ refresh: '200ms', groupKeys: ['exe_regex = ""', 'poll_interval = "1s"', 'flush_interval = "1s"'] }),
  );
  const agent = startAgent(['--config', 'c.toml'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');
  const sleeper = spawn('sleep', ['600']);
  t.after(() => sleeper.kill('SIGKILL'));
  const sock = join(dir, 'ctl.sock');
  const followed = async (pid: number): Promise<boolean> => (await sendControlLine(sock, `list source/procfs/pid-${pid}`, 10_000)).status === 'ok';
  for (const pid of [sleeper.pid!, process.pid, agent.child.pid!]) {
    await waitFor(() => followed(pid), { what: `a source for process ${pid}` });
  }
  await waitFor(() => csvRows(join(dir, 'out.csv')).some((r) => r[0] === 'memory_usage_B' && r[5] === 'process' && r[6] === String(sleeper.pid)), {
    what: 'memory rows of the sleep process',
  });
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0);
});

test("a table of a plugin of the Rust agent that this build lacks is accepted disabled, and otherwise says so", (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  assert.ok(RUST_ONLY.includes('nvml') && RUST_ONLY.includes('mongodb') && !RUST_ONLY.includes('procfs') && !RUST_ONLY.includes('relay-client'));
  for (const name of RUST_ONLY) {
    const disabled = load(dir, `[plugins.${name}]\nenabled = false\nwhatever = "the Rust plugin's own keys"\n[plugins.csv]\n`);
    assert.deepEqual(disabled.plugins.map((p) => p.plugin.name), ['csv'], name);
    assert.ok(!disabled.disabled.includes(name), `${name} is not listed as one of our disabled plugins`);
    const why = `"${name}" is a plugin of the Rust agent that is not available in this build (available: ${AVAILABLE}); write enabled = false in [plugins.${name}], or remove the table`;
    assert.deepEqual(problems(dir, `[plugins.csv]\n[plugins.${name}]\nsome_key = 1\n`), [`FILE:2: plugins.${name}: ${why}`], name);
    assert.deepEqual(problems(dir, `[plugins.${name}]\nenabled = true\n`), [`FILE:1: plugins.${name}: ${why}`], name);
  }
  // A malformed table is still an error, whatever the plugin.
  assert.deepEqual(problems(dir, '[plugins.nvml]\nenabled = "no"\n'), ['FILE:2: plugins.nvml.enabled: expected a boolean (true or false), got the string "no"']);
  assert.deepEqual(problems(dir, '[plugins]\nnvml = 3\n'), ['FILE:2: plugins.nvml: expected a table, got the number 3; write [plugins.nvml] and its keys below it']);
  // A name that is no plugin of either agent is still an unknown plugin, with a hint.
  assert.deepEqual(problems(dir, '[plugins.procfss]\n'), [`FILE:1: plugins.procfss: unknown plugin "procfss"; did you mean "procfs"? (available: ${AVAILABLE})`]);
  // --plugins naming one of them says the same.
  assert.deepEqual(problems(dir, '', { only: ['csv', 'nvml'] }), [`--plugins: "nvml" is a plugin of the Rust agent that is not available in this build (available: ${AVAILABLE})`]);
});

test('with --plugins, the tables of the Rust agent\'s other plugins are ignored entirely, as the Rust agent does', (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const toml = '[plugins.perf]\nhardware_events = ["cpu_cycles"]\n[plugins.nvml]\nenabled = true\n[plugins.influxdb]\nnot_a_key = [1, 2]\n[plugins.csv]\noutput_path = "x.csv"\n';
  assert.equal(problems(dir, toml).length, 3);
  const cfg = load(dir, toml, { only: ['csv', 'procfs'] });
  assert.deepEqual(cfg.plugins.map((p) => p.plugin.name), ['csv', 'procfs']);
  // Genuinely unknown plugins are still errors.
  assert.match(problems(dir, `${toml}[plugins.csvv]\n`, { only: ['csv'] })[0]!, /plugins\.csvv: unknown plugin "csvv"; did you mean "csv"\?/);
});

test('top-level keys of the Rust agent are checked like any key; typos are still unknown keys', (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const cases: Array<[string, string]> = [
    ['max_update_interval = 5\n', 'FILE:1: max_update_interval: expected a duration string such as "10ms" or "1m30s", got the number 5'],
    ['max_update_interval = "2 s"\n', 'FILE:1: max_update_interval: "2 s" is not a duration (no space is allowed between a number and its unit: "2s"); write a number and a unit: "100us", "10ms", "1s", "2m", "1h", "1m30s"'],
    ['\nsource_channel_size = 0\n', 'FILE:2: source_channel_size: must be >= 1, got 0'],
    ['source_channel_size = "big"\n', 'FILE:1: source_channel_size: expected an integer, got the string "big"'],
    ['source_channel_size = 1.5\n', 'FILE:1: source_channel_size: expected an integer, got the number 1.5'],
    ['source_channel_size = 99999999999999999999\n', 'FILE:1: source_channel_size: 99999999999999999999 is too large; must fit in 53 bits'],
    ['source_channel_size = [1]\n', 'FILE:1: source_channel_size: expected an integer, got an array'],
    [
      'max_update_interva = "2s"\n',
      'FILE:1: max_update_interva: unknown top-level key; did you mean "max_update_interval"? (valid: [pipeline] and [plugins.NAME] tables, and the Rust agent\'s max_update_interval and source_channel_size)',
    ],
  ];
  for (const [toml, expected] of cases) assert.deepEqual(problems(dir, toml), [expected], toml);
});

test("the Rust agent's options win over the config: applied where they mean something, noted where they do not", (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const flag = (name: RustFlag['name'], value: string | number, from: string = name): RustFlag => ({ name, value, from });
  const toml = 'max_update_interval = "2s"\n[pipeline]\npool_threads = 1\n[plugins.csv]\n';
  const cfg = load(dir, toml, {
    rustFlags: [
      flag('--max-update-interval', '100ms'),
      flag('--source-channel-size', 64),
      flag('--normal-worker-threads', 3, 'ALUMET_NORMAL_THREADS'),
      flag('--priority-worker-threads', 2),
    ],
  });
  assert.equal(cfg.pipeline.pool_threads, 3, '--normal-worker-threads sets [pipeline] pool_threads');
  assert.equal(cfg.notes.length, 3, cfg.notes.join('\n'));
  assert.equal(
    cfg.notes[0],
    '--priority-worker-threads has no meaning in alumet-ts because each source of the config runs on a worker thread of its own, and Node.js cannot give a thread realtime priority; the value 2 is ignored',
  );
  assert.match(cfg.notes[1]!, MAX_UPDATE_NOTE);
  assert.match(cfg.notes[1]!, /; the value "100ms" from --max-update-interval is ignored$/);
  assert.match(cfg.notes[2]!, CHANNEL_NOTE);
  assert.match(cfg.notes[2]!, /; the value 64 from --source-channel-size is ignored$/);

  // --relay-out and --relay-in set the relay plugins' addresses, which enables them as a table would.
  const relay = load(dir, '[plugins.csv]\n', { rustFlags: [flag('--relay-out', '127.0.0.1:4000'), flag('--relay-in', '[::1]:4001')] });
  const configOf = (name: string) => relay.plugins.find((p) => p.plugin.name === name)?.config as Record<string, unknown> | undefined;
  assert.equal(configOf('relay-client')?.['relay_server'], '127.0.0.1:4000');
  assert.equal(configOf('relay-server')?.['address'], '[::1]:4001');
  assert.deepEqual(problems(dir, '[plugins.csv]\n', { rustFlags: [flag('--relay-out', 'nowhere')] }), [
    '--relay-out: plugins.relay-client.relay_server: "nowhere": no port; write HOST:PORT or [IPv6]:PORT, e.g. "127.0.0.1:50051" or "[::1]:50051"',
  ]);
  assert.deepEqual(load(dir, '', { rustFlags: [flag('--relay-in', '[::]:50051')], only: ['csv'] }).plugins.map((p) => p.plugin.name), ['csv']);
});

test("the command line takes the Rust agent's options and their environment variables; the option wins", () => {
  const cmd = parseArgs(['--max-update-interval', '1s', 'run', '--source-channel-size=512', '--relay-out', 'h:1', '--relay-in', '[::]:2', '--normal-worker-threads', '4'], {
    ALUMET_NORMAL_THREADS: '2',
    ALUMET_PRIORITY_THREADS: '0',
  });
  assert.equal(cmd.type, 'run');
  assert.deepEqual(cmd.options.rustFlags, [
    { name: '--max-update-interval', value: '1s', from: '--max-update-interval' },
    { name: '--source-channel-size', value: 512, from: '--source-channel-size' },
    { name: '--relay-out', value: 'h:1', from: '--relay-out' },
    { name: '--relay-in', value: '[::]:2', from: '--relay-in' },
    { name: '--normal-worker-threads', value: 4, from: '--normal-worker-threads' },
    { name: '--priority-worker-threads', value: 0, from: 'ALUMET_PRIORITY_THREADS' },
  ]);
  assert.deepEqual(parseArgs([], { ALUMET_NORMAL_THREADS: '2' }).options.rustFlags, [{ name: '--normal-worker-threads', value: 2, from: 'ALUMET_NORMAL_THREADS' }]);
  assert.equal(parseArgs([], {}).options.rustFlags, undefined);

  const bad: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--max-update-interval', '2 s'], {}, /^option --max-update-interval: "2 s" is not a duration/],
    [['--max-update-interval'], {}, /^option --max-update-interval needs a value: --max-update-interval DURATION$/],
    [['--source-channel-size', '0'], {}, /^option --source-channel-size: expected an integer >= 1, got "0"$/],
    [['--source-channel-size', '1e3'], {}, /^option --source-channel-size: expected an integer >= 1, got "1e3"$/],
    [['--normal-worker-threads', '-1'], {}, /^option --normal-worker-threads: expected an integer >= 1, got "-1"$/],
    [['--priority-worker-threads', 'x'], {}, /^option --priority-worker-threads: expected an integer >= 0, got "x"$/],
    [['--relay-out', ''], {}, /^option --relay-out: expected an address/],
    [[], { ALUMET_PRIORITY_THREADS: 'many' }, /^environment variable ALUMET_PRIORITY_THREADS \(for --priority-worker-threads\): expected an integer >= 0, got "many"$/],
    [['--max-update-intervall', '1s'], {}, /^unknown option --max-update-intervall; did you mean --max-update-interval\?$/],
  ];
  for (const [argv, env, message] of bad) {
    assert.throws(
      () => parseArgs(argv, env),
      (e: unknown) => e instanceof UsageError && e.exitCode === 2 && message.test(e.message),
      `${argv.join(' ')} ${JSON.stringify(env)}`,
    );
  }
});

test("the binary: the Rust agent's options validate with their info lines, and a bad one exits 2", async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  writeFileSync(join(dir, 'c.toml'), '[plugins.csv]\n[plugins.rapl]\nenabled = false\n');
  const ok = await runAgentToEnd(
    ['--config', 'c.toml', '--max-update-interval', '500ms', '--source-channel-size', '16', '--normal-worker-threads', '1', 'config', 'validate'],
    { cwd: dir, env: { ALUMET_PRIORITY_THREADS: '1' } },
  );
  assert.equal(ok.code, 0, ok.output);
  for (const line of ['ALUMET_PRIORITY_THREADS has no meaning in alumet-ts', 'max_update_interval has no meaning in alumet-ts', 'source_channel_size has no meaning in alumet-ts']) {
    assert.equal(ok.output.split(line).length, 2, `once: ${line}\n${ok.output}`);
  }
  const bad = await runAgentToEnd(['--config', 'c.toml', '--source-channel-size', 'lots', 'config', 'validate'], { cwd: dir });
  assert.equal(bad.code, 2, bad.output);
  assert.match(bad.output, /^error: option --source-channel-size: expected an integer >= 1, got "lots"\n/);
});
