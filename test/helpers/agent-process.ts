// Test helpers: temp dirs, waiting on conditions, and running the real agent binary as a child process.

import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const MAIN_JS = join(REPO_ROOT, 'dist/src/main.js');

/** A fresh directory under the OS temp dir; remove it with `t.after(() => rmrf(dir))`. */
export function tempDir(prefix = 'alumet-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function rmrf(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

/** Polls `check` until it returns a truthy value; on timeout, the error says what was awaited and last seen. */
export async function waitFor<T>(check: () => T | Promise<T>, opts: { timeout?: number; what: string; seen?: () => string }): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeout ?? 20_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const seen = opts.seen ? opts.seen() : String(last instanceof Error ? last.message : last);
      throw new Error(`timed out waiting for ${opts.what}; last seen: ${seen}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Data rows of a CSV file written by the csv output (header excluded); [] while the file is missing. */
export function csvRows(path: string): string[][] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  return lines.slice(1).filter((l) => l.length > 0).map((l) => l.split(';'));
}

/** A row of the csv output: its fixed columns, and every attribute (header columns and late ones) by key. */
export interface CsvRecord {
  readonly metric: string;
  readonly timestamp: string;
  readonly value: string;
  readonly resource: string;
  readonly consumer: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** The rows of a csv output file as records (for files without quoted cells); [] while the file is missing. */
export function csvRecords(path: string): CsvRecord[] {
  if (!existsSync(path)) return [];
  const [header, ...lines] = readFileSync(path, 'utf8').split('\n');
  const keys = header!.split(';').slice(7, -1);
  return lines
    .filter((l) => l.length > 0)
    .map((line) => {
      const cells = line.split(';');
      const attributes: Record<string, string> = {};
      keys.forEach((k, i) => {
        if (cells[7 + i] !== '') attributes[k] = cells[7 + i]!;
      });
      for (const pair of cells.at(-1)!.split(',').filter(Boolean)) attributes[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
      return { metric: cells[0]!, timestamp: cells[1]!, value: cells[2]!, resource: `${cells[3]}/${cells[4]}`, consumer: `${cells[5]}/${cells[6]}`, attributes };
    });
}

/** Every line of the file ends with a newline and has as many cells as the header says (no half rows). */
export function assertCompleteCsv(path: string): void {
  const text = readFileSync(path, 'utf8');
  assert.ok(text.endsWith('\n'), 'the file ends with a complete line');
  const [header, ...rows] = text.slice(0, -1).split('\n');
  const cells = header!.split(';').length;
  for (const row of rows) assert.equal(row.split(';').length, cells, `row has ${cells} cells: ${row}`);
}

/** The csv output's line of the point balance the agent logs at shutdown. */
export function balance(output: string): { produced: number; written: number } {
  const m = /point balance: produced=(\d+); output\/csv\/csv: written=(\d+)/.exec(output);
  assert.ok(m, `the agent logs its point balance; output: ${output.slice(-1500)}`);
  return { produced: Number(m[1]), written: Number(m[2]) };
}

export interface AgentProcess {
  readonly child: ChildProcess;
  /** Everything the agent printed on stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or 128+signal). */
  readonly exited: Promise<number>;
  waitForLog(text: string | RegExp, timeout?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

export interface AgentProcessOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Run without the capabilities that let root read any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), through
   * util-linux's setpriv: for permission errors, which root never gets otherwise. The agent stays root, so it
   * reaches the checkout whatever the modes of the directories above it.
   */
  withoutFileCapabilities?: boolean;
}

/** Starts `node dist/src/main.js ARGS` in `cwd` (JSON logs, no TTY). */
export function startAgent(args: string[], opts: AgentProcessOptions): AgentProcess {
  const command = [process.execPath, '--enable-source-maps', MAIN_JS, ...args];
  const dropped = '-dac_override,-dac_read_search';
  if (opts.withoutFileCapabilities) command.unshift('setpriv', `--inh-caps=${dropped}`, `--bounding-set=${dropped}`);
  const child = spawn(command[0]!, command.slice(1), {
    cwd: opts.cwd,
    env: { ...process.env, NO_PRETTY: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 2)));
  });
  return {
    child,
    output: () => out,
    exited,
    waitForLog: (text, timeout = 30_000) =>
      waitFor(() => (typeof text === 'string' ? out.includes(text) : text.test(out)), {
        timeout,
        what: `log ${String(text)}`,
        seen: () => out.slice(-2000),
      }).then(() => undefined),
    kill: (signal = 'SIGTERM') => void child.kill(signal),
  };
}

/** Runs the agent to completion and returns its exit code and output. */
export async function runAgentToEnd(args: string[], opts: AgentProcessOptions & { timeout?: number }): Promise<{ code: number; output: string }> {
  const agent = startAgent(args, opts);
  const timer = setTimeout(() => agent.kill('SIGKILL'), opts.timeout ?? 60_000);
  const code = await agent.exited;
  clearTimeout(timer);
  return { code, output: agent.output() };
}

/**
 * A config with only procfs process sources (one group, `groupKeys` as its TOML lines), a CSV output at
 * out.csv and the control socket at ctl.sock: what tests and benchmarks of run-time sources start from.
 */
export function processSourcesConfig(opts: { refresh: string; groupKeys: string[]; csvKeys?: string[] }): string {
  return [
    '[plugins.procfs]',
    'kernel.enabled = false',
    'memory.enabled = false',
    'network.enabled = false',
    '[plugins.procfs.processes]',
    `refresh_interval = "${opts.refresh}"`,
    '[[plugins.procfs.processes.groups]]',
    ...opts.groupKeys,
    '[plugins.csv]',
    'output_path = "out.csv"',
    ...(opts.csvKeys ?? []),
    '[plugins.socket-control]',
    'socket_path = "ctl.sock"',
    '',
  ].join('\n');
}
