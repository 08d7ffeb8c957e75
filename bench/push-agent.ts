// The real agent for the scenarios that measure outputs against real servers (main thread of the bench
// process): started as `node dist/src/main.js` in a directory with a config, stopped by SIGTERM, and the rate
// at which its output gets points accepted, read from `points_out` over its control socket.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sendControlLine } from '../src/control/client.js';
import { MAIN_JS, sleep, waitUntil } from './util.js';

export interface BenchAgent {
  readonly child: ChildProcess;
  /** SIGTERM, then resolves once the agent has exited. */
  stop(): Promise<void>;
}

/** Writes `config` as c.toml in `dir` and starts the agent there, logging warnings and errors to stderr. */
export function startAgent(dir: string, config: string): BenchAgent {
  writeFileSync(join(dir, 'c.toml'), config);
  const child = spawn(process.execPath, [MAIN_JS, '--config', 'c.toml', '--log-level', 'warn'], { cwd: dir, env: { ...process.env, NO_PRETTY: '1' }, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Points per second the agent's output got accepted (`points_out`) during `seconds`, counted from its first
 * accepted write. The agent's config puts its control socket at `ctl.sock` in `dir`.
 */
export async function acceptedPerSecond(dir: string, seconds: number, what: string): Promise<number> {
  const socket = join(dir, 'ctl.sock');
  const written = async (): Promise<number> => {
    const reply = await sendControlLine(socket, 'status output --json', 10_000);
    const line = reply.lines.find((l) => l.startsWith('{'));
    return line === undefined ? 0 : (JSON.parse(line) as { counters: { points_out: number } }).counters.points_out;
  };
  await waitUntil(async () => (await written().catch(() => 0)) > 0, `the first accepted ${what}`, 60_000);
  const w0 = await written();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  return ((await written()) - w0) / ((performance.now() - t0) / 1000);
}
