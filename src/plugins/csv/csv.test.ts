// Tests of the csv plugin: its keys, defaults and checks; the plugin run by the agent behind a synthetic
// source in a real worker thread (plugin harness); and the output's file handling in this thread (truncate
// only once open, append after a restart, buffering, unknown metrics, a path that cannot be opened).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { U64, type AttrValue } from '../../protocol/batch.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import { Problems } from '../../agent/config/schema.js';
import { startPlugin } from '../../../test/helpers/plugin-harness.js';
import { METRICS, TS, batchOf, configFor, fakeContext, openOutput, tempDir } from '../../../test/helpers/csv-output.js';
import synthetic from '../synthetic/index.js';
import type { CsvConfig } from './config.js';
import plugin from './index.js';
import outputModule from './output.js';

test('the plugin has Alumet’s keys and defaults', () => {
  assert.equal(plugin.name, 'csv');
  assert.deepEqual(plugin.config.defaultValue(), {
    output_path: 'alumet-output.csv',
    force_flush: true,
    append_unit_to_metric_name: true,
    use_unit_display_name: true,
    csv_delimiter: ';',
    csv_late_delimiter: ',',
    max_file_size: '100MB',
    max_files: 10,
    compress_rotated: false,
  });
  // The element's config type and the schema agree (checked by the compiler).
  const typed: CsvConfig = plugin.config.defaultValue();
  assert.equal(typed.output_path, 'alumet-output.csv');
});

test('config checks: delimiters are single characters that keep the file readable', () => {
  const cases: [Partial<CsvConfig>, string[]][] = [
    [{}, []],
    [{ csv_delimiter: ',', csv_late_delimiter: '|' }, []],
    [{ csv_delimiter: '\t' }, []],
    [{ csv_delimiter: '→' }, []],
    [{ csv_delimiter: '' }, ['csv_delimiter: must be exactly one character, got ""']],
    [{ csv_delimiter: ';;' }, ['csv_delimiter: must be exactly one character, got ";;"']],
    [{ csv_delimiter: '"' }, ['csv_delimiter: "\\"" cannot separate cells']],
    [{ csv_delimiter: '\n' }, ['csv_delimiter: "\\n" cannot separate cells']],
    [{ csv_late_delimiter: ', ' }, ['csv_late_delimiter: must be exactly one character, got ", "']],
    [{ csv_late_delimiter: '=' }, ['csv_late_delimiter: "=" would make the k=v pairs unreadable']],
    [{ csv_delimiter: 'ab', csv_late_delimiter: '' }, ['csv_delimiter: must be', 'csv_late_delimiter: must be']],
  ];
  for (const [overrides, expected] of cases) {
    const problems = new Problems();
    plugin.check!(configFor('x.csv', overrides), problems);
    assert.equal(problems.list.length, expected.length, `${JSON.stringify(overrides)}: ${problems.list.join(' | ')}`);
    expected.forEach((start, i) => assert.ok(problems.list[i]!.startsWith(start), `${problems.list[i]} starts with ${start}`));
  }
});

test('an unknown key is refused with a suggestion', () => {
  const problems = new Problems();
  plugin.config.parse({ output_pth: 'x.csv' }, 'plugins.csv', problems);
  assert.equal(problems.list.length, 1);
  assert.match(problems.list[0]!, /^plugins\.csv\.output_pth: unknown key; did you mean "output_path"\?/);
});

test('the agent runs one output, csv, which claims output_path and writes every point there', async (t) => {
  const run = await startPlugin(t, plugin, {
    config: (dir) => ({ output_path: join(dir, 'out.csv') }),
    with: [{ plugin: synthetic, config: { points_per_poll: 3, attributes: 1, poll_interval: '1h' } }],
  });
  const path = join(run.dir, 'out.csv');
  assert.deepEqual(
    run.elements().filter((e) => e.kind === 'output').map((e) => e.name),
    ['output/csv/csv', 'output/recorder/recorder'],
  );
  assert.ok(existsSync(`${path}.lock`), 'the file is claimed while the agent runs');
  const rows = () => (existsSync(path) ? readFileSync(path, 'utf8').trimEnd().split('\n').slice(1) : []);
  await run.waitForPoints('the first poll in the file', () => rows().length === 3);
  await run.trigger('source/synthetic/synthetic-0');
  await run.waitForPoints('the second poll in the file', () => rows().length === 6);
  const points = await run.stop();
  assert.equal(readFileSync(path, 'utf8').split('\n')[0], 'metric;timestamp;value;resource_kind;resource_id;consumer_kind;consumer_id;attr_0;__late_attributes');
  assert.deepEqual(
    rows().map((r) => r.split(';')[2]),
    points.map((p) => String(p.value)),
  );
  assert.equal(run.element('output/csv/csv').counters['points_in'], 6);
  assert.equal(existsSync(`${path}.lock`), false, 'the claim ends with the agent');
});

