// Test helper for the cgroups plugin's tests: a private copy of its fake v2 hierarchy (testdata/v2) that the
// test changes, metric handles for its sources, the per-cgroup source called in the test's own thread, and
// points as comparable rows. Main thread.

import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { F64, U64, type Batch, type Timestamp } from '../../src/protocol/batch.js';
import { BatchBuilder } from '../../src/protocol/batch-builder.js';
import type { Source } from '../../src/protocol/element.js';
import type { MetricHandle } from '../../src/protocol/metrics.js';
import cgroupModule, { type CgroupMetrics, type CgroupSourceConfig } from '../../src/plugins/cgroups/cgroup.js';
import { REPO_ROOT } from './agent-process.js';
import { fakeContext } from './element-context.js';

export const CGROUPS_TESTDATA = join(REPO_ROOT, 'src/plugins/cgroups/testdata');
const TESTDATA = CGROUPS_TESTDATA;

const NAMES = [
  'cpuTime',
  'cpuPercent',
  'memoryUsage',
  'memoryMax',
  'swapMax',
  'swapCurrent',
  'anonymous',
  'file',
  'kernelStack',
  'pagetables',
  'slabReclaimable',
  'pswpin',
  'pswpout',
  'ioSome',
  'ioFull',
] as const;
const F64_METRICS = new Set(['cpuPercent', 'memoryMax', 'swapMax']);
export const METRICS = Object.fromEntries(NAMES.map((n, i) => [n, { id: i + 1, name: n, type: F64_METRICS.has(n) ? F64 : U64 } satisfies MetricHandle])) as unknown as CgroupMetrics;
const NAME_OF = new Map<number, string>(Object.values(METRICS).map((m) => [m.id, m.name]));

export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cgroups-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A private copy of testdata/v2 (mounted at `<tmp>/cgroup`), and an online-CPU file with 2 CPUs. */
export function fakeTree(t: TestContext): { dir: string; mount: string; online: string } {
  const dir = tempDir(t);
  const mount = join(dir, 'cgroup');
  cpSync(join(TESTDATA, 'v2'), mount, { recursive: true });
  const online = join(dir, 'online');
  writeFileSync(online, '0-1\n');
  return { dir, mount, online };
}

export function cpuStat(usage: number, user: number, system: number): string {
  return `usage_usec ${usage}\nuser_usec ${user}\nsystem_usec ${system}\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n`;
}
export const pressure = (some: number, full: number) => `some avg10=0.00 avg60=0.00 avg300=0.00 total=${some}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=${full}\n`;

/** Points as `metric kind=value` strings (kind only for cpu metrics), checking consumer and resource. */
export function rows(batch: Batch, path: string, ts?: Timestamp): string[] {
  return [...batch.points()].map((p) => {
    assert.deepEqual(p.consumer, { kind: 'cgroup', id: path });
    assert.deepEqual(p.resource, { kind: 'local_machine', id: '' });
    if (ts !== undefined) assert.deepEqual(p.timestamp, ts);
    const kind = p.attributes.length === 0 ? '' : `[${p.attributes.map(([k, v]) => `${k}=${String(v)}`).join(',')}]`;
    return `${NAME_OF.get(p.metric)}${kind} ${String(p.value)}`;
  });
}

export async function poll(source: Source, ts: Timestamp): Promise<Batch> {
  const b = new BatchBuilder();
  await source.poll(b, ts);
  return b.take();
}

export async function cgroupSource(config: CgroupSourceConfig, warnings: string[] = []): Promise<Source> {
  const log = { error() {}, info() {}, debug() {}, warn: (_o: unknown, m?: string) => void warnings.push(m ?? '') };
  return cgroupModule.create(config, fakeContext({ name: `source/cgroups/${config.path}`, log }));
}

export const at = (sec: number, nsec = 0): Timestamp => ({ sec, nsec });

export async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
