// Tests of the per-cgroup source called in this thread on a copy of the fake v2 tree, where the context
// records its warnings: limits, missing files, removed and recreated cgroups, malformed files.
// cgroups.test.ts runs it on the agent's pool threads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import { SourceEnded } from '../../protocol/element.js';
import { METRICS, at, cgroupSource, cpuStat, fakeTree, poll, pressure, rows } from '../../../test/helpers/fake-cgroups.js';


test('cgroup source: unlimited memory and swap are -1', async (t) => {
  const { mount, online } = fakeTree(t);
  const src = await cgroupSource({ dir: join(mount, 'system.slice'), path: '/system.slice', cpuOnlinePath: online, metrics: METRICS });
  const got = rows(await poll(src, at(1)), '/system.slice');
  assert.ok(got.includes('memoryMax -1'), got.join('\n'));
  assert.ok(got.includes('swapMax -1'), got.join('\n'));
  assert.ok(got.includes('pswpin 12') && got.includes('pswpout 34'), got.join('\n'));
});

test('cgroup source: missing files are skipped with one warning per file and thread; the root warns about none of its own', async (t) => {
  const { mount, online } = fakeTree(t);
  const warnings: string[] = [];
  const user = await cgroupSource({ dir: join(mount, 'user.slice'), path: '/user.slice', cpuOnlinePath: online, metrics: METRICS }, warnings);
  await poll(user, at(1));
  writeFileSync(join(mount, 'user.slice', 'cpu.stat'), cpuStat(8000, 4500, 3500));
  assert.deepEqual(rows(await poll(user, at(2)), '/user.slice'), [
    'cpuTime[kind=total] 1000000',
    'cpuPercent[kind=total] 0.05',
    'cpuTime[kind=user] 500000',
    'cpuPercent[kind=user] 0.025',
    'cpuTime[kind=system] 500000',
    'cpuPercent[kind=system] 0.025',
  ]);
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0]!, /cgroup \/user\.slice: no memory\.current, memory\.max, memory\.swap\.current, memory\.swap\.max, memory\.stat, io\.pressure in .*user\.slice; the metrics they feed are not measured/);

  // Another cgroup with the same files missing, on the same thread: no new warning.
  mkdirSync(join(mount, 'user.slice', 'user-1000.slice'));
  writeFileSync(join(mount, 'user.slice', 'user-1000.slice', 'cpu.stat'), cpuStat(1, 1, 0));
  const other = await cgroupSource({ dir: join(mount, 'user.slice', 'user-1000.slice'), path: '/user.slice/user-1000.slice', cpuOnlinePath: online, metrics: METRICS }, warnings);
  await poll(other, at(1));
  assert.equal(warnings.length, 1, warnings.join('\n'));

  const root = await cgroupSource({ dir: mount, path: '/', cpuOnlinePath: online, metrics: METRICS }, warnings);
  const got = rows(await poll(root, at(1)), '/');
  assert.deepEqual(got, ['anonymous 734003200', 'file 1610612736', 'kernelStack 8388608', 'pagetables 20971520', 'slabReclaimable 52428800', 'pswpin 0', 'pswpout 0']);
  assert.equal(warnings.length, 1, warnings.join('\n'));
});

test('cgroup source: a removed cgroup ends the source quietly; a recreated one restarts its counters from 0', async (t) => {
  const { mount, online } = fakeTree(t);
  const dir = join(mount, 'system.slice', 'cron.service');
  const src = await cgroupSource({ dir, path: '/system.slice/cron.service', cpuOnlinePath: online, metrics: METRICS });
  await poll(src, at(1));
  // Removed and created again between two polls: the counters start over.
  writeFileSync(join(dir, 'cpu.stat'), cpuStat(40, 30, 10));
  writeFileSync(join(dir, 'io.pressure'), pressure(0, 0));
  const got = rows(await poll(src, at(2)), '/system.slice/cron.service');
  assert.ok(got.includes('cpuTime[kind=total] 40000'), got.join('\n'));
  assert.ok(got.includes('ioSome 0'), got.join('\n'));

  rmSync(dir, { recursive: true });
  await assert.rejects(async () => src.poll(new BatchBuilder(), at(3)), (e: Error) => e instanceof SourceEnded && /cgroup \/system\.slice\/cron\.service was removed/.test(e.message));
});

test('cgroup source: a malformed file fails the poll with its path', async (t) => {
  const { mount, online } = fakeTree(t);
  const dir = join(mount, 'system.slice', 'cron.service');
  writeFileSync(join(dir, 'memory.max'), 'lots\n');
  const src = await cgroupSource({ dir, path: '/system.slice/cron.service', cpuOnlinePath: online, metrics: METRICS });
  await assert.rejects(async () => src.poll(new BatchBuilder(), at(1)), /cron\.service\/memory\.max: limit \(a number of bytes or "max"\): expected an unsigned integer, got "lots"/);
});
