// How list and status show elements: natural order of names, the status table and its JSON lines.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ElementSummary } from '../src/control/control-target.js';
import type { ElementKind } from '../src/protocol/element-kinds.js';
import { displayOrder, naturalCompare, statusJson, statusTable } from '../src/control/element-view.js';
import { KIND_COUNTERS } from '../src/protocol/counters.js';
import { COUNTER_NAMES } from '../src/protocol/counters.js';

test('naturalCompare: numbers inside names compare by value', () => {
  const sorted = ['pid-10', 'pid-2', 'pid-1', 'pid-100', 'pid-02', 'kernel', 'pid-', 'pid-9a', 'pid-9', 'cpu10', 'cpu9', 'cpu', 'a1b10', 'a1b2', 'a01b3', ''];
  sorted.sort(naturalCompare);
  assert.deepEqual(sorted, ['', 'a1b2', 'a01b3', 'a1b10', 'cpu', 'cpu9', 'cpu10', 'kernel', 'pid-', 'pid-1', 'pid-2', 'pid-02', 'pid-9', 'pid-9a', 'pid-10', 'pid-100']);
  // Numbers longer than a double keeps exactly still compare right.
  assert.ok(naturalCompare('n-18446744073709551616', 'n-18446744073709551617') < 0);
  assert.ok(naturalCompare('n-99999999999999999999', 'n-100000000000000000000') < 0);
  // A total order: antisymmetric, 0 only for equal strings.
  const names = ['x1', 'x01', 'x001', 'x1a', 'x1', 'X1', 'x-1', 'x10', 'x', 'é2', 'e2'];
  for (const a of names) {
    for (const b of names) {
      assert.equal(Math.sign(naturalCompare(a, b)) + Math.sign(naturalCompare(b, a)), 0, `${a} vs ${b}`);
      assert.equal(naturalCompare(a, b) === 0, a === b, `${a} vs ${b}`);
    }
  }
});

const el = (name: string): { kind: ElementKind; name: string } => ({ kind: name.split('/')[0] as ElementKind, name });

test('displayOrder: sources, transforms, outputs; names natural within sources and outputs, transforms in pipeline order', () => {
  const agentOrder = [
    'source/procfs/pid-10',
    'source/procfs/kernel',
    'source/procfs/pid-9',
    'source/cgroups/system.slice',
    'transform/energy-estimation-tdp/tdp',
    'transform/filter/filter',
    'output/csv/csv-2',
    'output/csv/csv-10',
    'output/csv/csv-1',
  ].map(el);
  assert.deepEqual(
    displayOrder(agentOrder).map((e) => e.name),
    [
      'source/cgroups/system.slice',
      'source/procfs/kernel',
      'source/procfs/pid-9',
      'source/procfs/pid-10',
      'transform/energy-estimation-tdp/tdp',
      'transform/filter/filter',
      'output/csv/csv-1',
      'output/csv/csv-2',
      'output/csv/csv-10',
    ],
  );
  // Input in any kind order still comes out grouped by kind, and the input array is left alone.
  const mixed = ['output/a/b', 'source/a/x2', 'transform/z/z', 'source/a/x10', 'transform/a/a'].map(el);
  assert.deepEqual(displayOrder(mixed).map((e) => e.name), ['source/a/x2', 'source/a/x10', 'transform/z/z', 'transform/a/a', 'output/a/b']);
  assert.equal(mixed[0]!.name, 'output/a/b');
});

function summary(name: string, extra: Partial<ElementSummary> = {}): ElementSummary {
  const [kind, plugin, ...rest] = name.split('/');
  // Distinct values, so that a counter shown in the wrong column shows.
  const counters = { polls: 0, points_in: 1000, points_out: 2000, batches_in: 3000, batches_out: 4000, missed_ticks: 5000, dropped_backlog: 6000, dropped_crash: 7000, errors: 8000, restarts: 9000, backlog_points: 10000 };
  return { name, kind: kind as ElementKind, plugin: plugin!, element: rest.join('/'), state: 'running', counters, ...extra };
}

test('every counter the agent keeps is shown for at least one kind', () => {
  const shown = new Set(Object.values(KIND_COUNTERS).flat());
  assert.deepEqual(COUNTER_NAMES.filter((n) => !shown.has(n)), []);
});

test('statusTable aligns every column, counters right, and quotes a last error with its line breaks removed', () => {
  const rows = statusTable([
    summary('source/procfs/memory', { period: '1m 30s', thread: 'own' }),
    summary('output/csv/csv', { state: 'failed', lastError: 'disk full\nat write', thread: 'own' }),
  ]);
  assert.equal(rows.length, 3);
  const header = rows[0]!;
  // Every column starts (text) or ends (counters) at the same offset on every line.
  const starts = ['element', 'kind', 'state', 'period', 'thread'].map((h) => header.indexOf(h));
  for (const row of rows.slice(1)) for (const at of starts) assert.equal(row[at - 1] ?? ' ', ' ', `${row} at ${at}`);
  for (const counter of ['polls', 'points_in', 'restarts']) {
    const end = header.indexOf(counter) + counter.length;
    for (const row of rows.slice(1)) {
      assert.notEqual(row[end - 1], ' ', `${counter} ends at ${end} on: ${row}`);
      assert.equal(row[end], ' ', `${counter} ends at ${end} on: ${row}`);
    }
  }
  assert.match(rows[1]!, /^source\/procfs\/memory\s+source\s+running\s+1m30s\s+own\s+0\s+-\s+2000\s/);
  assert.match(rows[2]!, /^output\/csv\/csv\s+output\s+failed\s+-\s+own\s+-\s+1000\s+2000\s.*"disk full at write"$/);
  assert.ok(rows[1]!.endsWith(' -'), 'no error: a dash in the last_error column');
  assert.ok(header.endsWith('  last_error'));
  assert.deepEqual(statusTable([]), ['element  kind  state  period  thread']);
});

test('statusJson: one line, the counters of the kind, nulls for what an element does not have', () => {
  const line = statusJson(summary('transform/filter/filter', { lastError: 'boom\nline 2' }));
  assert.ok(!line.includes('\n'));
  assert.deepEqual(JSON.parse(line), {
    name: 'transform/filter/filter',
    kind: 'transform',
    plugin: 'filter',
    element: 'filter',
    state: 'running',
    period: null,
    thread: null,
    counters: { points_in: 1000, points_out: 2000, batches_in: 3000, batches_out: 4000, dropped_crash: 7000, errors: 8000, restarts: 9000 },
    last_error: 'boom\nline 2',
  });
  assert.equal(JSON.parse(statusJson(summary('source/a/b', { period: '1m 30s' }))).period, '1m30s');
});
