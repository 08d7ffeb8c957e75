#!/usr/bin/env node
// alumet-agent's command line (main thread): turns argv into a command, runs it, prints user errors as one
// line, and is the only place that calls process.exit.

import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, HELP_TEXT, UsageError, type CliCommand } from './cli-args.js';
import { ConfigError } from './agent/config/errors.js';
import { loadConfig, type LoadedConfig } from './agent/config/loader.js';
import { generateDefaultConfig } from './agent/config/default-config.js';
import { Agent } from './agent/agent.js';
import { StartupError } from './agent/startup-error.js';
import { runChild, ChildError } from './agent/exec.js';
import { ExecReporter, formatReport, type ExecReport } from './agent/exec-report/report.js';
import { createLogger, type Logger } from './protocol/logging.js';
import { sendControlLine, ControlUnavailable } from './control/client.js';
import { shellExpansionWarning } from './control/shell-expansion.js';
import { runTop } from './control/top/top-app.js';
import { PLUGINS } from './plugins/index.js';
import { plotCsv } from './plot/plot-command.js';
import { CsvFileError } from './plot/alumet-rows.js';
import { FilterError } from './plot/selection.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function load(cmd: CliCommand, opts: { noDefaultConfig?: boolean } = {}): LoadedConfig {
  const o = cmd.options;
  return loadConfig({
    path: o.config,
    noDefaultConfig: opts.noDefaultConfig ?? o.noDefaultConfig,
    overrides: o.configOverrides,
    plugins: PLUGINS,
    only: o.plugins,
    outputFile: o.outputFile,
    rustFlags: o.rustFlags,
  });
}

async function runAgent(cmd: CliCommand, log: Logger, pretty: boolean): Promise<number> {
  const loaded = load(cmd);
  if (loaded.generated) log.info(`default configuration file written to: ${loaded.path}`);
  log.info(`starting alumet-agent v${VERSION} with config ${loaded.path}`);
  for (const note of loaded.notes) log.info(note);
  if (cmd.type === 'exec' && cmd.report !== undefined) checkWritable(cmd.report);
  // exec's report is an output of its own, which gets every point like the others.
  const reporter = cmd.type === 'exec' ? new ExecReporter() : undefined;
  try {
    const plugins = reporter === undefined ? loaded.plugins : [...loaded.plugins, reporter.plugin];
    const agent = new Agent({ ...loaded, plugins, log, logLevel: cmd.options.logLevel, pretty });

    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals === 1) {
        log.info(`${signal} received, shutting down (send it again to force)`);
        void agent.stop();
      } else {
        log.warn(`${signal} received again: exiting without waiting for the pipeline`);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const stopped = agent.whenStopped();
    await agent.start();
    if (cmd.type === 'exec' || cmd.type === 'watch') {
      const outcome = await runChild(agent, cmd, log);
      await agent.stop();
      if (reporter !== undefined && outcome.run !== undefined) {
        const report = reporter.report(outcome.run);
        process.stderr.write(formatReport(report));
        if (cmd.type === 'exec' && cmd.report !== undefined && !writeReport(cmd.report, report, log)) return 1;
      }
      if (cmd.type === 'exec' && cmd.plot !== undefined) await plotRun(loaded, cmd.plot, log);
      return outcome.exitCode;
    }
    await stopped;
    return 0;
  } finally {
    reporter?.dispose();
  }
}

/** Fails before anything runs if `file` cannot be written (a missing directory, say). */
function checkWritable(file: string): void {
  const target = existsSync(file) ? file : dirname(resolve(file));
  try {
    accessSync(target, constants.W_OK);
  } catch (e) {
    throw new StartupError(`--report ${file}: cannot write there (${(e as NodeJS.ErrnoException).code === 'ENOENT' ? `${target} does not exist` : (e as Error).message})`);
  }
}

function writeReport(file: string, report: ExecReport, log: Logger): boolean {
  try {
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    return true;
  } catch (e) {
    log.error(`could not write the report to ${file}: ${(e as Error).message}`);
    return false;
  }
}

