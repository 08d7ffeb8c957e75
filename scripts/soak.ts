// Soak run (`npm run soak -- --minutes N`): a busy agent for N minutes — synthetic at 1 kHz, procfs with its
// process sources, a pass-through filter, csv; the csv output paused and resumed in turn; a control command
// every 100 ms — printing RSS and heap each minute and the RSS growth after the first minute. Main thread.
//
// RSS swings by tens of MB within each pause cycle (the backlog fills, then is written), so it is read every
// 5 s and each minute is summed up by its mean, min and max; the growth compares minute means.

import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendControlLine } from '../src/control/client.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN_JS = join(REPO_ROOT, 'dist/src/main.js');
/** The agent's output csv is emptied every minute so a long run does not fill the disk. */
const MINUTE_MS = 60_000;
const RSS_EVERY_MS = 5_000;
const COMMAND_EVERY_MS = 100;
/** The csv output is paused for PAUSE_MS out of every CYCLE_MS. */
const CYCLE_MS = 10_000;
const PAUSE_MS = 4_000;
const TARGET_GROWTH = 0.1;

interface Minute {
  minute: number;
  /** Mean, min and max of the RSS readings of that minute. */
  meanKiB: number;
  minKiB: number;
  maxKiB: number;
  threads: number;
  heapUsed: number | undefined;
  heapTotal: number | undefined;
}

function usage(): never {
  process.stderr.write('usage: npm run soak -- [--minutes N] (default 10)\n');
  process.exit(2);
}

function parseMinutes(argv: string[]): number {
  let minutes = 10;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--minutes' || a === '-m') minutes = Number(argv[++i]);
    else if (a.startsWith('--minutes=')) minutes = Number(a.slice('--minutes='.length));
    else usage();
  }
  if (!Number.isFinite(minutes) || minutes <= 0) usage();
  return minutes;
}

/** VmRSS, VmHWM (KiB) and Threads from /proc/<pid>/status. */
function procStatus(pid: number): { rssKiB: number; hwmKiB: number; threads: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM'), threads: field('Threads') };
}

const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
const mibBytes = (b: number | undefined): string => (b === undefined ? '?' : `${(b / 1048576).toFixed(1)} MiB`);

