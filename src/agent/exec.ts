// `exec` and `watch` (main thread): measure while a child process (or an existing process) runs, with a
// poll of every source just before it starts and just after it ends; the agent then stops. `exec` also
// announces the child's descendants as it finds them, and measures the run for its report.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Logger } from '../protocol/logging.js';
import { editDistance } from '../protocol/suggest.js';
import type { Agent } from './agent.js';
import { childrenCpuTime } from './children-cpu.js';
import type { ChildRun } from './exec-report/report.js';
import { ProcessTree } from './process-tree.js';

/** How often `exec` looks for new descendants of its child. */
const FOLLOW_MS = 200;

/** The child could not be started (not found, not executable): a user error, with a hint. */
export class ChildError extends Error {
  override readonly name = 'ChildError';
  readonly exitCode = 1;
}

type ChildCommand =
  | { type: 'exec'; program: string; args: string[]; ignoreExitCode: boolean }
  | { type: 'watch'; pid: number };

export interface ChildOutcome {
  /** The agent's exit code. */
  readonly exitCode: number;
  /** What `exec` measured of its child's run (not `watch`, whose process is not the agent's child). */
  readonly run?: ChildRun;
}

/** Runs the child (or waits for the watched process) and returns the agent's exit code. */
export async function runChild(agent: Agent, cmd: ChildCommand, log: Logger): Promise<ChildOutcome> {
  try {
    return await measureChild(agent, cmd, log);
  } catch (e) {
    // The agent is running (its socket bound, its outputs open): shut it down before reporting the error.
    await agent.stop();
    throw e;
  }
}

async function measureChild(agent: Agent, cmd: ChildCommand, log: Logger): Promise<ChildOutcome> {
  await triggerAllSources(agent, log, 'a first measurement');
  if (cmd.type === 'watch') {
    if (!processExists(cmd.pid)) throw new ChildError(`process ${cmd.pid} does not exist`);
    log.info(`watching process ${cmd.pid}`);
    // Unlike Alumet (#356), watch announces its process too, so event-mode process sources follow it.
    await announce(agent, 'start', cmd.pid);
    await waitForProcessEnd(cmd.pid);
    log.info(`process ${cmd.pid} ended, the agent will now stop`);
    await triggerAllSources(agent, log, 'one last measurement');
    await announce(agent, 'end', cmd.pid);
    return { exitCode: 0 };
  }
  const before = childrenCpuTime();
  let following: NodeJS.Timeout | undefined;
  const { pid, code, signal, wallS } = await spawnAndWait(cmd.program, cmd.args, log, (pid) => {
    following = followDescendants(agent, pid);
    return announce(agent, 'start', pid);
  });
  clearInterval(following);
  // The child has been waited for: its CPU time, and that of every descendant it waited for, is counted now.
  const after = childrenCpuTime();
  const run: ChildRun = {
    command: [cmd.program, ...cmd.args],
    pid,
    exitCode: code,
    signal,
    wallS,
    cpu: { userS: after.userS - before.userS, systemS: after.systemS - before.systemS },
  };
  await triggerAllSources(agent, log, 'one last measurement');
  await announce(agent, 'end', pid);
  return { exitCode: exitCodeOf(cmd, code, signal, log), run };
}

function exitCodeOf(cmd: { ignoreExitCode: boolean }, code: number | null, signal: NodeJS.Signals | null, log: Logger): number {
  if (cmd.ignoreExitCode) return 0;
  if (signal !== null) {
    log.warn(`child process was killed by ${signal}; exiting with code 1`);
    return 1;
  }
  if (code !== 0) log.warn(`propagating failure exit code ${code} from the child process`);
  return code ?? 1;
}

/** Announces the child's descendants as they appear, so that the agent measures them too. */
function followDescendants(agent: Agent, pid: number): NodeJS.Timeout {
  const tree = new ProcessTree(pid);
  return setInterval(() => {
    const found = tree.discover();
    if (found.length > 0) void announce(agent, 'start', ...found);
  }, FOLLOW_MS);
}

async function triggerAllSources(agent: Agent, log: Logger, what: string): Promise<void> {
  const sources = agent.supervisor.elements().filter((e) => e.kind === 'source' && (e.state === 'running' || e.state === 'paused'));
  const failures = await agent.supervisor.apply(
    sources.map((s) => s.name),
    { type: 'trigger-now' },
  );
  for (const f of failures) log.error(`could not trigger ${what} of ${f.name}: ${f.error}`);
}

/** The processes the agent measures on purpose: sources that follow consumer events start (or stop) polling them. */
function announce(agent: Agent, type: 'start' | 'end', ...pids: number[]): Promise<void> {
  return agent.supervisor.publishConsumerEvent({ type, consumers: pids.map((pid) => ({ kind: 'process', id: String(pid) })) });
}

function spawnAndWait(
  program: string,
  args: string[],
  log: Logger,
  onSpawn: (pid: number) => Promise<void>,
): Promise<{ pid: number; code: number | null; signal: NodeJS.Signals | null; wallS: number }> {
  return new Promise((resolve, reject) => {
    const startedNs = process.hrtime.bigint();
    const child = spawn(program, args, { stdio: 'inherit' });
    let announced = Promise.resolve();
    child.once('error', (e: NodeJS.ErrnoException) => reject(new ChildError(spawnHint(program, e))));
    child.once('spawn', () => {
      log.info(`child process '${program}' spawned with pid ${child.pid}`);
      announced = onSpawn(child.pid!);
    });
    child.once('exit', (code, signal) => {
      const wallS = Number(process.hrtime.bigint() - startedNs) / 1e9;
      log.info(`child process exited with ${signal ?? `code ${code}`}, the agent will now stop`);
      void announced.then(() => resolve({ pid: child.pid!, code, signal, wallS }));
    });
  });
}

function spawnHint(program: string, e: NodeJS.ErrnoException): string {
  if (e.code === 'ENOENT') {
    let hint = '';
    if (/\s/.test(program)) hint = `; programs run without a shell: write the arguments separately, or use sh -c '${program}'`;
    else if (!program.includes('/')) {
      const near = nearbyFiles(program);
      if (near.length > 0) hint = `; did you mean ${near.map((n) => `./${n}`).join(' or ')}?`;
    }
    return `cannot run '${program}': program not found in PATH or at that path${hint}`;
  }
  if (e.code === 'EACCES') {
    return `cannot run '${program}': permission denied; make it executable (chmod +x ${program}) and readable (chmod +r ${program})`;
  }
  return `cannot run '${program}': ${e.message}`;
}

/** Files in the working directory whose name is within edit distance 2 of `program`. */
function nearbyFiles(program: string): string[] {
  try {
    return readdirSync('.').filter((f) => editDistance(f, program) < 3 && statSync(f).isFile());
  } catch {
    return [];
  }
}

/** True while `pid` runs; a zombie (ended, not yet reaped by its parent) counts as ended. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no procfs to ask: trust kill(0)
  }
}

/** Node has no pidfd: check every 100 ms whether the process is still there. */
function waitForProcessEnd(pid: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (!processExists(pid)) {
        clearInterval(timer);
        resolve();
      }
    }, 100);
  });
}