/** `exec --plot`: the plot of the CSV the run has just written; a failed plot is logged, the child's code stands. */
async function plotRun(loaded: LoadedConfig, output: string, log: Logger): Promise<void> {
  const csv = (loaded.plugins.find((p) => p.plugin.name === 'csv')?.config as { output_path?: string } | undefined)?.output_path;
  if (csv === undefined) {
    log.error('exec --plot: the csv plugin is not enabled, so the run wrote no CSV to plot');
    return;
  }
  try {
    const summary = await plotCsv({ csv, output, rate: false, metrics: [], attributes: [] });
    log.info(`plot of ${csv} written to ${output} (${summary.panels} panels, ${summary.series} series)`);
  } catch (e) {
    if (!(e instanceof CsvFileError)) throw e;
    log.error(`exec --plot: ${e.message}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const cmd = parseArgs(argv);
  const pretty = process.stderr.isTTY === true && !process.env['NO_PRETTY'];
  const log = createLogger(cmd.options.logLevel, pretty);
  switch (cmd.type) {
    case 'help':
      process.stdout.write(HELP_TEXT);
      return 0;
    case 'version':
      process.stdout.write(`alumet-agent ${VERSION}\n`);
      return 0;
    case 'config-regen':
      writeFileSync(cmd.options.config, generateDefaultConfig(PLUGINS, cmd.options.plugins));
      log.info(`default configuration file written to: ${cmd.options.config}`);
      return 0;
    case 'config-validate': {
      if (!existsSync(cmd.options.config)) throw new ConfigError(`${cmd.options.config}: the config file does not exist; create it or run "alumet-agent config regen"`);
      const loaded = load(cmd, { noDefaultConfig: true });
      for (const note of loaded.notes) log.info(note);
      process.stdout.write(`${loaded.path}: valid; enabled plugins: ${loaded.plugins.map((p) => p.plugin.name).join(', ') || '(none)'}\n`);
      return 0;
    }
    case 'plugins-list': {
      if (!cmd.status) {
        process.stdout.write(`Available plugins:\n${PLUGINS.map((p) => `- ${p.name} v${p.version}\n`).join('')}`);
        process.stdout.write('Edit the configuration file or use the --plugins flag to enable/disable plugins.\n');
        return 0;
      }
      const loaded = load(cmd);
      if (loaded.generated) log.info(`default configuration file written to: ${loaded.path}`);
      process.stdout.write(`Enabled plugins:\n${loaded.plugins.map((p) => `- ${p.plugin.name} v${p.plugin.version}\n`).join('')}`);
      process.stdout.write(`Disabled plugins:\n${loaded.disabled.map((n) => `- ${n}\n`).join('')}`);
      return 0;
    }
    case 'control': {
      if (cmd.words.length === 0) throw new UsageError('control needs a command to send, e.g. `alumet-agent control list`');
      // An unquoted `*` that the shell turned into file names: say so before the agent's reply puzzles the user.
      const expanded = shellExpansionWarning(cmd.words);
      if (expanded !== undefined) process.stderr.write(`${expanded}\n`);
      const socket = cmd.socket ?? controlSocketFromConfig(cmd);
      const reply = await sendControlLine(socket, cmd.words.join(' '), 10_000);
      for (const line of reply.lines) process.stdout.write(`${line}\n`);
      return reply.status === 'ok' ? 0 : 1;
    }
    case 'plot': {
      const summary = await plotCsv(cmd.request);
      process.stderr.write(`${cmd.request.output}: ${summary.panels} panel(s), ${summary.series} series, ${summary.points} points${summary.badRows > 0 ? `, ${summary.badRows} bad rows skipped` : ''}\n`);
      return 0;
    }
    case 'top': {
      if (!process.stdin.isTTY || !process.stdout.isTTY) throw new UsageError('top draws on a terminal: run it in one (for scripts, use "alumet-agent control status --json")', 'Usage: alumet-agent [OPTIONS] top [--socket PATH]');
      return runTop({ socket: cmd.socket ?? controlSocketFromConfig(cmd), input: process.stdin, output: process.stdout });
    }
    case 'run':
    case 'exec':
    case 'watch':
      return runAgent(cmd, log, pretty);
  }
}

/** The socket of the agent that this config describes (default path if the config says nothing). */
function controlSocketFromConfig(cmd: CliCommand): string {
  try {
    const loaded = load(cmd, { noDefaultConfig: true });
    const entry = loaded.plugins.find((p) => p.plugin.name === 'socket-control');
    return (entry?.config as { socket_path?: string } | undefined)?.socket_path ?? 'alumet-control.sock';
  } catch {
    return 'alumet-control.sock';
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    // The user's mistakes and the agent's refusals: one line (the usage hint on a second), never a stack.
    if (e instanceof UsageError || e instanceof ControlUnavailable || e instanceof ConfigError || e instanceof StartupError || e instanceof ChildError || e instanceof CsvFileError || e instanceof FilterError) {
      process.stderr.write(`error: ${e.message}\n${e instanceof UsageError ? `${e.hint}\n` : ''}`);
      process.exit(e.exitCode);
    }
    process.stderr.write(`internal error (a bug, please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
