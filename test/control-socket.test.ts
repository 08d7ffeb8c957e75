// The control socket end to end: a real Unix socket in a temp dir, the real dispatcher, and a fake agent
// (FakeControlTarget). Replies, framing, bad input, limits, socket-file safety, the client, and socat.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ControlUnavailable, sendControlLine } from '../src/control/client.js';
import { ControlDispatcher } from '../src/control/dispatch.js';
import { SocketServer, type ControlLog, type LineHandler } from '../src/control/socket-server.js';
import { SocketServerError } from '../src/control/socket-file.js';
import { FakeControlTarget, fakeElement } from './helpers/fake-control-target.js';

// ---- helpers ----

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ctl-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function waitFor(cond: () => boolean, what: string, seen: () => unknown = () => undefined, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last saw ${JSON.stringify(seen())}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function recordingLog(): ControlLog & { lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (msg: string) => void lines.push(`${level}: ${msg}`);
  return { lines, info: add('info'), warn: add('warn'), error: add('error'), debug: add('debug') };
}

interface Started {
  dir: string;
  path: string;
  target: FakeControlTarget;
  server: SocketServer;
  log: ReturnType<typeof recordingLog>;
}

async function startServer(t: TestContext, options: { target?: FakeControlTarget; mode?: number; path?: string; dir?: string } = {}): Promise<Started> {
  const dir = options.dir ?? (await tempDir(t));
  const path = options.path ?? join(dir, 'ctl.sock');
  const target = options.target ?? new FakeControlTarget();
  const log = recordingLog();
  const server = new SocketServer({
    dispatcher: new ControlDispatcher(target),
    path,
    log,
    ...(options.mode === undefined ? {} : { mode: options.mode }),
  });
  await server.start();
  t.after(() => server.close());
  return { dir, path, target, server, log };
}

/** A connection that collects reply lines as they come. */
class TestClient {
  readonly socket: net.Socket;
  readonly lines: string[] = [];
  closed = false;
  #buffer = '';

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      const parts = this.#buffer.split('\n');
      this.#buffer = parts.pop()!;
      this.lines.push(...parts);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static connect(path: string): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once('connect', () => resolve(new TestClient(socket)));
      socket.once('error', reject);
    });
  }

  get statusLines(): string[] {
    return this.lines.filter((l) => l === 'ok' || l.startsWith('ok ') || l.startsWith('error: '));
  }

  async waitStatus(n: number): Promise<string[]> {
    await waitFor(() => this.statusLines.length >= n, `${n} status line(s)`, () => this.lines);
    return this.lines;
  }

  async waitClosed(): Promise<void> {
    await waitFor(() => this.closed, 'the server to close the connection', () => this.lines);
  }
}

/** Writes `data`, half-closes, and returns every line received until the server closes. */
async function exchange(path: string, data: string | Buffer): Promise<string[]> {
  const c = await TestClient.connect(path);
  c.socket.end(data);
  await c.waitClosed();
  return c.lines;
}

/** A socket file with nothing listening behind it, as left by a crashed agent. */
async function makeStaleSocket(path: string, scratch: string): Promise<void> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(scratch, resolve));
  await link(scratch, path);
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

// ---- replies ----

