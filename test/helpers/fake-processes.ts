// Test helper for procfs' per-process sources: a fake procfs mount in a temp dir whose processes the test
// creates, changes and removes, the config every pid-N source shares, and points as comparable rows.
// Main thread.

import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { F64, U64, type Batch, type Timestamp } from '../../src/protocol/batch.js';
import { BatchBuilder } from '../../src/protocol/batch-builder.js';
import type { Source } from '../../src/protocol/element.js';
import type { MetricHandle } from '../../src/protocol/metrics.js';
import type { ProcessCommonConfig } from '../../src/plugins/procfs/process.js';

export const METRICS: ProcessCommonConfig['metrics'] = {
  cpuTime: { id: 1, name: 'cpu_time_delta', type: U64 },
  cpuPercent: { id: 2, name: 'cpu_percent', type: F64 },
  memory: { id: 3, name: 'memory_usage', type: U64 },
};
export const NAMES = new Map<number, string>(Object.values(METRICS).map((m: MetricHandle) => [m.id, m.name]));

export function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface FakeProcess {
  ppid?: number;
  starttime?: number;
  utime?: number;
  stime?: number;
  guest?: number;
  state?: string;
  comm?: string;
  /** Target of the exe link; null for none (a kernel thread). */
  exe?: string | null;
  /** statm in pages: size resident shared. */
  statm?: [number, number, number];
}

/** A fake procfs mount in a temp dir, with an online-CPU file next to it. The test changes it as it goes. */
export function fakeProcesses(t: TestContext, cpus = '0-1') {
  const dir = tempDir(t, 'procfs-processes-');
  const root = join(dir, 'proc');
  mkdirSync(root);
  const online = join(dir, 'online');
  writeFileSync(online, `${cpus}\n`);
  // Entries that are not processes must be ignored.
  writeFileSync(join(root, 'stat'), 'cpu 1 2 3 4\n');
  mkdirSync(join(root, 'self'));
  return {
    root,
    online,
    set(pid: number, p: FakeProcess = {}): void {
      const d = join(root, String(pid));
      mkdirSync(d, { recursive: true });
      const { ppid = 1, starttime = 1000, utime = 0, stime = 0, guest = 0, state = 'S', comm = 'fake', statm = [700, 400, 300] } = p;
      writeFileSync(
        join(d, 'stat'),
        `${pid} (${comm}) ${state} ${ppid} ${pid} ${pid} 0 -1 4194304 0 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 ${starttime} ${statm[0] * 4096} ${statm[1]} ` +
          `18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 ${guest} 0\n`,
      );
      writeFileSync(join(d, 'statm'), `${statm.join(' ')} 5 0 89 0\n`);
      try {
        unlinkSync(join(d, 'exe'));
      } catch {
        // no link yet
      }
      const exe = p.exe === undefined ? `/usr/bin/${comm}` : p.exe;
      if (exe !== null) symlinkSync(exe, join(d, 'exe'));
    },
    remove(pid: number): void {
      rmSync(join(root, String(pid)), { recursive: true, force: true });
    },
  };
}

export function common(root: string, online: string): ProcessCommonConfig {
  return { root, userHz: 100, pageSize: 4096, cpuOnlinePath: online, metrics: METRICS };
}

export interface Row {
  metric: string;
  kind: string;
  value: number | bigint;
}

export function rows(batch: Batch, pid: number, ts?: Timestamp): Row[] {
  return [...batch.points()].map((p) => {
    assert.deepEqual(p.consumer, { kind: 'process', id: String(pid) });
    assert.deepEqual(p.resource, { kind: 'local_machine', id: '' });
    if (ts !== undefined) assert.deepEqual(p.timestamp, ts);
    assert.equal(p.attributes.length, 1);
    assert.equal(p.attributes[0]![0], 'kind');
    return { metric: NAMES.get(p.metric)!, kind: String(p.attributes[0]![1]), value: p.value };
  });
}

export async function poll(source: Source, ts: Timestamp, builder = new BatchBuilder()): Promise<Batch> {
  await source.poll(builder, ts);
  return builder.take();
}

export const at = (sec: number, nsec = 0): Timestamp => ({ sec, nsec });
