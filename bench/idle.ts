// Scenario `idle` (main thread of the bench process): the agent with the default configuration (what
// `npm start` generates in an empty directory) left alone for 20 s; its CPU (every thread, from /proc) and
// resident memory. Baseline, measured alongside: a bare Node process that only keeps a timer.

import { spawn, type ChildProcess } from 'node:child_process';
import { MAIN_JS, log, processCpuMs, processRssMb, processThreads, rmrf, round, sleep, tempDir, waitUntil, type Scenario } from './util.js';

const IDLE_MS = Number(process.env['BENCH_IDLE_MS'] ?? 20_000);
/** After "agent is ready", the start-up work (worker compiles, first polls) settles before the clock starts. */
const SETTLE_MS = 1000;

interface Child {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

function start(args: string[], cwd: string): Child {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, NO_PRETTY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function stop(c: Child): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill('SIGTERM');
  const done = await Promise.race([c.exited.then(() => true), sleep(15_000).then(() => false)]);
  if (!done) {
    c.child.kill('SIGKILL');
    await c.exited;
  }
}

export const idle: Scenario = {
  name: 'idle',
  what: `the default agent (npm start config) left alone ${IDLE_MS / 1000} s: CPU and RSS, vs a bare Node process`,
  async run() {
    const dir = tempDir('alumet-bench-idle-');
    // As `npm start` runs it: `run` in a directory without a config, which writes and uses the default one.
    const agent = start(['--enable-source-maps', MAIN_JS, 'run'], dir);
    const bare = start(['-e', 'setInterval(() => {}, 1000)'], dir);
    try {
      await waitUntil(() => agent.output().includes('agent is ready') || agent.child.exitCode !== null, 'the default agent to be ready', 60_000);
      if (agent.child.exitCode !== null) throw new Error(`idle: the agent exited with code ${agent.child.exitCode}: ${agent.output().slice(-2000)}`);
      await sleep(SETTLE_MS);
      const pids = { agent: agent.child.pid!, bare: bare.child.pid! };
      const cpu0 = { agent: processCpuMs(pids.agent), bare: processCpuMs(pids.bare) };
      const t0 = performance.now();
      log(`idle: measuring the default agent (pid ${pids.agent}, ${processThreads(pids.agent)} threads) for ${IDLE_MS / 1000} s…`);
      await sleep(IDLE_MS);
      const wall = performance.now() - t0;
      const cpu = { agent: processCpuMs(pids.agent) - cpu0.agent, bare: processCpuMs(pids.bare) - cpu0.bare };
      const rss = { agent: processRssMb(pids.agent), bare: processRssMb(pids.bare) };
      const threads = processThreads(pids.agent);
      const json = {
        cpu_percent: round((cpu.agent / wall) * 100, 2),
        rss_mb: round(rss.agent, 1),
        threads,
        window_s: round(wall / 1000, 1),
        baseline_node: { cpu_percent: round((cpu.bare / wall) * 100, 2), rss_mb: round(rss.bare, 1) },
      };
      log(`idle: ${JSON.stringify(json)}`);
      return {
        json,
        rows: [
          { figure: 'CPU, default config, idle', value: json.cpu_percent, unit: '% of a core', target: { op: '<=', value: 1 } },
          { figure: 'RSS, default config', value: json.rss_mb, unit: 'MiB', baseline: { name: 'bare node', value: json.baseline_node.rss_mb } },
          { figure: 'baseline: bare node CPU / RSS', value: json.baseline_node.cpu_percent, unit: `% / ${json.baseline_node.rss_mb} MiB` },
        ],
      };
    } finally {
      await Promise.all([stop(agent), stop(bare)]);
      rmrf(dir);
    }
  },
};