type Expect = string | RegExp;
const replyCases: Array<{ line: string; reply: Expect[]; check?: (t: FakeControlTarget) => void }> = [
  {
    line: 'list',
    reply: [
      'source/procfs/kernel running 1s',
      'source/procfs/memory running 1m30s',
      'source/relay-server/in running',
      'transform/filter/filter running',
      'output/csv/csv running',
      'output/relay-client/out stopped',
      'ok 6 elements',
    ],
  },
  { line: 'list out', reply: ['output/csv/csv running', 'output/relay-client/out stopped', 'ok 2 elements'] },
  {
    line: 'status source/procfs/kernel',
    reply: [
      'element               kind    state    period  thread  polls  points_out',
      'source/procfs/kernel  source  running  1s      -          10          40',
      'ok 1 element',
    ],
  },
  {
    line: 'status output/relay-client/out',
    reply: [
      'element                  kind    state    period  thread  points_in  last_error',
      'output/relay-client/out  output  stopped  -       -               0  "connection refused   at connect"',
      'ok 1 element',
    ],
  },
  {
    line: 'status output/relay-client/out --json',
    reply: [
      '{"name":"output/relay-client/out","kind":"output","plugin":"relay-client","element":"out","state":"stopped","period":null,"thread":null,"counters":{"points_in":0},"last_error":"connection refused\\n  at connect"}',
      'ok 1 element',
    ],
  },
  { line: 'list transform/x/y', reply: ['error: pattern "transform/x/y" matches no element; `list` shows the 6 elements'] },
  {
    line: 'control source/procfs/kernel pause',
    reply: ['ok paused 1 element: source/procfs/kernel'],
    check: (t) => assert.deepEqual(t.calls, [{ names: ['source/procfs/kernel'], action: { type: 'pause' } }]),
  },
  { line: 'control src/procfs/* disable', reply: ['ok paused 2 elements: source/procfs/kernel, source/procfs/memory'] },
  { line: 'control source/procfs/* resume', reply: ['ok resumed 2 elements: source/procfs/kernel, source/procfs/memory'] },
  { line: 'control source/procfs/* trigger-now', reply: ['ok triggered 2 elements: source/procfs/kernel, source/procfs/memory'] },
  {
    line: 'control source/procfs/memory set-period 250ms',
    reply: ['ok set the period to 250ms on 1 element: source/procfs/memory'],
    check: (t) => {
      assert.equal(t.calls[0]?.action.type, 'set-period');
      assert.equal(t.elements()[1]?.period, '250ms');
    },
  },
  {
    line: 'control * trigger-now',
    reply: [
      'error: could not trigger-now source/relay-server/in: an autonomous source cannot be triggered; triggered 2 elements: source/procfs/kernel, source/procfs/memory',
    ],
    check: (t) => assert.deepEqual(t.calls[0]?.names, ['source/procfs/kernel', 'source/procfs/memory', 'source/relay-server/in']),
  },
  {
    line: 'control * stop',
    reply: [
      'error: could not stop output/relay-client/out: it is stopped; stopped 4 elements: source/procfs/kernel, source/procfs/memory, source/relay-server/in, output/csv/csv',
    ],
    check: (t) => assert.ok(!t.calls[0]!.names.includes('transform/filter/filter'), 'stop never reaches transforms'),
  },
  {
    line: 'control * pause',
    reply: [
      'error: could not pause output/relay-client/out: it is stopped; paused 5 elements: source/procfs/kernel, source/procfs/memory, source/relay-server/in, transform/filter/filter, output/csv/csv',
    ],
  },
  {
    // The Rust agent's documentation writes plugins by their crate name; the reply names the real element.
    line: 'control source/plugin-procfs/memory pause',
    reply: ['ok paused 1 element: source/procfs/memory'],
    check: (t) => assert.deepEqual(t.calls, [{ names: ['source/procfs/memory'], action: { type: 'pause' } }]),
  },
  { line: 'control */plugin-procfs/* resume', reply: ['ok resumed 2 elements: source/procfs/kernel, source/procfs/memory'] },
  { line: 'control transform/plugin-filter/* disable', reply: ['ok paused 1 element: transform/filter/filter'] },
  { line: 'list source/plugin-procfs/memory', reply: ['source/procfs/memory running 1m30s', 'ok 1 element'] },
  { line: 'control source/plugin-procfz/memory pause', reply: ['error: pattern "source/plugin-procfz/memory" matches no element; did you mean source/procfs/memory?'] },
  // Suggestions ignore case (matching does not, as in Alumet).
  {
    line: 'control source/procfs/MEMORY pause',
    reply: ['error: pattern "source/procfs/MEMORY" matches no element; did you mean source/procfs/memory?'],
    check: (t) => assert.equal(t.calls.length, 0),
  },
  { line: 'list source/Procfs/*', reply: ['error: pattern "source/Procfs/*" matches no element; did you mean source/procfs/*?'] },
  { line: 'status output/CSV/Csv', reply: ['error: pattern "output/CSV/Csv" matches no element; did you mean output/csv/csv?'] },
  { line: 'control source/procfs/Mem* pause', reply: ['error: pattern "source/procfs/Mem*" matches no element; did you mean source/procfs/mem*?'] },
  { line: 'control source/procfs/*ORY pause', reply: ['error: pattern "source/procfs/*ORY" matches no element; did you mean source/procfs/*ory?'] },
  { line: 'control source/plugin-PROCFS/memory pause', reply: ['error: pattern "source/plugin-PROCFS/memory" matches no element; did you mean source/procfs/memory?'] },
  { line: 'control source/procfs/mem pause', reply: ['error: pattern "source/procfs/mem" matches no element; did you mean source/procfs/memory?'] },
  { line: 'control source/prcfs/* pause', reply: ['error: pattern "source/prcfs/*" matches no element; did you mean source/procfs/*?'] },
  { line: 'control output/procfs/memory pause', reply: ['error: pattern "output/procfs/memory" matches no element; did you mean source/procfs/memory?'] },
  {
    line: 'control */csv/* trigger-now',
    reply: ['error: trigger-now applies to sources only; pattern "*/csv/*" matches only outputs: output/csv/csv'],
    check: (t) => assert.equal(t.calls.length, 0),
  },
  { line: 'control */filter/* stop', reply: ['error: stop applies to sources and outputs; pattern "*/filter/*" matches only transforms: transform/filter/filter'] },
  { line: 'control output/csv/csv trigger-now', reply: ['error: trigger-now applies to sources only; output/csv/csv is an output'] },
  { line: 'control source pase', reply: [/^error: unknown action "pase"; did you mean pause\? valid actions: /] },
  { line: 'bogus', reply: [/^error: unknown command "bogus"; valid commands: control PATTERN ACTION/] },
  { line: 'help', reply: [/^control PATTERN pause\|disable /, ...Array<RegExp>(9).fill(/^[A-Za-z]/), /^PLUGIN and ELEMENT/, 'ok'] },
  { line: 'shutdown', reply: ['ok shutting down'], check: (t) => assert.equal(t.shutdowns, 1) },
  { line: 'stop', reply: ['ok shutting down'], check: (t) => assert.equal(t.shutdowns, 1) },
  // `control` forgotten: an error, never a shutdown.
  {
    line: 'stop source/procfs/memory',
    reply: ['error: "stop" takes no argument; did you mean "control source/procfs/memory stop"?'],
    check: (t) => assert.deepEqual([t.shutdowns, t.calls.length], [0, 0]),
  },
  {
    line: 'shutdown source/procfs/memory',
    reply: ['error: "shutdown" takes no argument; did you mean "control source/procfs/memory stop"?'],
    check: (t) => assert.deepEqual([t.shutdowns, t.calls.length], [0, 0]),
  },
  {
    line: 'stop now',
    reply: ['error: "stop" takes no argument, got: now; "stop" alone shuts the agent down, "control PATTERN stop" stops elements'],
    check: (t) => assert.equal(t.shutdowns, 0),
  },
];

