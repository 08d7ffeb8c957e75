// Tests of the csv output's rotation: the size keys and their errors; the output in this thread on a real
// file (rotation by size between rows, by age, numbering, max_files, gzip); and the real agent with a fast
// synthetic source and a small max_file_size, whose rows across every file are exactly the points produced.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Problems } from '../../agent/config/schema.js';
import { batchOf, configFor, fakeContext, openOutput, tempDir } from '../../../test/helpers/csv-output.js';
import { balance, rmrf, startAgent, tempDir as agentTempDir, waitFor } from '../../../test/helpers/agent-process.js';
import type { CsvConfig } from './config.js';
import plugin from './index.js';
import { rotatedName } from './rotating-file.js';

const HEADER = 'metric;timestamp;value;resource_kind;resource_id;consumer_kind;consumer_id;b;__late_attributes';

/** The text of a CSV file, gunzipped when its name ends with .gz. */
function textOf(path: string): string {
  const bytes = readFileSync(path);
  return path.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
}

/** Checks that the file starts with `header` and holds only complete rows of as many cells; returns the rows. */
function rowsOf(path: string, header: string): string[] {
  const text = textOf(path);
  assert.ok(text.endsWith('\n'), `${path} ends with a complete line`);
  const [first, ...rows] = text.slice(0, -1).split('\n');
  assert.equal(first, header, `${path} starts with the header`);
  const cells = header.split(';').length;
  for (const row of rows) assert.equal(row.split(';').length, cells, `${path}: a complete row: ${row}`);
  assert.ok(rows.length > 0, `${path} holds rows, not the header alone`);
  return rows;
}

/** The files of an output, oldest first: NAME.<n>.csv from the highest n down to 1, then NAME.csv. */
function filesOldestFirst(path: string, compressed: boolean): string[] {
  const rotated: string[] = [];
  for (let n = 1; existsSync(rotatedName(path, n, compressed)); n++) rotated.unshift(rotatedName(path, n, compressed));
  return [...rotated, path];
}

test('max_file_size reads sizes with a unit or in bytes; bad values name the key and what is valid', () => {
  const cases: [unknown, string | undefined][] = [
    ['1MB', undefined],
    ['500KB', undefined],
    ['2GB', undefined],
    ['64MiB', undefined],
    ['1.5 MB', undefined],
    [2048, undefined],
    [0, undefined],
    ['1 parsec', 'plugins.csv.max_file_size: "1 parsec" is not a size; write "500KB", "1MB", "2GB", "64MiB" or a number of bytes'],
    [-5, 'plugins.csv.max_file_size: -5 is not a size'],
    ['10', 'plugins.csv.max_file_size: "10" is too small; the minimum is 1000 bytes (0 for no limit)'],
    [true, 'plugins.csv.max_file_size: expected a size such as "500KB", "1MB" or a number of bytes, got the boolean true'],
  ];
  for (const [value, expected] of cases) {
    const problems = new Problems();
    plugin.config.parse({ max_file_size: value }, 'plugins.csv', problems);
    if (expected === undefined) assert.deepEqual(problems.list, [], String(value));
    else {
      assert.equal(problems.list.length, 1, `${String(value)}: ${problems.list.join(' | ')}`);
      assert.ok(problems.list[0]!.startsWith(expected), `${problems.list[0]} starts with ${expected}`);
    }
  }
  const problems = new Problems();
  plugin.config.parse({ max_file_age: '1 fortnight', max_files: -1 }, 'plugins.csv', problems);
  assert.equal(problems.list.length, 2, problems.list.join(' | '));
  assert.match(problems.list[0]!, /^plugins\.csv\.max_file_age: "1 fortnight" is not a duration/);
  assert.match(problems.list[1]!, /^plugins\.csv\.max_files: must be >= 0, got -1/);
});

