// Scenario `control` (main thread of the bench process): a real agent process with 50 elements (49 synthetic
// sources and the csv output) and socket-control; 1000 `control … pause` / `resume` lines sent one after the
// other over one connection, each timed from write to status line, idle and then while the throughput
// pipeline runs in this process. Baselines: a `list` line, which the agent answers without asking a worker,
// and a bare main ⇄ worker message round trip in this process (a control line needs one, between threads
// that were asleep).

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { startPipeline } from './throughput.js';
import { MAIN_JS, log, percentile, rmrf, round, tempDir, waitUntil, type Scenario } from './util.js';

const SOURCES = 49;
const LINES = 1000;
const WARMUP_LINES = 50;

/** One connection to the control socket, sending a line and resolving with its reply (status line last). */
class ControlConnection {
  readonly #socket: net.Socket;
  #pending = '';
  #lines: string[] = [];
  #waiter: ((reply: string[]) => void) | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => {
      this.#pending += chunk;
      let nl: number;
      while ((nl = this.#pending.indexOf('\n')) >= 0) {
        const line = this.#pending.slice(0, nl);
        this.#pending = this.#pending.slice(nl + 1);
        this.#lines.push(line);
        if (line === 'ok' || line.startsWith('ok ') || line.startsWith('error:')) {
          const reply = this.#lines;
          this.#lines = [];
          const w = this.#waiter;
          this.#waiter = undefined;
          w?.(reply);
        }
      }
    });
  }

  static open(path: string): Promise<ControlConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once('connect', () => resolve(new ControlConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends `line`; resolves with the reply and the time from the write to the status line, in ms. */
  send(line: string): Promise<{ reply: string[]; ms: number }> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const timer = setTimeout(() => reject(new Error(`control: no reply to ${JSON.stringify(line)} within 10 s`)), 10_000);
      this.#waiter = (reply) => {
        clearTimeout(timer);
        resolve({ reply, ms: performance.now() - t0 });
      };
      this.#socket.write(`${line}\n`);
    });
  }

  close(): void {
    this.#socket.end();
  }
}

interface Latencies {
  control: number[];
  list: number[];
}

/** The slowest control lines, for the log: which action, how long, and where in the sequence. */
function slowest(lat: Latencies, n = 5): string {
  return lat.control
    .map((ms, i) => ({ ms, i }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n)
    .map(({ ms, i }) => `#${i} ${i % 2 === 0 ? 'pause' : 'resume'} ${ms.toFixed(1)} ms`)
    .join(', ');
}

/** `count` control lines (pause, resume, alternating over the sources), each followed by a `list` line. */
async function exchange(conn: ControlConnection, count: number): Promise<Latencies> {
  const out: Latencies = { control: [], list: [] };
  for (let i = 0; i < count; i++) {
    const name = `source/synthetic/synthetic-${Math.floor(i / 2) % SOURCES}`;
    const c = await conn.send(`control ${name} ${i % 2 === 0 ? 'pause' : 'resume'}`);
    if (!c.reply.at(-1)!.startsWith('ok')) throw new Error(`control: ${name}: ${c.reply.join(' | ')}`);
    out.control.push(c.ms);
    const l = await conn.send(`list ${name}`);
    if (!l.reply.at(-1)!.startsWith('ok')) throw new Error(`control: list ${name}: ${l.reply.join(' | ')}`);
    out.list.push(l.ms);
  }
  return out;
}

const ECHO_URL = new URL('./echo-worker.js', import.meta.url);

/** `count` round trips to an echo worker, one at a time, each after a 1 ms pause (the threads fall asleep). */
async function workerRoundTrips(count: number): Promise<number[]> {
  const w = new Worker(ECHO_URL);
  try {
    await new Promise((resolve) => w.once('online', resolve));
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const t0 = performance.now();
      await new Promise((resolve) => {
        w.once('message', resolve);
        w.postMessage(i);
      });
      out.push(performance.now() - t0);
    }
    return out;
  } finally {
    await w.terminate();
  }
}