for (const { line, reply, check } of replyCases) {
  test(`"${line}" gets its reply`, async (t) => {
    const { path, target } = await startServer(t);
    const lines = await exchange(path, `${line}\n`);
    assert.equal(lines.length, reply.length, `reply to ${line}: ${JSON.stringify(lines)}`);
    reply.forEach((want, i) => (typeof want === 'string' ? assert.equal(lines[i], want) : assert.match(lines[i]!, want)));
    check?.(target);
  });
}

test('several failures get one data line each, and the status line names them and the successes', async (t) => {
  const target = new FakeControlTarget([
    fakeElement('output/a/a', { state: 'stopped' }),
    fakeElement('output/b/b', { state: 'stopped' }),
    fakeElement('output/csv/csv'),
  ]);
  const { path } = await startServer(t, { target });
  assert.deepEqual(await exchange(path, 'control output pause\n'), [
    'output/a/a: it is stopped',
    'output/b/b: it is stopped',
    'error: could not pause 2 of 3 elements: output/a/a, output/b/b (reasons above); paused 1 element: output/csv/csv',
  ]);
});

test('an ok line for many elements names the first 20, then how many more', async (t) => {
  const target = new FakeControlTarget(Array.from({ length: 45 }, (_, i) => fakeElement(`source/procfs/pid-${i}`, { period: '1s' })));
  const { path } = await startServer(t, { target });
  const [status] = await exchange(path, 'control source pause\n');
  const shown = Array.from({ length: 20 }, (_, i) => `source/procfs/pid-${i}`).join(', ');
  assert.equal(status, `ok paused 45 elements: ${shown}, … and 25 more`);
  assert.equal(target.calls[0]?.names.length, 45);
});

