// Tests of the rapl plugin: its keys; the plugin run by the agent in a real worker on a fake powercap tree
// (test/helpers/fake-powercap.ts) whose counters the test moves on between polls, wrap-around included;
// and the start-up errors: no RAPL, a zone it does not know, counters it may not read (through the real
// binary, as another user when the tests run as root, since root reads any file).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { F64 } from '../../protocol/batch.js';
import { unitUniqueName } from '../../protocol/units.js';
import { Problems } from '../../agent/config/schema.js';
import { generateDefaultConfig } from '../../agent/config/default-config.js';
import { rmrf, runAgentToEnd, tempDir } from '../../../test/helpers/agent-process.js';
import { fakePowercap, type FakePowercap } from '../../../test/helpers/fake-powercap.js';
import { startPlugin, type RecordedPoint } from '../../../test/helpers/plugin-harness.js';
import rapl from './index.js';
import { DEFAULT_POWERCAP_ROOT } from './config.js';
import { raplDir } from './powercap.js';

const SOURCE = 'source/rapl/in';
const INFO = 30;

function parse(input: unknown): string[] {
  const problems = new Problems();
  rapl.config.parse(input, 'plugins.rapl', problems);
  return problems.list;
}

test("rapl config: Alumet's keys and defaults plus powercap_root; the Rust agent's table loads; problems name the key", () => {
  assert.deepEqual(rapl.config.defaultValue(), { poll_interval: '1s', flush_interval: '5s', no_perf_events: false, powercap_root: '/sys/devices/virtual/powercap' });
  assert.deepEqual(parse({ poll_interval: '1s', flush_interval: '5s', no_perf_events: false }), []);
  const cases: Array<[unknown, RegExp]> = [
    [{ poll_intervall: '1s' }, /^plugins\.rapl\.poll_intervall: unknown key; did you mean "poll_interval"\?/],
    [{ no_perf_event: true }, /^plugins\.rapl\.no_perf_event: unknown key; did you mean "no_perf_events"\?/],
    [{ flush_interval: 5 }, /^plugins\.rapl\.flush_interval: expected a duration string/],
    [{ poll_interval: '10us' }, /^plugins\.rapl\.poll_interval: "10us" is too short; the minimum is 100us/],
    [{ powercap_root: '' }, /^plugins\.rapl\.powercap_root: must not be empty/],
  ];
  for (const [input, message] of cases) {
    const problems = parse(input);
    assert.equal(problems.length, 1, `${JSON.stringify(input)} → ${problems.join(' | ')}`);
    assert.match(problems[0]!, message);
  }
});

/** Each zone's move between two polls in µJ, and the joules the source must report for it. */
const ROUND_1: ReadonlyArray<[string, bigint]> = [
  ['intel-rapl:0', 12_500_000n],
  ['intel-rapl:0/intel-rapl:0:0', 7_250_000n],
  ['intel-rapl:0/intel-rapl:0:1', 250_000n],
  ['intel-rapl:0/intel-rapl:0:2', 3_500_000n], // starts 1 J below its range: wraps
  ['intel-rapl:1', 20_000_000n],
  ['intel-rapl:1/intel-rapl:1:0', 10_500_000n],
  ['intel-rapl:1/intel-rapl:1:1', 750_000n],
  ['intel-rapl:1/intel-rapl:1:2', 2_125_000n],
  ['intel-rapl:2', 45_000_000n],
];

const advanceAll = (powercap: FakePowercap, moves: ReadonlyArray<[string, bigint]>): void => {
  for (const [path, uj] of moves) powercap.advance(path, uj);
};

/** resource kind, resource id, consumer kind, domain, joules. */
const shown = (points: RecordedPoint[]) =>
  points.map((p) => {
    assert.equal(p.metric, 'rapl_consumed_energy');
    assert.equal(p.type, 'f64');
    return [p.resource.kind, p.resource.id, p.consumer.kind, p.attributes['domain'], p.value];
  });

