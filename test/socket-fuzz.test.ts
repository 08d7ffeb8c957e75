// Socket fuzzing against the real agent: thousands of random and mutated command lines (valid prefixes,
// unicode, control characters, NUL bytes, invalid UTF-8) in random write sizes, 1 MiB lines, half-written
// lines then disconnects, 500 connections at once, clients that never read their replies. After each batch
// the agent still answers `list` with the same elements in the same states, and its RSS stays bounded.
// The generator is a seeded PRNG; every assertion message carries the seed (ALUMET_FUZZ_SEED=N replays it).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { sendControlLine } from '../src/control/client.js';
import { parseCommand } from '../src/control/command-parser.js';
import { rmrf, startAgent, tempDir, waitFor, type AgentProcess } from './helpers/agent-process.js';
import { seededRandom } from './helpers/random.js';

const SEED = Number(process.env['ALUMET_FUZZ_SEED'] ?? 0x5eed1e55);
const RSS_LIMIT_KIB = 300 * 1024;
const TAG = `seed=${SEED}`;

const { rand, int, pick } = seededRandom(SEED);

// ---- what the server does with a line, mirrored so that each reply can be checked ----

const UTF8 = new TextDecoder('utf-8', { fatal: true });

type Expect = 'none' | 'error' | 'ok' | 'any';

/** The reply a line gets (the bytes between two `\n`), or 'unsafe' for a valid command that changes state. */
function expectation(line: Buffer): Expect | 'unsafe' {
  let bytes = line;
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, -1);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return 'error';
  }
  let command;
  try {
    command = parseCommand(text);
  } catch {
    return 'error';
  }
  if (command === undefined) return 'none';
  if (command.type === 'control' || command.type === 'shutdown') return 'unsafe';
  if (command.type === 'help') return 'ok';
  return 'any'; // list/status: ok, or an error for a pattern that matches nothing
}

// ---- line generators ----

const WORDS = [
  'control', 'list', 'status', 'help', 'shutdown', 'stop', 'pause', 'resume', 'enable', 'disable', 'set-period',
  'set-poll-interval', 'trigger-now', 'source', 'src', 'sources', 'transform', 'tra', 'output', 'out', '*', 'all',
  'any', 'source/synthetic/*', 'source/synthetic/synthetic-0', 'output/csv/csv', 'transform/filter/filter',
  '*/*/*', 'source/*', 'source//x', 'a/b', '/', '//', '***', 'syn*', '*-0', '10ms', '0s', '100us', '1h', '-1s',
  '99999999999999999999h', '1.5s', 'NaN', '', 'source/synth*tic/x', 'SOURCE', 'List', 'contrl', 'statuss',
];
const VALID = [
  'list', 'status', 'help', 'list source', 'status output/csv/csv', 'list */*/*', 'status source/synthetic/*',
  'control source/synthetic/* pause', 'control * resume', 'control output/csv/csv stop', 'shutdown',
  'control source/synthetic/synthetic-0 set-period 10ms', 'control src trigger-now', 'stop',
];
const UNICODE = [
  'é', 'ü', 'ß', 'Ω', '中文', '日本語', '😀', '👩‍👩‍👧', '\u0301', '\u200b', '\u200f', '\u202e', '\u2028', '\u2029', '\ufeff',
  '\u0085', '\u00a0', '\u3000', 'ｓｔａｔｕｓ', '𝐥𝐢𝐬𝐭', '\ufffd', '\uffff', 'ﬁ', 'İ', 'ǅ', '\u{10ffff}',
];
const INVALID_UTF8 = [
  [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80], [0xbf], [0xfe], [0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98],
];
const SPACE = [' ', '  ', '\t', ' \t ', '\r', '\x0b', '\x0c', '\u00a0'];

function randomBytes(): Buffer {
  const b = Buffer.alloc(int(120));
  for (let i = 0; i < b.length; i++) b[i] = int(256);
  return b;
}

function randomWords(): Buffer {
  const n = 1 + int(5);
  let s = '';
  for (let i = 0; i < n; i++) s += (i > 0 ? pick(SPACE) : rand() < 0.2 ? pick(SPACE) : '') + pick(WORDS);
  return Buffer.from(s);
}

function mutate(b: Buffer): Buffer {
  const bytes = [...b];
  const n = 1 + int(4);
  for (let k = 0; k < n; k++) {
    const at = int(bytes.length + 1);
    switch (int(8)) {
      case 0: if (bytes.length) bytes[Math.min(at, bytes.length - 1)] = int(256); break;
      case 1: bytes.splice(at, 0, int(256)); break;
      case 2: bytes.splice(at, 1); break;
      case 3: bytes.splice(at, 0, ...Buffer.from(pick(UNICODE))); break;
      case 4: bytes.splice(at, 0, ...pick(INVALID_UTF8)); break;
      case 5: bytes.splice(at, 0, 0); break;
      case 6: bytes.splice(at); break; // a valid prefix
      case 7: bytes.splice(at, 0, ...Buffer.from(pick(SPACE) + pick(WORDS))); break;
    }
  }
  return Buffer.from(bytes.filter((x) => x !== 0x0a));
}