test('rotated names: the number goes before the extension, .gz after it', () => {
  assert.equal(rotatedName('/d/alumet-output.csv', 1, false), '/d/alumet-output.1.csv');
  assert.equal(rotatedName('/d/out.csv', 12, true), '/d/out.12.csv.gz');
  assert.equal(rotatedName('/d/out', 2, false), '/d/out.2');
});

/** A batch of `n` rows whose values count on from `from`, each with attribute b (a header column). */
function rowsBatch(from: number, n: number) {
  return batchOf(Array.from({ length: n }, (_, i) => ({ metric: 2, value: BigInt(from + i), attributes: [['b', 'x'.repeat(20)]] as [string, string][] })));
}

async function writeRows(path: string, overrides: Partial<CsvConfig>, batches: number[]): Promise<number> {
  const out = await openOutput(configFor(path, overrides), fakeContext().ctx);
  let next = 0;
  for (const n of batches) {
    await out.write(rowsBatch(next, n));
    next += n;
  }
  await out.close?.();
  return next;
}

test('a file that reaches max_file_size is rotated between rows; every file starts with the header; nothing is lost', async (t) => {
  const path = join(tempDir(t), 'out.csv');
  // Rows are about 80 bytes: batches of 1 to 300 rows, some bigger than a whole file.
  const total = await writeRows(path, { max_file_size: 2000, max_files: 1000 }, [1, 5, 30, 300, 2, 7, 120, 1, 1, 60]);
  const files = filesOldestFirst(path, false);
  assert.ok(files.length > 10, `rotated into many files: ${files.length}`);
  const values: number[] = [];
  for (const f of files) {
    const rows = rowsOf(f, HEADER);
    values.push(...rows.map((r) => Number(r.split(';')[2])));
    // A file holds at most max_file_size bytes, unless its one row alone is larger.
    assert.ok(statSync(f).size <= 2000 || rows.length === 1, `${f}: ${statSync(f).size} bytes`);
  }
  assert.deepEqual(values, Array.from({ length: total }, (_, i) => i), 'every row once, in order, oldest file first');
});

test('max_files keeps the newest rotated files and deletes the older ones; compress_rotated gzips them', async (t) => {
  const path = join(tempDir(t), 'out.csv');
  const total = await writeRows(path, { max_file_size: '1KB', max_files: 3, compress_rotated: true }, Array(40).fill(5));
  const names = readdirSync(join(path, '..')).sort();
  assert.deepEqual(names, ['out.1.csv.gz', 'out.2.csv.gz', 'out.3.csv.gz', 'out.csv'], 'three rotated files and the current one');
  const values = filesOldestFirst(path, true).flatMap((f) => rowsOf(f, HEADER).map((r) => Number(r.split(';')[2])));
  // The deleted files held the first rows: what is kept is the end of the sequence, without a gap.
  assert.ok(values.length < total, `older rows were deleted: ${values.length} of ${total} kept`);
  assert.deepEqual(values, Array.from({ length: values.length }, (_, i) => total - values.length + i));
});

test('a file older than max_file_age is rotated at the next write', async (t) => {
  const path = join(tempDir(t), 'out.csv');
  const out = await openOutput(configFor(path, { max_file_size: 0, max_file_age: '1s' }), fakeContext().ctx);
  let next = 0;
  await waitFor(
    async () => {
      await out.write(rowsBatch(next++, 1));
      return existsSync(rotatedName(path, 1, false));
    },
    { what: 'a rotation once the file is 1 s old' },
  );
  await out.close?.();
  const values = filesOldestFirst(path, false).flatMap((f) => rowsOf(f, HEADER).map((r) => Number(r.split(';')[2])));
  assert.deepEqual(values, Array.from({ length: next }, (_, i) => i));
});

