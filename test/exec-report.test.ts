// The report of `exec` through the real binary: a busy loop in a grandchild is counted in the tree's CPU
// time, peaks, energy and carbon; `--report FILE` holds the same figures as the text on stderr; a report file that
// cannot be written stops the agent before the child runs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userHz } from '../src/agent/clock-ticks.js';
import { formatReport, type ExecReport } from '../src/agent/exec-report/report.js';
import { rmrf, runAgentToEnd, tempDir } from './helpers/agent-process.js';

/**
 * A busy loop that ends once its shell has used 2 s of CPU (user + system, read from its own stat without
 * a fork), however loaded the machine is. It runs in a grandchild, which only the kernel's accounting of
 * waited-for children sees whole.
 */
function busyFor2CpuSeconds(dir: string): string[] {
  writeFileSync(
    join(dir, 'busy.sh'),
    ['while :; do', '  read -r stat < /proc/$$/stat', '  set -- $stat', `  [ $((\${14} + \${15})) -ge ${2 * userHz()} ] && exit 0`, 'done', ''].join('\n'),
  );
  return ['sh', '-c', 'sh busy.sh; true'];
}

test('exec prints the report of its child’s process tree: CPU time of the busy grandchild, energy and carbon; --report holds the same figures', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const file = join(dir, 'report.json');
  const busy = busyFor2CpuSeconds(dir);
  const r = await runAgentToEnd(['--plugins', 'procfs,energy-estimation-tdp,energy-to-carbon', '--config', 'c.toml', 'exec', '--report', file, ...busy], { cwd: dir });
  assert.equal(r.code, 0, r.output);
  const report = JSON.parse(readFileSync(file, 'utf8')) as ExecReport;
  assert.equal(r.output.split(formatReport(report)).length, 2, `stderr holds the report of ${file} once:\n${r.output.slice(-3000)}`);

  assert.deepEqual(report.command, busy);
  assert.deepEqual([report.exit_code, report.signal], [0, null]);
  const cpu = report.cpu_time_s;
  // 2 s and a few ticks of the shells around it; on a loaded machine, the wall time stretches instead.
  assert.ok(cpu.total >= 1.95 && cpu.total <= 2.5, `CPU time ${cpu.total} s`);
  assert.ok(report.wall_time_s >= 1.95 && report.wall_time_s < 60, `wall time ${report.wall_time_s} s`);
  assert.ok(Math.abs(cpu.user + cpu.system - cpu.total) < 1e-9);
  assert.ok(report.cpu_average_percent > 0 && report.cpu_peak_percent! > 0, `${report.cpu_average_percent} %, peak ${report.cpu_peak_percent} %`);
  assert.ok(report.memory_peak_bytes! > 0);
  assert.equal(report.processes_followed, 2, 'sh and the busy sh');

  const e = report.energy!;
  assert.equal(e.source, 'energy-estimation-tdp');
  assert.ok(e.process_tree_j! > 0 && e.process_tree_j! <= e.machine_j, `${e.process_tree_j} J of ${e.machine_j} J`);
  assert.ok(Math.abs(e.process_tree_wh! * 3600 - e.process_tree_j!) < 1e-9);
  assert.ok(e.busy_cpu_share! > 0 && e.busy_cpu_share! <= 1);
  assert.ok(e.process_tree_g_co2! > 0 && e.machine_g_co2! >= e.process_tree_g_co2!);
  // energy-to-carbon's world average: 475 gCO₂/kWh.
  assert.ok(Math.abs(e.process_tree_g_co2! / (e.process_tree_j! / 3.6e6) - 475) < 1e-6);
});

test('a child that fails still gets its report, and exec exits with its code', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const r = await runAgentToEnd(['--plugins', 'procfs', '--config', 'c.toml', 'exec', 'sh', '-c', 'exit 3'], { cwd: dir });
  assert.equal(r.code, 3, r.output);
  assert.match(r.output, /alumet-agent exec report: sh -c 'exit 3'\n {2}pid \d+, exit code 3, 1 process followed\n {2}wall time +[\d.]+ s\n {2}CPU time +[\d.]+ s \(user [\d.]+ s, system [\d.]+ s\)\n/);
  // No energy source or estimate: no energy lines.
  assert.doesNotMatch(r.output, /\n {2}(energy|machine energy|carbon) /);
});

test('a report file that cannot be written stops the agent before the child runs', async (t) => {
  const dir = tempDir();
  t.after(() => rmrf(dir));
  const r = await runAgentToEnd(['--plugins', 'procfs', '--config', 'c.toml', 'exec', '--report', join(dir, 'missing', 'r.json'), 'touch', 'ran'], { cwd: dir });
  assert.equal(r.code, 1, r.output);
  assert.match(r.output, /error: --report .*missing\/r\.json: cannot write there \(.*missing does not exist\)/);
  assert.equal(existsSync(join(dir, 'ran')), false, 'the child did not run');
});
