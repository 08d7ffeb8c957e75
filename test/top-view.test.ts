// The pure parts of `top`: keys decoded from terminal input, rates from two snapshots of the counters, and
// what keys do to the view (sort, filter, marks, the elements a command goes to, scrolling).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { elementRows, parseStatusReply, type ElementStatus } from '../src/control/top/element-rates.js';
import { decodeKeys, type Key } from '../src/control/top/keys.js';
import { TopView } from '../src/control/top/top-view.js';

test('keys: characters, arrows and page keys of xterm and VT220, Enter, Backspace, Escape, Ctrl-C; unknown sequences dropped', () => {
  const cases: [string, Key[]][] = [
    ['q', [{ type: 'char', char: 'q' }]],
    ['\x1b[A\x1bOB', [{ type: 'up' }, { type: 'down' }]],
    ['\x1b[5~\x1b[6~\x1b[H\x1b[4~', [{ type: 'page-up' }, { type: 'page-down' }, { type: 'home' }, { type: 'end' }]],
    ['\r\x7f\x03', [{ type: 'enter' }, { type: 'backspace' }, { type: 'ctrl-c' }]],
    ['\x1b', [{ type: 'escape' }]],
    ['\x1b[15~p', [{ type: 'char', char: 'p' }]],
    ['\x01', []],
  ];
  for (const [input, keys] of cases) assert.deepEqual(decodeKeys(input), keys, JSON.stringify(input));
});

function status(name: string, counters: Record<string, number>, state = 'running'): ElementStatus {
  const [kind, plugin, element] = name.split('/') as [ElementStatus['kind'], string, string];
  return { name, kind, plugin, element, state, period: null, thread: 'own', counters, last_error: null };
}

test('rates: the change of points_in and points_out over the time between two replies; none for a counter that went down', () => {
  const reply = [JSON.stringify(status('source/a/x', { points_out: 100 })), 'ok 1 element'];
  assert.deepEqual(parseStatusReply(reply), [status('source/a/x', { points_out: 100 })]);
  const before = { atMs: 1000, elements: [status('source/a/x', { points_out: 100 }), status('output/b/y', { points_in: 50, points_out: 50, backlog_points: 3 })] };
  const after = { atMs: 3000, elements: [status('source/a/x', { points_out: 300, errors: 2 }), status('output/b/y', { points_in: 10, points_out: 10, backlog_points: 0 }), status('source/a/new', { points_out: 5 })] };
  assert.deepEqual(
    elementRows(after, before).map((r) => [r.status.name, r.inPerSec, r.outPerSec, r.errors, r.backlog]),
    [
      ['source/a/x', undefined, 100, 2, undefined],
      ['output/b/y', undefined, undefined, 0, 0],
      ['source/a/new', undefined, undefined, 0, undefined],
    ],
  );
  assert.deepEqual(elementRows(before, undefined).map((r) => r.outPerSec), [undefined, undefined]);
});

test('view: s sorts by the next column (busiest first), S reverses, / filters by name or state, marks choose the elements of a command', () => {
  const view = new TopView();
  const snap = (out: number[]) => ({ atMs: 0, elements: out.map((n, i) => status(`source/p/s-${i}`, { points_out: n }, i === 2 ? 'paused' : 'running')) });
  view.setRows(elementRows({ ...snap([10, 30, 20]), atMs: 1000 }, snap([0, 0, 0])));
  const names = () => view.rows.map((r) => r.status.name);
  const press = (...chars: string[]) => chars.map((c) => view.press(c.length === 1 ? { type: 'char', char: c } : ({ type: c } as Key), 10));
  assert.deepEqual(names(), ['source/p/s-0', 'source/p/s-1', 'source/p/s-2'], 'the agent’s order first');
  press('s', 's', 's', 's'); // name, state, in/s, out/s
  assert.equal(view.sortKey, 'out/s');
  assert.deepEqual(names(), ['source/p/s-1', 'source/p/s-2', 'source/p/s-0']);
  press('S');
  assert.deepEqual(names(), ['source/p/s-0', 'source/p/s-2', 'source/p/s-1']);
  assert.deepEqual(press('p'), [{ type: 'control', action: 'pause', names: ['source/p/s-0'] }], 'no mark: the element under the cursor');
  press(' ', ' ');
  assert.deepEqual(press('t'), [{ type: 'control', action: 'trigger-now', names: ['source/p/s-0', 'source/p/s-2'] }], 'the marked ones, in the agent’s order');
  press('/', 'p', 'a', 'u', 's', 'enter');
  assert.deepEqual(names(), ['source/p/s-2']);
  press('/', 'x', 'escape');
  assert.equal(view.filter, 'paus', 'Escape while typing keeps the filter');
  assert.deepEqual(press('q'), [{ type: 'quit' }]);
  assert.deepEqual(press('ctrl-c'), [{ type: 'quit' }]);
});