test('a restarted output appends to the current file and rotates it when it is full', async (t) => {
  const path = join(tempDir(t), 'out.csv');
  writeFileSync(rotatedName(path, 1, false), `${HEADER}\nfrom a previous run\n`);
  await writeRows(path, { max_file_size: 2000 }, [10]);
  const restarted = await openOutput(configFor(path, { max_file_size: 2000 }), fakeContext(undefined, true).ctx);
  await restarted.write(rowsBatch(10, 20));
  await restarted.close?.();
  const files = filesOldestFirst(path, false);
  assert.equal(textOf(files[0]!), `${HEADER}\nfrom a previous run\n`, 'an older rotated file moved up, unchanged');
  const values = files.slice(1).flatMap((f) => rowsOf(f, HEADER).map((r) => Number(r.split(';')[2])));
  assert.deepEqual(values, Array.from({ length: 30 }, (_, i) => i));
});

const AGENT_HEADER = 'metric;timestamp;value;resource_kind;resource_id;consumer_kind;consumer_id;__late_attributes';

/**
 * Runs the agent with a synthetic source of 2000 u64 points a second (values 0, 1, 2, … in order) and the
 * csv output at out.csv with `csvKeys`, until `enough` holds; stops it with SIGTERM and returns its balance.
 */
async function runAgentUntil(t: TestContext, csvKeys: string[], enough: (path: string, log: string) => boolean): Promise<{ path: string; produced: number; written: number }> {
  const dir = agentTempDir('alumet-rot-');
  t.after(() => rmrf(dir));
  const config = ['[plugins.synthetic]', 'poll_interval = "10ms"', 'points_per_poll = 20', 'value_type = "u64"', '[plugins.csv]', 'output_path = "out.csv"', ...csvKeys, ''];
  writeFileSync(join(dir, 'alumet-config.toml'), config.join('\n'));
  const agent = startAgent(['--plugins', 'synthetic,csv', 'run'], { cwd: dir });
  t.after(() => agent.kill('SIGKILL'));
  await agent.waitForLog('agent is ready');
  const path = join(dir, 'out.csv');
  await waitFor(() => enough(path, agent.output()), { timeout: 60_000, what: 'rotations', seen: () => readdirSync(dir).join(' ') });
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0, agent.output().slice(-2000));
  return { path, ...balance(agent.output()) };
}

test('the agent under load: files rotate at max_file_size, and the rows of all files are exactly the points produced', async (t) => {
  const { path, produced, written } = await runAgentUntil(t, ['max_file_size = "20KB"', 'max_files = 1000'], (p) => existsSync(rotatedName(p, 8, false)));
  assert.equal(written, produced);
  const files = filesOldestFirst(path, false);
  const values = files.flatMap((f) => rowsOf(f, AGENT_HEADER).map((r) => Number(r.split(';')[2])));
  assert.deepEqual(values, Array.from({ length: produced }, (_, i) => i), 'every point once, in order, across the files');
  for (const f of files) assert.ok(statSync(f).size <= 20_000, `${f}: ${statSync(f).size} bytes`);
});

test('the agent under load with max_files = 3 and compress_rotated: three readable .gz files, the oldest rows deleted', async (t) => {
  const deletions = (log: string) => log.split('the oldest of 3 rotated files').length - 1;
  const { path, produced, written } = await runAgentUntil(t, ['max_file_size = "20KB"', 'max_files = 3', 'compress_rotated = true'], (_, log) => deletions(log) >= 2);
  // Rows in deleted files were written (the balance counts them), then deleted by design.
  assert.equal(written, produced);
  const dir = join(path, '..');
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('out.')).sort(), ['out.1.csv.gz', 'out.2.csv.gz', 'out.3.csv.gz', 'out.csv']);
  const values = filesOldestFirst(path, true).flatMap((f) => rowsOf(f, AGENT_HEADER).map((r) => Number(r.split(';')[2])));
  assert.ok(values.length < produced, `the oldest rows were deleted: ${values.length} of ${produced} kept`);
  assert.deepEqual(values, Array.from({ length: values.length }, (_, i) => produced - values.length + i), 'the newest rows, without a gap');
});