test('rapl start: one joules point per zone and one total per domain from the second poll on, wrap-around included', async (t) => {
  const powercap = fakePowercap(t);
  const dram0 = 'intel-rapl:0/intel-rapl:0:2';
  const dram0Range = powercap.zones.find((z) => z.path === dram0)!.maxEnergyUj;
  powercap.advance(dram0, dram0Range - powercap.energy(dram0) - 1_000_000n);
  const run = await startPlugin(t, rapl, { config: { poll_interval: '1h', powercap_root: powercap.root } });

  const metric = run.agent.registry.byName('rapl_consumed_energy');
  assert.ok(metric);
  assert.deepEqual([metric.type, unitUniqueName(metric.unit), metric.description, metric.delta], [F64, 'J', 'Energy consumed since the previous measurement, as reported by RAPL.', true]);
  assert.deepEqual(run.elements().map((e) => e.name), [SOURCE, 'output/recorder/recorder']);
  const info = run.logs.filter((l) => l.level === INFO).map((l) => l.msg);
  assert.equal(info.filter((m) => /reads RAPL through powercap only: perf_events needs native code/.test(m)).length, 1, info.join('\n'));
  assert.ok(info.includes('RAPL zones: package-0 (package), core (pp0), uncore (pp1), dram (dram), package-1 (package), core (pp0), uncore (pp1), dram (dram), psys (platform)'), info.join('\n'));

  // The first poll (at start) is the baseline of every counter: nothing to report yet.
  await run.waitForElement(SOURCE, 'the first poll', (e) => e.counters['polls'] === 1);
  assert.equal(run.element(SOURCE).counters['points_out'], 0);

  advanceAll(powercap, ROUND_1);
  await run.trigger(SOURCE);
  await run.waitForPoints('the second poll', (points) => points.length === 14);
  assert.equal(powercap.energy(dram0), 2_499_999n, 'the dram counter went past its range and started again from 0');

  // A second round: every zone 1 J more, the wrapped dram counter now an ordinary difference.
  advanceAll(powercap, ROUND_1.map(([path]) => [path, 1_000_000n]));
  await run.trigger(SOURCE);
  await run.waitForPoints('the third poll', (points) => points.length === 28);
  const points = await run.stop();
  assert.deepEqual(shown(points.slice(0, 14)), [
    ['cpu_package', '0', 'local_machine', 'package', 12.5],
    ['cpu_package', '0', 'local_machine', 'pp0', 7.25],
    ['cpu_package', '0', 'local_machine', 'pp1', 0.25],
    ['dram', '0', 'local_machine', 'dram', 3.5],
    ['cpu_package', '1', 'local_machine', 'package', 20],
    ['cpu_package', '1', 'local_machine', 'pp0', 10.5],
    ['cpu_package', '1', 'local_machine', 'pp1', 0.75],
    ['dram', '1', 'local_machine', 'dram', 2.125],
    ['local_machine', '', 'local_machine', 'platform', 45],
    ['local_machine', '', 'local_machine', 'package_total', 32.5],
    ['local_machine', '', 'local_machine', 'pp0_total', 17.75],
    ['local_machine', '', 'local_machine', 'pp1_total', 1],
    ['local_machine', '', 'local_machine', 'dram_total', 5.625],
    ['local_machine', '', 'local_machine', 'platform_total', 45],
  ]);
  assert.deepEqual(
    shown(points.slice(14)).map((p) => [p[3], p[4]]),
    [['package', 1], ['pp0', 1], ['pp1', 1], ['dram', 1], ['package', 1], ['pp0', 1], ['pp1', 1], ['dram', 1], ['platform', 1],
      ['package_total', 2], ['pp0_total', 2], ['pp1_total', 2], ['dram_total', 2], ['platform_total', 1]],
  );
  // Every point of a poll has the poll's timestamp.
  assert.equal(new Set(points.slice(0, 14).map((p) => `${p.timestamp.sec}.${p.timestamp.nsec}`)).size, 1);
});

test('a paused rapl source forgets its counters: the energy used while paused is in no point', async (t) => {
  const powercap = fakePowercap(t, [{ path: 'intel-rapl:0', name: 'package-0', maxEnergyUj: 262143328850n, energyUj: 1_000_000n }]);
  const run = await startPlugin(t, rapl, { config: { poll_interval: '1h', no_perf_events: true, powercap_root: powercap.root } });
  assert.ok(!run.logs.some((l) => l.msg.includes('perf_events')), 'no_perf_events = true: no line about perf_events');
  await run.waitForElement(SOURCE, 'the first poll', (e) => e.counters['polls'] === 1);
  powercap.advance('intel-rapl:0', 2_000_000n);
  await run.trigger(SOURCE);
  await run.waitForPoints('the 2 J of the second poll', (points) => points.length === 2);

  await run.control([SOURCE], { type: 'pause' });
  powercap.advance('intel-rapl:0', 99_000_000n);
  await run.control([SOURCE], { type: 'resume' });
  // Whether or not resuming polls at once, the first poll after it is a new baseline.
  await run.trigger(SOURCE);
  const polls = run.element(SOURCE).counters['polls']!;
  powercap.advance('intel-rapl:0', 3_000_000n);
  await run.trigger(SOURCE);
  await run.waitForElement(SOURCE, 'the poll after the baseline', (e) => e.counters['polls']! > polls);
  await run.waitForPoints('the 3 J after the pause', (points) => points.some((p) => p.value === 3));
  const points = await run.stop();
  // A poll right after the new baseline (resuming may poll at once) reports the 0 J since.
  assert.deepEqual(
    points.filter((p) => p.attributes['domain'] === 'package' && p.value !== 0).map((p) => p.value),
    [2, 3],
  );
});