test('a bare kind with no element of that kind says which kinds exist', async (t) => {
  const target = new FakeControlTarget([fakeElement('output/csv/csv')]);
  const { path } = await startServer(t, { target });
  assert.deepEqual(await exchange(path, 'control source pause\nlist tra\n'), [
    'error: pattern "source" matches no element; the agent has no sources (it has outputs)',
    'error: pattern "tra" matches no element; the agent has no transforms (it has outputs)',
  ]);
});

test('list, status and the ok lines sort names naturally within sources and outputs; transforms keep their pipeline order', async (t) => {
  // In the agent's order: sources, transforms, outputs, each in creation order.
  const target = new FakeControlTarget([
    fakeElement('source/procfs/pid-10', { period: '1s' }),
    fakeElement('source/procfs/pid-2', { period: '1s' }),
    fakeElement('source/procfs/pid-100', { period: '1s' }),
    fakeElement('source/procfs/kernel', { period: '1s' }),
    fakeElement('source/cgroups/cpu9'),
    fakeElement('source/cgroups/cpu10'),
    fakeElement('transform/zeta/zeta'),
    fakeElement('transform/alpha/alpha'),
    fakeElement('output/csv/file-10'),
    fakeElement('output/csv/file-9'),
  ]);
  const { path } = await startServer(t, { target });
  assert.deepEqual(await exchange(path, 'list\n'), [
    'source/cgroups/cpu9 running',
    'source/cgroups/cpu10 running',
    'source/procfs/kernel running 1s',
    'source/procfs/pid-2 running 1s',
    'source/procfs/pid-10 running 1s',
    'source/procfs/pid-100 running 1s',
    'transform/zeta/zeta running',
    'transform/alpha/alpha running',
    'output/csv/file-9 running',
    'output/csv/file-10 running',
    'ok 10 elements',
  ]);
  const status = await exchange(path, 'status source/procfs/pid-*\nstatus output --json\n');
  assert.deepEqual(
    status.map((l) => (l.startsWith('{') ? (JSON.parse(l) as { name: string }).name : l.split(' ')[0])),
    ['element', 'source/procfs/pid-2', 'source/procfs/pid-10', 'source/procfs/pid-100', 'ok', 'output/csv/file-9', 'output/csv/file-10', 'ok'],
  );
  assert.deepEqual(await exchange(path, 'control source/procfs/pid-* pause\n'), [
    'ok paused 3 elements: source/procfs/pid-2, source/procfs/pid-10, source/procfs/pid-100',
  ]);
  assert.deepEqual(target.calls[0]?.names, ['source/procfs/pid-2', 'source/procfs/pid-10', 'source/procfs/pid-100']);
});

test('status is one aligned table: the counters of the kinds shown, - where a counter does not apply, last_error only when an element has one', async (t) => {
  const all = (over: Record<string, number>): Record<string, number> => ({
    polls: 0, points_in: 0, points_out: 0, batches_in: 0, batches_out: 0, missed_ticks: 0,
    dropped_backlog: 0, dropped_crash: 0, errors: 0, restarts: 0, backlog_points: 0, ...over,
  });
  const elements = [
    fakeElement('source/procfs/memory', { period: '1s', thread: 'own', counters: all({ polls: 12, points_out: 96, batches_out: 12, missed_ticks: 1 }) }),
    fakeElement('source/procfs/pid-1234', { period: '2s', thread: 'pool-0', counters: all({ polls: 3, points_out: 21, batches_out: 3 }) }),
    fakeElement('transform/filter/filter', { thread: 'own', counters: all({ points_in: 117, points_out: 100, batches_in: 15, batches_out: 15 }) }),
    fakeElement('output/csv/csv', {
      state: 'paused',
      thread: 'own',
      counters: all({ points_in: 100, points_out: 60, batches_in: 15, batches_out: 9, backlog_points: 40, restarts: 1 }),
    }),
  ];
  const target = new FakeControlTarget(elements);
  const { path } = await startServer(t, { target });
  assert.deepEqual(await exchange(path, 'status\n'), [
    'element                  kind       state    period  thread  polls  points_in  points_out  batches_in  batches_out  missed_ticks  backlog_points  dropped_backlog  dropped_crash  errors  restarts',
    'source/procfs/memory     source     running  1s      own        12          -          96           -           12             1               -                -              -       0         0',
    'source/procfs/pid-1234   source     running  2s      pool-0      3          -          21           -            3             0               -                -              -       0         0',
    'transform/filter/filter  transform  running  -       own         -        117         100          15           15             -               -                -              0       0         0',
    'output/csv/csv           output     paused   -       own         -        100          60          15            9             -              40                0              0       0         1',
    'ok 4 elements',
  ]);
  // One kind: only its counters.
  assert.deepEqual(await exchange(path, 'status output\n'), [
    'element         kind    state   period  thread  points_in  points_out  batches_in  batches_out  backlog_points  dropped_backlog  dropped_crash  errors  restarts',
    'output/csv/csv  output  paused  -       own           100          60          15            9              40                0              0       0         1',
    'ok 1 element',
  ]);
  // With --json: one object per element, the counters of its kind only, then the same ok line.
  const json = await exchange(path, 'status --json\n');
  assert.equal(json.at(-1), 'ok 4 elements');
  const objects = json.slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(objects[0], {
    name: 'source/procfs/memory',
    kind: 'source',
    plugin: 'procfs',
    element: 'memory',
    state: 'running',
    period: '1s',
    thread: 'own',
    counters: { polls: 12, points_out: 96, batches_out: 12, missed_ticks: 1, errors: 0, restarts: 0 },
    last_error: null,
  });
  assert.deepEqual(Object.keys(objects[2]!['counters'] as object), ['points_in', 'points_out', 'batches_in', 'batches_out', 'dropped_crash', 'errors', 'restarts']);
  assert.deepEqual(
    Object.keys(objects[3]!['counters'] as object),
    ['points_in', 'points_out', 'batches_in', 'batches_out', 'backlog_points', 'dropped_backlog', 'dropped_crash', 'errors', 'restarts'],
  );
  assert.deepEqual(objects.map((o) => o['name']), elements.map((e) => e.name));
});

