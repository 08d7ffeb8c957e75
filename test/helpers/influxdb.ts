// Test helper: a real InfluxDB 1.x server (Debian's `influxdb` package, `influxd`; .ci/run installs it) of the
// test's own, its HTTP API and its RPC service each on a free loopback port, its meta, data and WAL in a
// temporary directory, stopped by its PID after the test. It can be stopped and started again on the same
// data and ports (outage tests), and queried over /query with every number read exactly (nanosecond
// timestamps and 64-bit integers do not fit a double). Main thread.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { rmrf, tempDir, waitFor } from './agent-process.js';
import { freePort } from './prometheus.js';

/** A cell of a query result: JSON numbers as bigint when integral, number otherwise. */
export type Cell = string | number | bigint | boolean | null;

/** One point as `SELECT * … GROUP BY *` returns it. */
export interface StoredPoint {
  measurement: string;
  tags: Record<string, string>;
  /** Nanoseconds since the epoch. */
  time: bigint;
  /** Every field of the point (those it has no value for left out). */
  fields: Record<string, Cell>;
}

export interface InfluxServer {
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly base: string;
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM, then SIGKILL after 30 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data; resolves once /ping answers. */
  start(): Promise<void>;
  /** Runs InfluxQL statements through POST /query; throws on an error of the server or of a statement. */
  query(q: string, db?: string): Promise<Array<{ statement_id: number; series?: Series[] }>>;
  createDatabase(name: string): Promise<void>;
  /** Every point of `db`, measurement by measurement, grouped by series (`GROUP BY *`), in time order within each. */
  points(db: string): Promise<StoredPoint[]>;
  /** Waits (60 s by default) until the points of `db` satisfy `done`. */
  waitForPoints(db: string, what: string, done: (points: StoredPoint[]) => boolean, timeoutMs?: number): Promise<StoredPoint[]>;
  /** What influxd said on stderr lately. */
  log(): string;
}

interface Series {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: Cell[][];
}

export interface InfluxOptions {
  /** Turn authentication on, with this admin user created at start. */
  admin?: { username: string; password: string };
}

/** An InfluxQL identifier, quoted. */
function identifier(name: string): string {
  return `"${name.replace(/["\\]/g, '\\$&')}"`;
}

/** Whether the influxd binary is installed. */
export function influxdInstalled(): boolean {
  return spawnSync('influxd', ['version'], { stdio: 'ignore' }).status === 0;
}

/**
 * JSON with every number kept exact: each number outside a string becomes a bigint (integral) or a number,
 * read from its own text, so 1764424835123456789 stays what the server wrote.
 */
export function parseExactJson(text: string): unknown {
  const marked = text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (token) => (token.startsWith('"') ? token : `{"$number":"${token}"}`));
  return JSON.parse(marked, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, '$number')) return v;
    const n = (v as { $number: string }).$number;
    return /^-?\d+$/.test(n) ? BigInt(n) : Number(n);
  });
}

export async function startInfluxdb(t: TestContext, opts: InfluxOptions = {}): Promise<InfluxServer> {
  assert.ok(influxdInstalled(), 'the influxd binary is on PATH (Debian package "influxdb"; .ci/run installs it)');
  const dir = tempDir('alumet-influxdb-');
  t.after(() => rmrf(dir));
  const port = await freePort();
  const rpcPort = await freePort();
  const config = join(dir, 'influxdb.conf');
  writeFileSync(
    config,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${join(dir, 'meta')}"`,
      '[data]',
      `  dir = "${join(dir, 'data')}"`,
      `  wal-dir = "${join(dir, 'wal')}"`,
      '  query-log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[continuous_queries]',
      '  enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${port}"`,
      '  log-enabled = false',
      `  auth-enabled = ${opts.admin !== undefined}`,
      '[logging]',
      '  level = "warn"',
      '',
    ].join('\n'),
  );
  const base = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = '';
  const admin = opts.admin;
  const auth: Record<string, string> = admin === undefined ? {} : { Authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}` };

  const query = async (q: string, db?: string): Promise<Array<{ statement_id: number; series?: Series[] }>> => {
    const body = new URLSearchParams({ q, epoch: 'ns', ...(db === undefined ? {} : { db }) });
    const res = await fetch(`${base}/query`, { method: 'POST', headers: auth, body });
    const answer = parseExactJson(await res.text()) as { error?: string; results?: Array<{ statement_id: number; error?: string; series?: Series[] }> };
    const failed = answer.error ?? answer.results?.find((r) => r.error !== undefined)?.error;
    if (failed !== undefined || !res.ok) throw new Error(`${q}: HTTP ${res.status}: ${failed ?? 'no results'}`);
    return answer.results ?? [];
  };

  const start = async (): Promise<void> => {
    assert.equal(child, undefined, 'influxd is not running');
    stderr = '';
    const proc = spawn('influxd', ['-config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    void exited.then(() => {
      if (child === proc) child = undefined;
    });
    await waitFor(
      async () => {
        if (child !== proc) throw new Error(`influxd exited: ${stderr}`);
        const res = await fetch(`${base}/ping`).catch(() => undefined);
        return res?.status === 204;
      },
      { what: `influxd answering /ping on ${base}`, timeout: 60_000, seen: () => stderr },
    );
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };
  t.after(stop);
  await start();
  // With authentication on and no user yet, InfluxDB takes the creation of the first admin without credentials.
  if (admin !== undefined) await query(`CREATE USER "${admin.username}" WITH PASSWORD '${admin.password}' WITH ALL PRIVILEGES`);

  const points = async (db: string): Promise<StoredPoint[]> => {
    const [shown] = await query('SHOW MEASUREMENTS', db);
    const names = (shown?.series?.[0]?.values ?? []).map((row) => row[0] as string);
    // One query per measurement: a query over several makes a field integer in one and float in another a float.
    const results = await Promise.all(names.map((m) => query(`SELECT * FROM ${identifier(m)} GROUP BY *`, db)));
    const out: StoredPoint[] = [];
    for (const s of results.flatMap(([r]) => r?.series ?? [])) {
      for (const row of s.values) {
        const fields: Record<string, Cell> = {};
        s.columns.forEach((c, i) => {
          if (c !== 'time' && row[i] !== null) fields[c] = row[i]!;
        });
        // GROUP BY * names every tag key of the query, '' where a series has none: InfluxDB stores no empty tag.
        const tags = Object.fromEntries(Object.entries(s.tags ?? {}).filter(([, v]) => v !== ''));
        out.push({ measurement: s.name, tags, time: row[s.columns.indexOf('time')] as bigint, fields });
      }
    }
    return out;
  };
  return {
    port,
    base,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    query,
    async createDatabase(name) {
      await query(`CREATE DATABASE "${name}"`);
    },
    points,
    waitForPoints(db, what, done, timeoutMs = 60_000) {
      let last: StoredPoint[] | string = [];
      return waitFor(
        async () => {
          try {
            last = await points(db);
          } catch (e) {
            last = (e as Error).message;
            return undefined;
          }
          return done(last) ? last : undefined;
        },
        { what, timeout: timeoutMs, seen: () => `${typeof last === 'string' ? last : `${last.length} points`}; influxd says: ${stderr.slice(-1000) || 'nothing'}` },
      );
    },
    log: () => stderr,
  };
}