test('no RAPL: the start fails with one error naming the directory looked at', async (t) => {
  const dir = tempDir('no-rapl-');
  t.after(() => rmrf(dir));
  await assert.rejects(
    startPlugin(t, rapl, { config: { powercap_root: dir } }),
    (e: Error) => {
      assert.equal(
        e.message,
        `plugin rapl v0.1.0 failed to start: ${join(dir, 'intel-rapl')} does not exist: this machine exposes no RAPL energy counters through powercap ` +
          '(virtual machines usually have none; on Intel and AMD hosts the kernel module intel_rapl_msr provides them); ' +
          'disable the plugin ([plugins.rapl] enabled = false) or set plugins.rapl.powercap_root',
      );
      return true;
    },
  );
});

test('a zone the plugin does not know, or a counter that is no number, stops the start naming the file', async (t) => {
  const cases: Array<[(p: FakePowercap) => void, (p: FakePowercap) => RegExp]> = [
    [(p) => writeFileSync(join(p.dir, 'intel-rapl:2', 'name'), 'gpu\n'), (p) => new RegExp(`${join(p.dir, 'intel-rapl:2', 'name')}: unknown RAPL zone "gpu"; expected package-N, core, uncore, dram or psys$`)],
    [(p) => writeFileSync(join(p.dir, 'intel-rapl:1', 'name'), 'package-x\n'), (p) => new RegExp(`${join(p.dir, 'intel-rapl:1', 'name')}: zone name "package-x" has no package number`)],
    [
      (p) => writeFileSync(join(p.dir, 'intel-rapl:0', 'max_energy_range_uj'), 'lots\n'),
      (p) => new RegExp(`${join(p.dir, 'intel-rapl:0', 'max_energy_range_uj')}: expected a counter \\(an unsigned 64-bit integer\\), got "lots"$`),
    ],
    [(p) => rmrf(p.energyFile('intel-rapl:0/intel-rapl:0:1')), (p) => new RegExp(`${p.energyFile('intel-rapl:0/intel-rapl:0:1')} does not exist`)],
  ];
  for (const [damage, message] of cases) {
    const powercap = fakePowercap(t);
    damage(powercap);
    await assert.rejects(startPlugin(t, rapl, { config: { powercap_root: powercap.root } }), message(powercap));
  }
});

test('counters the agent may not read stop the start, naming the file, with the remedies in the log', async (t) => {
  const powercap = fakePowercap(t);
  const locked = powercap.energyFile('intel-rapl:1/intel-rapl:1:2');
  // As the kernel has it since Linux 5.10, readable by its owner only. Root reads any file, so a test run as
  // root gives the file to nobody and runs the agent without the capabilities that bypass file modes; any
  // other user is kept out by mode 000.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(locked, 65534, 65534);
  chmodSync(locked, asRoot ? 0o400 : 0o000);
  const dir = tempDir('rapl-eacces-');
  t.after(() => rmrf(dir));
  writeFileSync(join(dir, 'c.toml'), stringify({ plugins: { rapl: { powercap_root: powercap.root } } }));
  const { code, output } = await runAgentToEnd(['--config', 'c.toml', '--no-default-config', 'run'], { cwd: dir, withoutFileCapabilities: asRoot });
  assert.equal(code, 1, output);
  assert.ok(
    output.endsWith(
      `error: plugin rapl v0.1.0 failed to start: cannot read ${locked}: permission denied (on Linux 5.10 and later the RAPL energy counters are readable by root only); ` +
        'run the agent as root or make the counters readable (the commands are in the log line above, and in the rapl README)\n',
    ),
    output,
  );
  const remedies = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .filter((l) => l.level === 50);
  assert.equal(remedies.length, 1, output);
  const text = remedies[0]!.msg;
  assert.ok(text.startsWith(`The agent cannot read the RAPL energy counters under ${powercap.dir}: on Linux 5.10 and later, energy_uj is readable by root only.`), text);
  assert.ok(text.includes(`sudo chmod a+r ${powercap.dir}/intel-rapl:*/energy_uj ${powercap.dir}/intel-rapl:*/intel-rapl:*/energy_uj`), text);
  assert.ok(text.includes('ACTION=="add", SUBSYSTEM=="powercap", RUN+="/bin/chmod a+r /sys%p/energy_uj"'), text);
});

test('a generated config writes rapl disabled, with a comment saying why', () => {
  const text = generateDefaultConfig([rapl]);
  const dir = raplDir(DEFAULT_POWERCAP_ROOT);
  const note = rapl.disabledNote!();
  assert.ok(note.includes(dir), note);
  assert.match(note, existsSync(dir) ? /^rapl is disabled by default: it reads the RAPL energy counters under / : /^rapl is disabled: this machine has no RAPL energy counters /);
  assert.ok(text.includes(`${note.split('\n').map((l) => `# ${l}`).join('\n')}\n[plugins.rapl]\nenabled = false\n`), text);
  // Enabled by name (`config regen --plugins rapl`), it needs no excuse.
  assert.ok(!generateDefaultConfig([rapl], ['rapl']).includes(note.split('\n')[0]!));
});