function unicodeLine(): Buffer {
  const parts: Buffer[] = [];
  const n = 1 + int(6);
  for (let i = 0; i < n; i++) {
    const r = int(4);
    if (r === 0) parts.push(Buffer.from(pick(UNICODE)));
    else if (r === 1) parts.push(Buffer.from(pick(INVALID_UTF8)));
    else if (r === 2) parts.push(Buffer.from(pick(WORDS)));
    else parts.push(Buffer.from(String.fromCodePoint(int(0x110000 - 0x800) + (int(2) ? 0 : 0x800)).replace(/[\ud800-\udfff]/g, 'x')));
    if (rand() < 0.5) parts.push(Buffer.from(pick(SPACE)));
  }
  return Buffer.concat(parts).filter((x) => x !== 0x0a) as Buffer;
}

/** A line that is not a valid state-changing command (drawn again until it is not). */
function fuzzLine(): { line: Buffer; expect: Expect } {
  for (;;) {
    const r = int(10);
    let line: Buffer;
    if (r < 2) line = randomBytes().filter((x) => x !== 0x0a) as Buffer;
    else if (r < 4) line = randomWords();
    else if (r < 7) line = mutate(Buffer.from(pick(VALID)));
    else if (r < 9) line = unicodeLine();
    else line = Buffer.from(pick(['', ' ', '\t', '\r', 'list', 'status', 'help', 'list output', 'status src']));
    const expect = expectation(line);
    if (expect !== 'unsafe') return { line, expect };
  }
}

// ---- a client that sends bytes in random pieces and collects the replies ----

interface Exchange {
  /** Status lines, in order. */
  statuses: string[];
  lines: string[];
}

function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Writes `data` in random pieces, half-closes, and collects every reply line until the server closes. */
async function exchange(path: string, data: Buffer): Promise<Exchange> {
  const socket = await connect(path);
  const out: Exchange = { statuses: [], lines: [] };
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const l of parts) {
      out.lines.push(l);
      if (l === 'ok' || l.startsWith('ok ') || l.startsWith('error: ')) out.statuses.push(l);
    }
  });
  let isClosed = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  socket.on('error', () => {});
  let at = 0;
  // The server may close first (a line too long): then the rest is not sent.
  while (at < data.length && !isClosed) {
    const n = 1 + int(rand() < 0.3 ? 8 : 4096);
    if (!socket.write(data.subarray(at, at + n))) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
    at += n;
  }
  socket.end();
  await closed;
  return out;
}

// ---- the agent under test ----

let dir: string;
let agent: AgentProcess;
let socketPath: string;
let baseline: string[];

async function listLines(): Promise<string[]> {
  const reply = await sendControlLine(socketPath, 'list', 20_000);
  assert.equal(reply.status, 'ok', `${TAG}: list answers ok: ${reply.lines.join(' | ')}`);
  return reply.lines;
}

