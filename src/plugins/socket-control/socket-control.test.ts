// Tests of the socket-control plugin through the plugin harness: the agent serves the control protocol on
// the configured socket, with the configured mode, and its commands reach elements in real worker threads.
// The server itself is tested in test/control-*.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { sendControlLine } from '../../control/client.js';
import { startPlugin } from '../../../test/helpers/plugin-harness.js';
import synthetic from '../synthetic/index.js';
import socketControl from './index.js';

test('the agent serves the socket at socket_path with socket_mode, and its commands reach the elements', async (t) => {
  const source = { plugin: synthetic, config: { points_per_poll: 2, poll_interval: '1h' } };
  const run = await startPlugin(t, socketControl, { config: (dir) => ({ socket_path: join(dir, 'control.sock'), socket_mode: '660' }), with: [source] });
  const socket = join(run.dir, 'control.sock');
  assert.equal(statSync(socket).mode & 0o777, 0o660);

  const list = await sendControlLine(socket, 'list', 10_000);
  assert.equal(list.status, 'ok');
  const names = list.lines.slice(0, -1).map((l) => l.split(/\s+/)[0]);
  assert.deepEqual(names, ['source/synthetic/synthetic-0', 'output/recorder/recorder']);

  await run.waitForPoints('the first poll', (points) => points.length === 2);
  const trigger = await sendControlLine(socket, 'control source/synthetic/synthetic-0 trigger-now', 10_000);
  assert.equal(trigger.status, 'ok');
  await run.waitForPoints('the poll asked for over the socket', (points) => points.length === 4);
  await run.stop();
});