// ---- framing ----

test('lines of one connection are answered in order, each after the previous one is applied', async (t) => {
  const { path, target } = await startServer(t);
  target.applyDelayMs = 20;
  const lines = await exchange(
    path,
    'control source/procfs/kernel pause\nlist source/procfs/kernel\ncontrol source/procfs/kernel resume\nlist source/procfs/kernel\n',
  );
  assert.deepEqual(lines, [
    'ok paused 1 element: source/procfs/kernel',
    'source/procfs/kernel paused 1s',
    'ok 1 element',
    'ok resumed 1 element: source/procfs/kernel',
    'source/procfs/kernel running 1s',
    'ok 1 element',
  ]);
});

test('blank lines get no reply, \\r\\n works, and a last line without \\n is still answered', async (t) => {
  const { path } = await startServer(t);
  const lines = await exchange(path, '\n   \n\t\r\nlist out\r\n\r\nhelp\r\nstatus output/csv/csv');
  assert.deepEqual(
    lines.filter((l) => l.startsWith('ok') || l.startsWith('error:')),
    ['ok 2 elements', 'ok', 'ok 1 element'],
  );
  assert.deepEqual(lines.slice(-3), [
    'element         kind    state    period  thread  points_in  batches_in',
    'output/csv/csv  output  running  -       -              44           3',
    'ok 1 element',
  ]);
});

test('a client that half-closes at once (echo | socat) still gets every reply', async (t) => {
  const { path, target } = await startServer(t);
  target.applyDelayMs = 2;
  const lines = await exchange(path, 'control source/procfs/kernel trigger-now\n'.repeat(50));
  assert.equal(lines.length, 50);
  assert.ok(lines.every((l) => l === 'ok triggered 1 element: source/procfs/kernel'));
  assert.equal(target.elements()[0]?.counters['polls'], 60);
});

test('invalid UTF-8, NUL bytes and binary junk get error replies and the connection goes on', async (t) => {
  const { path } = await startServer(t);
  const junk = Buffer.from(Array.from({ length: 256 }, (_, i) => i)); // two lines: 0x00-0x09, then 0x0b-0xff
  const lines = await exchange(
    path,
    Buffer.concat([Buffer.from([0xff, 0xfe, 0x6c, 0x0a]), Buffer.from('li\0st\n'), junk, Buffer.from('\nlist out\n')]),
  );
  assert.deepEqual(lines, [
    'error: the line is not valid UTF-8; commands are UTF-8 text, one per line',
    'error: the line contains the control character U+0000 at column 3; commands are plain text words',
    'error: the line contains the control character U+0000 at column 1; commands are plain text words',
    'error: the line is not valid UTF-8; commands are UTF-8 text, one per line',
    'output/csv/csv running',
    'output/relay-client/out stopped',
    'ok 2 elements',
  ]);
});