function rssKiB(): number {
  const status = readFileSync(`/proc/${agent.child.pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]);
}

/** The agent is alive, answers `list` with the same elements in the same states, and stays small. */
async function assertHealthy(after: string): Promise<void> {
  assert.equal(agent.child.exitCode, null, `${TAG}: the agent is still running after ${after}; output: ${agent.output().slice(-1500)}`);
  assert.deepEqual(await listLines(), baseline, `${TAG}: no element changed state after ${after}`);
  const rss = rssKiB();
  assert.ok(rss < RSS_LIMIT_KIB, `${TAG}: RSS ${Math.round(rss / 1024)} MiB after ${after} (limit ${RSS_LIMIT_KIB / 1024} MiB)`);
}

before(async () => {
  dir = tempDir('fz-');
  socketPath = join(dir, 's.sock');
  writeFileSync(
    join(dir, 'c.toml'),
    [
      '[plugins.synthetic]',
      'poll_interval = "20ms"',
      'points_per_poll = 10',
      'sources = 2',
      '[plugins.filter]',
      'exclude = []',
      '[plugins.csv]',
      'output_path = "out.csv"',
      'force_flush = false',
      '[plugins.socket-control]',
      'socket_path = "s.sock"',
      '',
    ].join('\n'),
  );
  agent = startAgent(['--config', 'c.toml'], { cwd: dir });
  await agent.waitForLog('agent is ready');
  baseline = await listLines();
  assert.equal(baseline.at(-1), "ok 4 elements", `${TAG}: ${baseline.join("\n")}`);
});

after(async () => {
  if (agent.child.exitCode === null) {
    agent.kill('SIGTERM');
    const timer = setTimeout(() => agent.kill('SIGKILL'), 20_000);
    await agent.exited;
    clearTimeout(timer);
  }
  rmrf(dir);
});

test('thousands of random and mutated lines each get the reply they should, and change nothing', async () => {
  let total = 0;
  for (let batch = 0; batch < 60; batch++) {
    const conversations = Array.from({ length: 8 }, () => Array.from({ length: 1 + int(60) }, () => fuzzLine()));
    const results = await Promise.all(conversations.map((lines) => exchange(socketPath, Buffer.concat(lines.flatMap(({ line }) => [line, Buffer.from('\n')])))));
    conversations.forEach((lines, c) => {
      const expected = lines.filter((l) => l.expect !== 'none');
      const got = results[c]!.statuses;
      const shown = (i: number): string => JSON.stringify(expected[i]?.line.toString('latin1'));
      assert.equal(got.length, expected.length, `${TAG} batch ${batch} connection ${c}: one status line per non-blank line; sent ${lines.map((l) => JSON.stringify(l.line.toString('latin1'))).join(', ')}; got ${got.join(' | ')}`);
      expected.forEach((e, i) => {
        if (e.expect === 'error') assert.match(got[i]!, /^error: /, `${TAG} batch ${batch}: ${shown(i)} gets an error`);
        if (e.expect === 'ok') assert.match(got[i]!, /^ok/, `${TAG} batch ${batch}: ${shown(i)} gets ok`);
        assert.doesNotMatch(got[i]!, /internal error/, `${TAG} batch ${batch}: ${shown(i)}: ${got[i]}`);
      });
      total += lines.length;
    });
    if (batch % 5 === 4) await assertHealthy(`batch ${batch}`);
  }
  assert.ok(total > 2000, `${TAG}: only ${total} lines`);
  await assertHealthy('the random lines');
});

test('a line of 1 MiB gets "line too long" and the connection closes; so does an endless line, in tiny pieces', async () => {
  for (const data of [
    Buffer.concat([Buffer.from('status '), Buffer.alloc(1024 * 1024, 'x'), Buffer.from('\nlist\n')]),
    Buffer.concat([Buffer.from('list\n'), randomBytes().filter((x) => x !== 0x0a) as Buffer, Buffer.alloc(200_000, 0xff)]),
  ]) {
    const r = await exchange(socketPath, data);
    assert.match(r.statuses.at(-1) ?? '', /^error: line too long/, `${TAG}: ${r.lines.join(' | ')}`);
  }
  await assertHealthy('1 MiB lines');
});

test('half-written lines followed by a disconnect crash nothing', async () => {
  const prefixes = ['control source/synthetic/* pau', 'shutdow', 'stop', 'control * stop', 'list', 'status output/csv/c', '\xff\xfe', ''];
  for (let round = 0; round < 10; round++) {
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const s = await connect(socketPath);
        s.on('error', () => {});
        // A complete harmless line, then an unfinished one (even a state-changing one): no `\n`, no half-close.
        s.write(`${pick(['list', 'help', 'status'])}\n${pick(prefixes)}${rand() < 0.5 ? '' : 'xyz'}`);
        await new Promise((r) => setImmediate(r));
        s.destroy();
      }),
    );
  }
  await assertHealthy('half-written lines');
});

test('500 connections at once: 128 are served, the rest are told "too many connections", and the agent survives', async () => {
  const sockets: net.Socket[] = [];
  const refused: string[] = [];
  await Promise.all(
    Array.from({ length: 500 }, async () => {
      const s = await connect(socketPath);
      sockets.push(s);
      s.on('error', () => {});
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        if (d.startsWith('error: too many connections')) refused.push(d);
      });
    }),
  );
  await waitFor(() => refused.length >= 500 - 128, { what: `${TAG}: 372 refusals`, seen: () => String(refused.length) });
  assert.equal(refused.length, 500 - 128, `${TAG}: exactly the connections past 128 are refused`);
  assert.match(refused[0]!, /^error: too many connections \(limit 128\)/);
  for (const s of sockets) s.destroy();
  await waitFor(async () => (await sendControlLine(socketPath, 'list', 10_000).catch(() => undefined))?.status === 'ok', { what: `${TAG}: a free connection slot` });
  await assertHealthy('500 connections');
});

test('clients that never read their replies are throttled: memory stays bounded and others are served', async () => {
  // Replies to the `help` lines fill each socket's buffers, so the long lines after them pile up in the
  // agent unless it stops reading: 100 such clients would otherwise make it hold 256 lines of 64 KiB each.
  const data = Buffer.from(`${'help\n'.repeat(300)}${`status ${'z'.repeat(65_000)}\n`.repeat(300)}`);
  const silent: net.Socket[] = [];
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      const s = await connect(socketPath);
      silent.push(s);
      s.on('error', () => {});
      s.pause();
      s.write(data);
    }),
  );
  // Until the agent has read all it is going to (the clients' unsent bytes stop shrinking), it must stay
  // small and serve others.
  let unsent = -1;
  let steady = 0;
  while (steady < 3) {
    await assertHealthy('100 clients that do not read');
    const now = silent.reduce((n, s) => n + s.writableLength, 0);
    steady = now === unsent ? steady + 1 : 0;
    unsent = now;
  }
  for (const s of silent) s.destroy();
  await assertHealthy('the silent clients left');
});