async function main(): Promise<number> {
  const minutes = parseMinutes(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'alumet-soak-'));
  const socket = join(dir, 's.sock');
  const csv = join(dir, 'out.csv');
  writeFileSync(
    join(dir, 'soak.toml'),
    [
      '[pipeline]',
      'output_backlog = 50000',
      '[plugins.synthetic]',
      'poll_interval = "1ms"',
      'points_per_poll = 5',
      'metrics = 2',
      'attributes = 1',
      '[plugins.procfs]',
      'kernel.poll_interval = "100ms"',
      'memory.poll_interval = "100ms"',
      'network.poll_interval = "100ms"',
      'processes.refresh_interval = "1s"',
      '[plugins.filter]',
      'exclude = []',
      '[plugins.csv]',
      `output_path = ${JSON.stringify(csv)}`,
      'force_flush = false',
      '[plugins.socket-control]',
      `socket_path = ${JSON.stringify(socket)}`,
      '',
    ].join('\n'),
  );

  const logPath = join(dir, 'agent.log');
  const logFile = createWriteStream(logPath);
  // The same V8 flag as `npm start` and the alumet-agent binary (see bin/alumet-agent.js).
  const child = spawn(process.execPath, ['--max-semi-space-size=4', MAIN_JS, '--config', join(dir, 'soak.toml')], {
    cwd: dir,
    env: { ...process.env, NO_PRETTY: '1', ALUMET_MEMORY_LOG_MS: String(RSS_EVERY_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let latestHeap: { heapUsed: number; heapTotal: number } | undefined;
  let ready = false;
  let balance = '';
  let pending = '';
  const onLog = (chunk: Buffer): void => {
    logFile.write(chunk);
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.includes('agent is ready')) ready = true;
      if (line.includes('point balance')) balance = line;
      if (line.includes('"memory usage"')) {
        try {
          latestHeap = (JSON.parse(line) as { memory: { heapUsed: number; heapTotal: number } }).memory;
        } catch {
          // a line cut by the pipe: the next sample will do
        }
      }
    }
  };
  child.stdout!.on('data', onLog);
  child.stderr!.on('data', onLog);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const startDeadline = Date.now() + 60_000;
  while (!ready) {
    if (Date.now() > startDeadline || child.exitCode !== null) {
      process.stderr.write(`the agent did not start; see ${logPath}\n`);
      child.kill('SIGKILL');
      return 1;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = child.pid!;
  process.stdout.write(`soak: agent pid ${pid}, ${minutes} min, logs in ${logPath}\n`);
  process.stdout.write('minute  rss mean     rss min      rss max      threads  main heap used / total\n');

  const commands = [
    'list',
    'status',
    'control source/synthetic/* set-period 1ms',
    'control source/procfs/memory trigger-now',
    'status source/procfs/*',
    'control transform/filter/* pause',
    'control transform/filter/* resume',
    'help',
  ];
  let readings: number[] = [];
  let threads = 0;
  const summarize = (minute: number): Minute => {
    const m: Minute = {
      minute,
      meanKiB: readings.reduce((a, b) => a + b, 0) / readings.length,
      minKiB: Math.min(...readings),
      maxKiB: Math.max(...readings),
      threads,
      heapUsed: latestHeap?.heapUsed,
      heapTotal: latestHeap?.heapTotal,
    };
    readings = [];
    process.stdout.write(
      `${String(m.minute).padStart(6)}  ${mib(m.meanKiB).padEnd(11)}  ${mib(m.minKiB).padEnd(11)}  ${mib(m.maxKiB).padEnd(11)}  ${String(m.threads).padStart(7)}  ${mibBytes(m.heapUsed)} / ${mibBytes(m.heapTotal)}\n`,
    );
    truncateSync(csv, 0);
    return m;
  };
  let sent = 0;
  let errors = 0;
  let failures = 0;
  const t0 = Date.now();
  const endAt = t0 + minutes * 60_000;
  let nextCommand = t0;
  let nextReading = t0;
  let nextMinute = t0 + MINUTE_MS;
  let paused = false;
  const samples: Minute[] = [];

  while (Date.now() < endAt) {
    const now = Date.now();
    const inCycle = (now - t0) % CYCLE_MS;
    const wantPaused = inCycle >= CYCLE_MS - PAUSE_MS;
    let line = commands[sent % commands.length]!;
    if (wantPaused !== paused) {
      line = `control output/csv/csv ${wantPaused ? 'pause' : 'resume'}`;
      paused = wantPaused;
    }
    try {
      const reply = await sendControlLine(socket, line, 10_000);
      if (reply.status !== 'ok') {
        errors++;
        if (errors <= 5) process.stdout.write(`  reply to "${line}": ${reply.lines.at(-1)}\n`);
      }
    } catch (e) {
      failures++;
      if (failures <= 5) process.stdout.write(`  "${line}" failed: ${(e as Error).message}\n`);
    }
    sent++;
    if (Date.now() >= nextReading) {
      const st = procStatus(pid);
      readings.push(st.rssKiB);
      threads = st.threads;
      nextReading += RSS_EVERY_MS;
    }
    if (Date.now() >= nextMinute) {
      samples.push(summarize(samples.length + 1));
      nextMinute += MINUTE_MS;
    }
    nextCommand += COMMAND_EVERY_MS;
    const wait = nextCommand - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else nextCommand = Date.now();
  }

  if (readings.length > 0 && samples.length < Math.ceil(minutes)) samples.push(summarize(samples.length + 1));
  if (paused) await sendControlLine(socket, 'control output/csv/csv resume', 10_000).catch(() => undefined);
  const shutdown = await sendControlLine(socket, 'shutdown', 10_000).catch((e: Error) => ({ status: e.message }));
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
  if (code === 'timeout') child.kill('SIGKILL');
  logFile.end();

  process.stdout.write(`commands sent: ${sent} (${errors} error replies, ${failures} failed exchanges); shutdown: ${shutdown.status}; exit code: ${code}\n`);
  if (balance !== '') {
    try {
      process.stdout.write(`${(JSON.parse(balance) as { msg: string }).msg}\n`);
    } catch {
      process.stdout.write(`${balance}\n`);
    }
  }
  let verdict = 0;
  if (samples.length >= 3) {
    // "After the first minute": minute 2 is the first whole minute of steady running.
    const base = samples[1]!.meanKiB;
    const last = samples[samples.length - 1]!.meanKiB;
    const max = Math.max(...samples.slice(1).map((s) => s.maxKiB));
    const growth = (last - base) / base;
    process.stdout.write(
      `RSS mean in minute 2: ${mib(base)}; in the last minute: ${mib(last)}; highest reading since minute 2: ${mib(max)}; growth ${(growth * 100).toFixed(1)} % (target < ${TARGET_GROWTH * 100} %)\n`,
    );
    if (growth >= TARGET_GROWTH) verdict = 1;
  } else {
    process.stdout.write('run at least 3 minutes to measure RSS growth after the first minute\n');
  }
  if (code !== 0 || failures > 0) verdict = 1;
  if (verdict === 0 && !process.env['SOAK_KEEP']) rmSync(dir, { recursive: true, force: true });
  else process.stdout.write(`kept ${dir} for inspection\n`);
  return verdict;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`soak failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