test('a line of 64 KiB + 1 byte gets "line too long", then the connection closes', async (t) => {
  const { path } = await startServer(t);
  const lines = await exchange(path, `help\n${'a'.repeat(65_537)}\nlist\n`);
  assert.equal(lines.at(-2), 'ok', 'the line before the long one is answered');
  assert.equal(lines.at(-1), 'error: line too long (limit 65536 bytes); closing the connection');
  assert.ok(!lines.includes('ok 6 elements'), 'nothing after the long line is answered');
});

test('a line of exactly 64 KiB (plus \\r) is read, and the connection stays open', async (t) => {
  const { path } = await startServer(t);
  const lines = await exchange(path, `${'a'.repeat(65_536)}\r\nlist out\n`);
  assert.deepEqual(lines, [
    'error: the word "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…" is 65536 characters long; words are at most 1024',
    'output/csv/csv running',
    'output/relay-client/out stopped',
    'ok 2 elements',
  ]);
});

test('an endless line without \\n is cut off once it passes the limit', async (t) => {
  const { path } = await startServer(t);
  const c = await TestClient.connect(path);
  c.socket.write('b'.repeat(70_000)); // no newline, no end: the server must not wait for one
  await c.waitClosed();
  assert.deepEqual(c.lines, ['error: line too long (limit 65536 bytes); closing the connection']);
});

test('an exception in the handler becomes an error reply, and the next line is answered', async (t) => {
  const dir = await tempDir(t);
  const log = recordingLog();
  const handler: LineHandler = {
    async handleLine(line) {
      if (line === 'boom') throw new Error('kaput\nsecond line');
      return { data: [], status: `ok ${line}` };
    },
  };
  const server = new SocketServer({ dispatcher: handler, path: join(dir, 'ctl.sock'), log });
  await server.start();
  t.after(() => server.close());
  assert.deepEqual(await exchange(server.path, 'boom\nfine\n'), [
    'error: internal error while handling the command: kaput second line',
    'ok fine',
  ]);
  assert.ok(log.lines.some((l) => l.startsWith('error: failed to handle "boom"')), JSON.stringify(log.lines));
});

test('a client that leaves in the middle of a command crashes nothing; the command is still applied', async (t) => {
  const { path, target } = await startServer(t);
  target.applyDelayMs = 30;
  const c = await TestClient.connect(path);
  c.socket.write('control source/procfs/kernel pause\n');
  await waitFor(() => target.calls.length === 1, 'the pause to reach the target');
  c.socket.destroy();
  await waitFor(() => target.elements()[0]?.state === 'paused', 'the pause to be applied');
  assert.deepEqual(await exchange(path, 'list source/procfs/kernel\n'), ['source/procfs/kernel paused 1s', 'ok 1 element']);
});

// ---- limits ----

test('the 129th connection is told "too many connections" and closed; the others keep working', async (t) => {
  const { path, server } = await startServer(t);
  const clients: TestClient[] = [];
  t.after(() => clients.forEach((c) => c.socket.destroy()));
  for (let i = 0; i < 128; i++) clients.push(await TestClient.connect(path));
  await waitFor(() => server.connectionCount === 128, '128 open connections', () => server.connectionCount);

  const extra = await TestClient.connect(path);
  await extra.waitClosed();
  assert.deepEqual(extra.lines, ['error: too many connections (limit 128); try again later']);

  clients[0]!.socket.write('list out\n');
  assert.equal((await clients[0]!.waitStatus(1)).at(-1), 'ok 2 elements');

  clients.pop()!.socket.destroy();
  await waitFor(() => server.connectionCount === 127, 'a slot to free up', () => server.connectionCount);
  assert.deepEqual(await exchange(path, 'list out\n'), ['output/csv/csv running', 'output/relay-client/out stopped', 'ok 2 elements']);
});

// ---- the socket file ----

test('the socket is created with mode 0600, or socket_mode, and nothing else is left in its directory', async (t) => {
  const a = await startServer(t);
  assert.equal((await stat(a.path)).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(a.dir), ['ctl.sock']);
  const b = await startServer(t, { mode: 0o660 });
  assert.equal((await stat(b.path)).mode & 0o777, 0o660);
  assert.throws(() => new SocketServer({ dispatcher: new ControlDispatcher(new FakeControlTarget()), path: 'x', mode: 0o1777 }), /socket_mode must be/);
});