test('create leaves the file alone; open truncates it; with force_flush each batch is on disk when write returns', async (t) => {
  const path = join(tempDir(t), 'out.csv');
  const old = 'old content that must go\n'.repeat(100);
  writeFileSync(path, old);
  const out = await outputModule.create(configFor(path), fakeContext().ctx);
  await assert.rejects(async () => out.write(batchOf([{ metric: 2, value: 0n }])), /is not open for writing/);
  await out.close?.();
  assert.equal(readFileSync(path, 'utf8'), old, 'an output closed before it opened changed nothing');
  await out.open?.();
  assert.equal(readFileSync(path, 'utf8'), '');
  await out.write(batchOf([{ metric: 2, value: 1n }]));
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 3, 'header and one row');
  await out.write(batchOf([{ metric: 2, value: 2n }, { metric: 2, value: 3n }]));
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 5);
  await out.close?.();
  await out.close?.(); // twice is safe
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 5);
  await assert.rejects(async () => out.write(batchOf([{ metric: 2, value: 4n }])), /is not open for writing/);
});

test('a restarted output appends under the existing header instead of truncating the file', async (t) => {
  const path = join(tempDir(t), 'out.csv');
  const first = await openOutput(configFor(path), fakeContext().ctx);
  await first.write(batchOf([{ metric: 2, value: 1n, attributes: [['b', 'x']] }]));
  await first.close?.();
  const restarted = await openOutput(configFor(path), fakeContext(METRICS, true).ctx);
  await restarted.write(batchOf([{ metric: 2, value: 2n, attributes: [['b', 'y'], ['c', 'z']] }]));
  await restarted.close?.();
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 3, 'one header and two rows');
  assert.ok(lines[0]!.endsWith(';b;__late_attributes'), lines[0]);
  assert.ok(lines[2]!.endsWith(';y;c=z'), 'the second row uses the first header and puts new keys in the late column');
});

test('without force_flush rows are buffered until about 1 MiB, and close writes the rest', async (t) => {
  const path = join(tempDir(t), 'out.csv');
  const out = await openOutput(configFor(path, { force_flush: false }), fakeContext().ctx);
  await out.write(batchOf([{ metric: 2, value: 1n }]));
  assert.equal(readFileSync(path, 'utf8'), '', 'a small batch stays in memory');
  const big = batchOf(Array.from({ length: 20000 }, (_, i) => ({ metric: 0, value: BigInt(i), attributes: [['pad', 'x'.repeat(40)]] as [string, AttrValue][] })));
  await out.write(big);
  const flushed = readFileSync(path, 'utf8');
  assert.ok(flushed.length > 1 << 20, `over 1 MiB reached the file (${flushed.length} bytes)`);
  await out.close?.();
  const rows = readFileSync(path, 'utf8').trimEnd().split('\n');
  assert.equal(rows.length, 1 + 1 + 20000);
  assert.equal(rows.at(-1)!.split(';')[2], '19999');
});

test('a metric missing from the table is written as unknown_metric_ID with one warning', async (t) => {
  const path = join(tempDir(t), 'out.csv');
  const { ctx, logs } = fakeContext();
  const out = await openOutput(configFor(path), ctx);
  const handle = { id: 42, name: 'ghost', type: U64 } as const;
  const b = new BatchBuilder();
  b.push(handle, TS, 1n);
  b.push(handle, TS, 2n);
  await out.write(b.take());
  await out.close?.();
  const rows = readFileSync(path, 'utf8').trim().split('\n').slice(1);
  assert.deepEqual(rows.map((r) => r.split(';')[0]), ['unknown_metric_42', 'unknown_metric_42']);
  assert.equal(logs.filter((l) => l.level === 'warn').length, 1);
  assert.match(logs[0]!.msg!, /metric id 42/);
});

test('an output_path that cannot be opened fails at open, naming the path', async (t) => {
  const path = join(tempDir(t), 'no-such-dir', 'out.csv');
  await assert.rejects(async () => openOutput(configFor(path), fakeContext().ctx), (e: Error) => {
    assert.match(e.message, /^output\/csv\/csv: cannot open output_path ".*no-such-dir\/out\.csv" for writing: ENOENT/);
    return true;
  });
});