function startAgent(dir: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const overrides = [
    'plugins.procfs.enabled = false',
    `plugins.synthetic = { enabled = true, sources = ${SOURCES}, poll_interval = "1s", points_per_poll = 10 }`,
    'plugins.csv.output_path = "out.csv"',
    'plugins.socket-control.socket_path = "ctl.sock"',
  ];
  const args = ['--enable-source-maps', MAIN_JS, 'run', '--config', 'alumet-config.toml', ...overrides.flatMap((o) => ['--config-override', o])];
  const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, NO_PRETTY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export const control: Scenario = {
  name: 'control',
  what: `${LINES} pause/resume lines over one socket connection to an agent with ${SOURCES + 1} elements, idle and under the throughput load`,
  async run() {
    const dir = tempDir('alumet-bench-control-');
    const agent = startAgent(dir);
    let exitCode: number | null | undefined;
    void agent.exited.then((c) => (exitCode = c));
    try {
      await waitUntil(() => agent.output().includes('agent is ready') || exitCode !== undefined, 'the agent to be ready', 60_000);
      if (exitCode !== undefined) throw new Error(`control: the agent exited with code ${exitCode}: ${agent.output().slice(-2000)}`);
      const conn = await ControlConnection.open(join(dir, 'ctl.sock'));
      const elements = (await conn.send('list')).reply.length - 1;
      log(`control: agent ready with ${elements} elements; ${WARMUP_LINES} warm-up lines, then ${LINES} idle…`);
      await exchange(conn, WARMUP_LINES);
      const idle = await exchange(conn, LINES);
      const roundTrips = await workerRoundTrips(LINES);
      log(`control: idle p50 ${percentile(idle.control, 50).toFixed(3)} ms, p99 ${percentile(idle.control, 99).toFixed(3)} ms; slowest: ${slowest(idle)}`);
      log('control: starting the throughput pipeline…');
      const load = await startPipeline();
      let loaded: Latencies;
      try {
        await waitUntil(() => load.counted() > 0, 'the throughput pipeline to deliver');
        loaded = await exchange(conn, LINES);
      } finally {
        await load.stop();
      }
      log(`control: loaded p50 ${percentile(loaded.control, 50).toFixed(3)} ms, p99 ${percentile(loaded.control, 99).toFixed(3)} ms; slowest: ${slowest(loaded)}`);
      await conn.send('shutdown');
      conn.close();
      const p = (xs: number[], q: number): number => round(percentile(xs, q), 3);
      const json = {
        p50_ms: p(idle.control, 50),
        p99_ms: p(idle.control, 99),
        p99_loaded_ms: p(loaded.control, 99),
        p50_loaded_ms: p(loaded.control, 50),
        max_ms: p(idle.control, 100),
        max_loaded_ms: p(loaded.control, 100),
        elements,
        lines: LINES,
        baseline_list: { p50_ms: p(idle.list, 50), p99_ms: p(idle.list, 99), p50_loaded_ms: p(loaded.list, 50), p99_loaded_ms: p(loaded.list, 99) },
        baseline_worker_round_trip: { p50_ms: p(roundTrips, 50), p99_ms: p(roundTrips, 99) },
      };
      return {
        json,
        rows: [
          { figure: `p50 line → reply (${elements} elements)`, value: json.p50_ms, unit: 'ms', baseline: { name: 'list p50', value: json.baseline_list.p50_ms } },
          { figure: 'p99 line → reply, idle', value: json.p99_ms, unit: 'ms', target: { op: '<=', value: 2 }, baseline: { name: 'list p99', value: json.baseline_list.p99_ms } },
          { figure: 'p99 line → reply, under throughput load', value: json.p99_loaded_ms, unit: 'ms', target: { op: '<=', value: 10 }, baseline: { name: 'list p99 loaded', value: json.baseline_list.p99_loaded_ms } },
          { figure: 'baseline: list line p99, idle', value: json.baseline_list.p99_ms, unit: 'ms' },
          { figure: 'baseline: bare worker round trip p99', value: json.baseline_worker_round_trip.p99_ms, unit: `ms (p50 ${json.baseline_worker_round_trip.p50_ms} ms)` },
        ],
      };
    } finally {
      if (exitCode === undefined) {
        const stopped = await Promise.race([agent.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
        if (!stopped) {
          log('control: the agent did not exit after shutdown; killing it');
          agent.child.kill('SIGKILL');
          await agent.exited;
        }
      }
      rmrf(dir);
    }
  },
};