test('close() ends open connections and removes the socket file; twice is fine', async (t) => {
  const { path, server } = await startServer(t);
  const c = await TestClient.connect(path);
  c.socket.write('list out\n');
  await c.waitStatus(1);
  await server.close();
  await c.waitClosed();
  await assert.rejects(lstat(path), { code: 'ENOENT' });
  await server.close();
  await assert.rejects(sendControlLine(path, 'list', 2000), ControlUnavailable);
});

test('close() leaves a file that replaced the socket in place', async (t) => {
  const { path, server } = await startServer(t);
  await unlink(path);
  await writeFile(path, 'not ours');
  await server.close();
  assert.equal(await readFile(path, 'utf8'), 'not ours');
});

test('a stale socket is replaced', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'ctl.sock');
  await makeStaleSocket(path, join(dir, 'scratch.sock'));
  assert.ok((await lstat(path)).isSocket());
  const { log } = await startServer(t, { dir, path });
  assert.deepEqual(await exchange(path, 'list out\n'), ['output/csv/csv running', 'output/relay-client/out stopped', 'ok 2 elements']);
  assert.ok(log.lines.includes(`info: removed the stale socket ${path}`), JSON.stringify(log.lines));
});

test('a socket with a live agent behind it is an error, and that agent keeps working', async (t) => {
  const first = await startServer(t);
  const second = new SocketServer({ dispatcher: new ControlDispatcher(new FakeControlTarget()), path: first.path });
  await assert.rejects(second.start(), (e: unknown) => {
    assert.ok(e instanceof SocketServerError);
    assert.equal(e.message, `another agent is listening on ${first.path}; stop it or set another socket_path`);
    return true;
  });
  assert.deepEqual(await exchange(first.path, 'list out\n'), ['output/csv/csv running', 'output/relay-client/out stopped', 'ok 2 elements']);
});

test('a path that is not a socket is never deleted or followed', async (t) => {
  const cases: Array<{ what: string; make: (path: string, dir: string) => Promise<void>; check: (path: string, dir: string) => Promise<void> }> = [
    {
      what: 'a regular file',
      make: (p) => writeFile(p, 'keep me'),
      check: async (p) => assert.equal(await readFile(p, 'utf8'), 'keep me'),
    },
    {
      what: 'a directory',
      make: async (p) => {
        await mkdir(p);
        await writeFile(join(p, 'inside'), 'x');
      },
      check: async (p) => assert.deepEqual(await readdir(p), ['inside']),
    },
    {
      what: 'a symbolic link',
      // Even a link to a stale socket: following it would delete the socket it points to.
      make: async (p, dir) => {
        await makeStaleSocket(join(dir, 'target.sock'), join(dir, 'scratch.sock'));
        await symlink(join(dir, 'target.sock'), p);
      },
      check: async (p, dir) => {
        assert.ok((await lstat(p)).isSymbolicLink());
        assert.ok((await lstat(join(dir, 'target.sock'))).isSocket());
      },
    },
    {
      what: 'a symbolic link',
      make: (p, dir) => symlink(join(dir, 'nowhere'), p),
      check: async (p) => assert.ok((await lstat(p)).isSymbolicLink()),
    },
  ];
  for (const { what, make, check } of cases) {
    const dir = await tempDir(t);
    const path = join(dir, 'ctl.sock');
    await make(path, dir);
    const server = new SocketServer({ dispatcher: new ControlDispatcher(new FakeControlTarget()), path });
    await assert.rejects(server.start(), (e: unknown) => {
      assert.ok(e instanceof SocketServerError, String(e));
      assert.equal(e.message, `${path} exists and is not a socket (it is ${what}); not deleting it (set socket_path or remove it)`);
      return true;
    });
    await check(path, dir);
  }
});

