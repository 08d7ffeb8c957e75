// Scenario `sources` (main thread of the bench process): 500 run-time sources at 10 Hz for 20 s in the real
// agent. The sources are procfs process sources, one per `sleep` process this scenario starts (a group
// selects them by their parent, the bench). Figures: worker threads in use (from `status`: elements with
// their own thread, plus the pool threads), RSS and CPU of the agent, and the share of the scheduled polls
// that ran. Baseline: the same agent with no process to follow.

import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sendControlLine } from '../src/control/client.js';
import { processSourcesConfig } from '../test/helpers/agent-process.js';
import { MAIN_JS, log, processCpuMs, processRssMb, processThreads, rmrf, round, sleep, tempDir, waitUntil, type Scenario } from './util.js';

const SOURCES = Number(process.env['BENCH_SOURCES'] ?? 500);
const HZ = 10;
const MEASURE_MS = Number(process.env['BENCH_SOURCES_MS'] ?? 20_000);

interface StatusLine {
  name: string;
  thread: string;
  polls: number;
}

async function status(sock: string): Promise<StatusLine[]> {
  const reply = await sendControlLine(sock, 'status --json', 30_000);
  return reply.lines.slice(0, -1).map((line) => {
    const e = JSON.parse(line) as { name: string; thread: string | null; counters: Record<string, number> };
    return { name: e.name, thread: e.thread ?? '?', polls: e.counters['polls'] ?? 0 };
  });
}

/** Worker threads the agent uses: one per element that has its own, plus each pool thread. */
function workerThreads(lines: StatusLine[]): { own: number; pool: number } {
  return { own: lines.filter((l) => l.thread === 'own').length, pool: new Set(lines.filter((l) => l.thread.startsWith('pool-')).map((l) => l.thread)).size };
}

function startAgent(dir: string): { child: ChildProcess; output: () => string } {
  writeFileSync(
    join(dir, 'c.toml'),
    processSourcesConfig({ refresh: '1s', groupKeys: [`ppid = ${process.pid}`, `poll_interval = "${1000 / HZ}ms"`, 'flush_interval = "1s"'], csvKeys: ['force_flush = false'] }),
  );
  const child = spawn(process.execPath, [MAIN_JS, '--config', 'c.toml'], { cwd: dir, env: { ...process.env, NO_PRETTY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

export const sources: Scenario = {
  name: 'sources',
  what: `${SOURCES} run-time sources (process sources) at ${HZ} Hz for ${MEASURE_MS / 1000} s: threads, RSS, CPU, polled ratio`,
  async run() {
    const dir = tempDir('alumet-bench-sources-');
    const sleepers: ChildProcess[] = [];
    const agent = startAgent(dir);
    const sock = join(dir, 'ctl.sock');
    try {
      await waitUntil(() => agent.output().includes('agent is ready') || agent.child.exitCode !== null, 'the agent to be ready', 60_000);
      if (agent.child.exitCode !== null) throw new Error(`sources: the agent exited: ${agent.output().slice(-2000)}`);
      const pid = agent.child.pid!;
      const baseline = { rss_mb: processRssMb(pid), threads: processThreads(pid) };

      for (let i = 0; i < SOURCES; i++) sleepers.push(spawn('sleep', ['3600'], { stdio: 'ignore' }));
      log(`sources: started ${SOURCES} sleep processes; waiting for their sources`);
      const pidSources = (lines: StatusLine[]): StatusLine[] => lines.filter((l) => l.name.startsWith('source/procfs/pid-'));
      let lines: StatusLine[] = [];
      const deadline = Date.now() + 60_000;
      while ((lines = pidSources(await status(sock))).length < SOURCES) {
        if (Date.now() > deadline) throw new Error(`sources: only ${lines.length} of ${SOURCES} sources after 60 s`);
        await sleep(500);
      }
      await sleep(2000); // the last sources placed reach their schedule

      const before = pidSources(await status(sock));
      const cpu0 = processCpuMs(pid);
      const t0 = performance.now();
      await sleep(MEASURE_MS);
      const all = await status(sock);
      const wall = performance.now() - t0;
      const cpu = processCpuMs(pid) - cpu0;
      const after = new Map(pidSources(all).map((l) => [l.name, l.polls]));
      let polled = 0;
      for (const l of before) polled += (after.get(l.name) ?? l.polls) - l.polls;
      const expected = (before.length * HZ * wall) / 1000;
      const threads = workerThreads(all);
      const json = {
        sources: before.length,
        threads: threads.own + threads.pool,
        threads_own: threads.own,
        threads_pool: threads.pool,
        cores: availableParallelism(),
        os_threads: processThreads(pid),
        rss_mb: round(processRssMb(pid), 1),
        cpu_percent: round((cpu / wall) * 100, 1),
        polled_ratio: round(polled / expected, 4),
        baseline_no_sources: { rss_mb: round(baseline.rss_mb, 1), os_threads: baseline.threads },
      };
      log(`sources: ${JSON.stringify(json)}`);
      return {
        json,
        rows: [
          { figure: `worker threads for ${json.sources} run-time sources`, value: json.threads, unit: 'threads', target: { op: '<=', value: json.cores + threads.own } },
          { figure: 'RSS with them', value: json.rss_mb, unit: 'MiB', target: { op: '<=', value: 250 }, baseline: { name: 'no sources', value: json.baseline_no_sources.rss_mb } },
          { figure: 'share of scheduled polls that ran', value: json.polled_ratio, unit: '', target: { op: '>=', value: 0.99 } },
          { figure: 'CPU of the agent', value: json.cpu_percent, unit: '% of a core' },
        ],
      };
    } finally {
      for (const s of sleepers) s.kill('SIGKILL');
      agent.child.kill('SIGTERM');
      await new Promise((r) => (agent.child.exitCode !== null ? r(undefined) : agent.child.once('exit', r)));
      rmrf(dir);
    }
  },
};