test('socket paths of 108 bytes or more are refused; 107 bytes work', async (t) => {
  const dir = await tempDir(t);
  const pad = (bytes: number): string => join(dir, 'x'.repeat(bytes - Buffer.byteLength(dir) - 1));
  const accented = join(dir, 'é'.repeat(Math.ceil((108 - dir.length) / 2)));
  assert.ok(accented.length < 108, 'fewer than 108 characters, but more bytes');
  for (const path of [pad(108), pad(150), accented]) {
    const server = new SocketServer({ dispatcher: new ControlDispatcher(new FakeControlTarget()), path });
    await assert.rejects(server.start(), (e: unknown) => {
      assert.ok(e instanceof SocketServerError);
      assert.match(e.message, new RegExp(`is ${Buffer.byteLength(path)} bytes long; Unix socket paths must be shorter than 108 bytes`));
      return true;
    });
  }
  assert.deepEqual(await readdir(dir), [], 'nothing is created for a refused path');

  const path = pad(107);
  const { server } = await startServer(t, { dir, path });
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual(await exchange(path, 'list out\n'), ['output/csv/csv running', 'output/relay-client/out stopped', 'ok 2 elements']);
  await server.close();
  await assert.rejects(lstat(path), { code: 'ENOENT' });
});

test('in a deep directory, where no private name fits, the socket is bound in place and still gets its mode', async (t) => {
  const base = await tempDir(t);
  const dir = join(base, 'd'.repeat(90 - Buffer.byteLength(base) - 1));
  await mkdir(dir);
  const path = join(dir, 'ctl.sock');
  const { server } = await startServer(t, { dir, path });
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(dir), ['ctl.sock']);
  assert.deepEqual(await exchange(path, 'list out\n'), ['output/csv/csv running', 'output/relay-client/out stopped', 'ok 2 elements']);
  await server.close();
  await assert.rejects(lstat(path), { code: 'ENOENT' });
});

test('a socket in a directory that does not exist is a clear start-up error', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'missing', 'ctl.sock');
  const server = new SocketServer({ dispatcher: new ControlDispatcher(new FakeControlTarget()), path });
  await assert.rejects(server.start(), {
    name: 'SocketServerError',
    message: `cannot create the socket in ${join(dir, 'missing')}: the directory does not exist`,
  });
});

// ---- clients ----

test('sendControlLine returns the reply lines and whether it was ok', async (t) => {
  const { path } = await startServer(t);
  assert.deepEqual(await sendControlLine(path, 'list out', 5000), {
    lines: ['output/csv/csv running', 'output/relay-client/out stopped', 'ok 2 elements'],
    status: 'ok',
  });
  assert.deepEqual(await sendControlLine(path, 'control output/csv/csv trigger-now', 5000), {
    lines: ['error: trigger-now applies to sources only; output/csv/csv is an output'],
    status: 'error',
  });
});

test('sendControlLine throws ControlUnavailable when no agent answers', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(sendControlLine(join(dir, 'none.sock'), 'list', 5000), { name: 'ControlUnavailable', code: 'ENOENT' });

  const stale = join(dir, 'stale.sock');
  await makeStaleSocket(stale, join(dir, 'scratch.sock'));
  await assert.rejects(sendControlLine(stale, 'list', 5000), { name: 'ControlUnavailable', code: 'ECONNREFUSED' });

  const silent = net.createServer({ allowHalfOpen: true }, (s) => s.on('error', () => {}));
  const silentPath = join(dir, 'silent.sock');
  await new Promise<void>((resolve) => silent.listen(silentPath, resolve));
  t.after(() => silent.close());
  await assert.rejects(sendControlLine(silentPath, 'list', 200), (e: unknown) => {
    assert.ok(e instanceof ControlUnavailable);
    assert.equal(e.code, 'ETIMEDOUT');
    assert.equal(e.message, `no reply from the agent on ${silentPath} within 200 ms`);
    return true;
  });
});

test('socat, as users run it, gets every reply and can shut the agent down', async (t) => {
  const { path, target } = await startServer(t);
  const out = await new Promise<string>((resolve, reject) => {
    // -t 10: socat's default is to give up 0.5 s after its input ends; a loaded CI machine must not fail the test.
    const child = spawn('socat', ['-t', '10', `UNIX-CONNECT:${path}`, '-'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new Error('socat is not installed; install it (apt-get install -y socat) to run this test') : e),
    );
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`socat exited with ${code}; output: ${stdout}`))));
    child.stdin.end('list out\ncontrol source/procfs/memory pause\nshutdown\n');
  });
  assert.equal(
    out,
    'output/csv/csv running\noutput/relay-client/out stopped\nok 2 elements\nok paused 1 element: source/procfs/memory\nok shutting down\n',
  );
  assert.equal(target.shutdowns, 1);
  assert.equal(target.elements()[1]?.state, 'paused');
});
