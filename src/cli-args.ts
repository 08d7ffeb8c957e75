// Command-line parsing for alumet-agent: argv in, a CliCommand out, or a UsageError (exit 2). Pure; the
// options may come before or after the command, except after exec's program. Main thread.

import { closest } from './protocol/suggest.js';
import { RUST_FLAGS, type RustFlag, type RustFlagName } from './agent/config/rust-compat.js';
import type { PlotRequest } from './plot/plot-command.js';

/**
 * Bad command-line usage (exit 2). `message` says what is wrong; `hint` is the usage line of the command
 * concerned and where to find more, for main.ts to print on the next line.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
  readonly hint: string;

  constructor(message: string, hint = 'Usage: alumet-agent [OPTIONS] [COMMAND]. Run "alumet-agent --help" for the commands and options.') {
    super(message);
    this.hint = hint;
  }
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The options every command accepts. */
export interface GlobalOptions {
  /** `--config`, else `$ALUMET_CONFIG`, else `alumet-config.toml` (relative to the working directory). */
  config: string;
  /** `--no-default-config`: a missing config file is an error instead of being generated. */
  noDefaultConfig: boolean;
  /** `--config-override`, in the order given: TOML documents merged over the file. */
  configOverrides: string[];
  /** `--plugins a,b`: enable exactly these; absent, the config file decides. */
  plugins?: string[];
  /** `--output-file`: sets `plugins.csv.output_path`. */
  outputFile?: string;
  logLevel: LogLevel;
  /**
   * Options of the Rust agent's command line (`--max-update-interval`, `--normal-worker-threads`, …), from the
   * option or its environment variable, one entry per option; absent when none is given. See rust-compat.ts.
   */
  rustFlags?: RustFlag[];
}

export type CliCommand = { options: GlobalOptions } & (
  | { type: 'run' }
  /**
   * `report`: `--report FILE`, where the report of the child's run goes as JSON (it goes to stderr as text anyway);
   * `plot`: where to write the plot of the run's CSV once the child has exited.
   */
  | { type: 'exec'; program: string; args: string[]; ignoreExitCode: boolean; report?: string; plot?: string }
  | { type: 'watch'; pid: number }
  | { type: 'config-regen' }
  | { type: 'config-validate' }
  | { type: 'plugins-list'; status: boolean }
  /** `socket` absent: main.ts takes `socket_path` of `[plugins.socket-control]` from the config. */
  | { type: 'control'; socket?: string; words: string[] }
  | { type: 'plot'; request: PlotRequest }
  /** `socket` absent: as for control. */
  | { type: 'top'; socket?: string }
  | { type: 'help' }
  | { type: 'version' }
);

export const HELP_TEXT = `alumet-agent: measure energy, CPU, memory, network and processes (Alumet-compatible)

Usage: alumet-agent [OPTIONS] [COMMAND]

Commands:
  run                         Run the pipeline until shutdown, SIGINT or SIGTERM (the default)
  exec [--ignore-exit-code] [--report FILE] [--plot OUT.html|OUT.svg] PROG [ARGS...]
                              Run PROG (no shell) and measure until it exits; exit with its code.
                              Everything after PROG goes to PROG, dashes included. At the end, a
                              report of PROG's process tree on stderr (time, CPU, memory, energy,
                              carbon); --report FILE writes it as JSON too; --plot writes the plot
                              of the run's CSV
  watch PID                   Measure until the running process PID exits
  config regen                Write the default config (of the --plugins, if given) to --config
  config validate             Check the config and every enabled plugin's keys; exit 1 on problems
  plugins list [--status]     List the available plugins; with --status, the enabled and disabled ones
  control [--socket PATH] [--json] WORDS...
                              Send one command to a running agent and print the reply; exit 0 on ok.
                              PATH defaults to socket_path of [plugins.socket-control] in the config.
                              Quote patterns with a *, or the shell replaces it with file names.
                              Examples: control list | control status 'source/procfs/*' --json
                                        control control 'source/procfs/*' pause | control shutdown
  plot FILE.csv [-o OUT.svg|OUT.html] [--metric NAME...] [--resource KIND[:ID]]
       [--consumer KIND[:ID]] [--attribute KEY=VALUE...] [--since T] [--until T] [--rate]
                              Plot an Alumet CSV: one panel per unit, a line per series. Without
                              --metric, the most varying metrics. T is an RFC 3339 time or a
                              duration after the first point (30s). --rate shows delta metrics
                              per second. OUT defaults to FILE.html; .html is interactive
  top [--socket PATH]         Live view of a running agent's elements (state, points/s, errors,
                              backlog), refreshed every second; keys: p pause, r resume, t trigger,
                              space mark, s sort, / filter, q quit
  help                        Show this help

Options (before or after the command, but not after exec's PROG):
  --config PATH               Config file [env: ALUMET_CONFIG] [default: alumet-config.toml];
                              generated with the defaults if missing
  --no-default-config         Fail if the config file is missing instead of generating it
  --config-override TOML      Merge a TOML snippet over the config (repeatable), e.g.
                              --config-override 'plugins.procfs.kernel.poll_interval = "1s"'
  --plugins NAME,NAME...      Enable exactly these plugins, whatever the config says
  --output-file PATH          Write the CSV output to PATH (sets plugins.csv.output_path)
  --log-level LEVEL           ${LOG_LEVELS.join(', ')} [default: info]
  --normal-worker-threads N   Threads of the pool shared by the run-time sources (sets [pipeline]
                              pool_threads) [env: ALUMET_NORMAL_THREADS]
  --max-update-interval DURATION, --source-channel-size N,
  --priority-worker-threads N [env: ALUMET_PRIORITY_THREADS]
                              Options of the Rust agent, accepted with no effect here (an info line
                              says why)
  --relay-out ADDR, --relay-in ADDR
                              Set plugins.relay-client.relay_server / plugins.relay-server.address
                              (which enables that plugin, as its table would)
  -h, --help                  Show this help
  -V, --version               Show the version

Options may also be written --option=VALUE.
`;

const USAGE: Record<string, string> = {
  run: 'alumet-agent [OPTIONS] run',
  exec: 'alumet-agent [OPTIONS] exec [--ignore-exit-code] [--report FILE] [--plot OUT.html|OUT.svg] PROG [ARGS...]',
  watch: 'alumet-agent [OPTIONS] watch PID',
  config: 'alumet-agent [OPTIONS] config regen|validate',
  plugins: 'alumet-agent [OPTIONS] plugins list [--status]',
  control: 'alumet-agent [OPTIONS] control [--socket PATH] [--json] WORDS...',
  plot: 'alumet-agent plot FILE.csv [-o OUT.svg|OUT.html] [--metric NAME...] [--resource KIND[:ID]] [--consumer KIND[:ID]] [--attribute KEY=VALUE...] [--since T] [--until T] [--rate]',
  top: 'alumet-agent [OPTIONS] top [--socket PATH]',
  help: 'alumet-agent help',
};
const COMMANDS = Object.keys(USAGE);

function usage(command?: string): string {
  const line = command !== undefined && USAGE[command] !== undefined ? USAGE[command] : 'alumet-agent [OPTIONS] [COMMAND]';
  return `Usage: ${line}. Run "alumet-agent --help" for the commands and options.`;
}

interface OptionSpec {
  /** Name of the value in messages; absent for a flag. */
  value?: string;
  /** The commands the option belongs to (others are global). */
  commands?: readonly string[];
}

const OPTIONS: Record<string, OptionSpec> = {
  '--config': { value: 'PATH' },
  '--no-default-config': {},
  '--config-override': { value: 'TOML' },
  '--plugins': { value: 'NAME,NAME...' },
  '--output-file': { value: 'PATH' },
  '--log-level': { value: 'LEVEL' },
  ...Object.fromEntries(Object.entries(RUST_FLAGS).map(([name, spec]) => [name, { value: spec.value }])),
  '--help': {},
  '-h': {},
  '--version': {},
  '-V': {},
  '--ignore-exit-code': { commands: ['exec'] },
  '--report': { value: 'FILE', commands: ['exec'] },
  '--status': { commands: ['plugins'] },
  '--socket': { value: 'PATH', commands: ['control', 'top'] },
  // Passed on to the agent: `alumet-agent control status --json`.
  '--json': { commands: ['control'] },
  '--plot': { value: 'OUT.html', commands: ['exec'] },
  '-o': { value: 'OUT.svg|OUT.html', commands: ['plot'] },
  '--output': { value: 'OUT.svg|OUT.html', commands: ['plot'] },
  '--metric': { value: 'NAME', commands: ['plot'] },
  '--resource': { value: 'KIND[:ID]', commands: ['plot'] },
  '--consumer': { value: 'KIND[:ID]', commands: ['plot'] },
  '--attribute': { value: 'KEY=VALUE', commands: ['plot'] },
  '--since': { value: 'T', commands: ['plot'] },
  '--until': { value: 'T', commands: ['plot'] },
  '--rate': { commands: ['plot'] },
};

/**
 * Parses the arguments after the program name (`process.argv.slice(2)`). `env` supplies ALUMET_CONFIG.
 * Throws a UsageError that says what is wrong and carries the usage line as `hint`.
 */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliCommand {
  const options: GlobalOptions = {
    config: env['ALUMET_CONFIG'] || 'alumet-config.toml',
    noDefaultConfig: false,
    configOverrides: [],
    logLevel: 'info',
  };
  const rustFlags = new Map<RustFlagName, RustFlag>();
  const positionals: string[] = [];
  /** Command-specific options seen (every value, in order), to check once the command is known. */
  const local = new Map<string, Array<string | true>>();
  /** The value of a command option given once (the last one if repeated). */
  const localValue = (name: string): string | undefined => {
    const v = local.get(name)?.at(-1);
    return typeof v === 'string' ? v : undefined;
  };
  /** Every value of a repeatable command option. */
  const localValues = (name: string): string[] => (local.get(name) ?? []).filter((v): v is string => typeof v === 'string');
  let child: { program: string; args: string[] } | undefined;

  let i = 0;
  while (i < argv.length) {
    const arg = argv[i++]!;
    if (arg === '--') {
      const rest = argv.slice(i);
      if (positionals.length === 1 && positionals[0] === 'exec') {
        if (rest.length === 0) throw new UsageError('exec needs a program to run after "--"', usage('exec'));
        child = { program: rest[0]!, args: rest.slice(1) };
      } else {
        positionals.push(...rest);
      }
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      // Everything after exec's program belongs to the program, options included.
      if (positionals.length === 2 && positionals[0] === 'exec') {
        child = { program: arg, args: argv.slice(i) };
        break;
      }
      continue;
    }

    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = OPTIONS[name];
    if (spec === undefined) {
      const hint = closest(name, Object.keys(OPTIONS).filter((o) => o.startsWith('--')));
      throw new UsageError(`unknown option ${name}${hint ? `; did you mean ${hint}?` : ''}`, usage(positionals[0]));
    }
    let value: string | undefined;
    if (spec.value === undefined) {
      if (eq > 0) throw new UsageError(`option ${name} takes no value, got ${JSON.stringify(arg.slice(eq + 1))}`, usage(positionals[0]));
    } else if (eq > 0) {
      value = arg.slice(eq + 1);
    } else {
      value = argv[i++];
      if (value === undefined) throw new UsageError(`option ${name} needs a value: ${name} ${spec.value}`, usage(positionals[0]));
      if (value.startsWith('--')) {
        throw new UsageError(`option ${name} needs a value (${spec.value}), got the option ${value}; write ${name}=VALUE if the value starts with "--"`, usage(positionals[0]));
      }
    }

    switch (name) {
      case '-h':
      case '--help':
        return { type: 'help', options };
      case '-V':
      case '--version':
        return { type: 'version', options };
      case '--config':
        options.config = nonEmpty(name, value!);
        break;
      case '--no-default-config':
        options.noDefaultConfig = true;
        break;
      case '--config-override':
        options.configOverrides.push(value!);
        break;
      case '--plugins': {
        const names = value!.split(',').map((n) => n.trim()).filter((n) => n !== '');
        if (names.length === 0) throw new UsageError(`option --plugins needs at least one plugin name, got ${JSON.stringify(value)}`, usage());
        // Repeated --plugins add up: `--plugins procfs --plugins csv` enables both.
        options.plugins = [...(options.plugins ?? []), ...names];
        break;
      }
      case '--output-file':
        options.outputFile = nonEmpty(name, value!);
        break;
      case '--log-level': {
        const level = value!.toLowerCase();
        if (!(LOG_LEVELS as readonly string[]).includes(level)) {
          const hint = closest(level, LOG_LEVELS);
          throw new UsageError(
            `option --log-level: unknown level ${JSON.stringify(value)}${hint ? `; did you mean ${hint}?` : ''} (valid: ${LOG_LEVELS.join(', ')})`,
            usage(),
          );
        }
        options.logLevel = level as LogLevel;
        break;
      }
      default:
        if (Object.hasOwn(RUST_FLAGS, name)) {
          // Given twice, the last one wins.
          const flag = name as RustFlagName;
          rustFlags.set(flag, { name: flag, value: rustValue(flag, flag, value!), from: flag });
        } else {
          local.set(name, [...(local.get(name) ?? []), value ?? true]);
        }
    }
  }
  // An option wins over its environment variable.
  for (const [name, spec] of Object.entries(RUST_FLAGS) as Array<[RustFlagName, (typeof RUST_FLAGS)[RustFlagName]]>) {
    const text = spec.env === undefined ? undefined : env[spec.env];
    if (rustFlags.has(name) || text === undefined || text === '') continue;
    rustFlags.set(name, { name, value: rustValue(name, spec.env!, text), from: spec.env! });
  }
  if (rustFlags.size > 0) options.rustFlags = [...rustFlags.values()];

  const command = positionals[0] ?? 'run';
  for (const name of local.keys()) {
    const owners = OPTIONS[name]!.commands!;
    if (!owners.includes(command)) throw new UsageError(`option ${name} belongs to the ${owners.join(' and ')} command${owners.length > 1 ? 's' : ''}, not to ${command}`, usage(owners[0]));
  }
  const socket = localValue('--socket');
  if (socket === '') throw new UsageError('option --socket needs a non-empty path', usage(command));
  const socketOption = typeof socket === 'string' ? { socket } : {};
  const rest = positionals.slice(1);
  const noMore = (what: string, words: string[]): void => {
    if (words.length > 0) throw new UsageError(`${what} takes no further arguments, got ${words.map((w) => JSON.stringify(w)).join(' ')}`, usage(command));
  };

  switch (command) {
    case 'run':
      noMore('run', rest);
      return { type: 'run', options };
    case 'exec': {
      if (child === undefined) throw new UsageError('exec needs a program to run', usage('exec'));
      const report = localValue('--report');
      if (report === '') throw new UsageError('option --report needs a non-empty path', usage('exec'));
      return {
        type: 'exec',
        options,
        ...child,
        ignoreExitCode: local.has('--ignore-exit-code'),
        ...(report !== undefined ? { report } : {}),
        ...(local.has('--plot') ? { plot: plotOutput(localValue('--plot')!) } : {}),
      };
    }
    case 'watch': {
      if (rest.length === 0) throw new UsageError('watch needs the PID of the process to watch', usage('watch'));
      noMore('watch PID', rest.slice(1));
      return { type: 'watch', options, pid: parsePid(rest[0]!) };
    }
    case 'config': {
      const sub = rest[0];
      if (sub === undefined) throw new UsageError('config needs a subcommand: regen or validate', usage('config'));
      if (sub !== 'regen' && sub !== 'validate') {
        const hint = closest(sub, ['regen', 'validate']);
        throw new UsageError(`unknown subcommand config ${sub}${hint ? `; did you mean config ${hint}?` : ''} (valid: regen, validate)`, usage('config'));
      }
      noMore(`config ${sub}`, rest.slice(1));
      return { type: sub === 'regen' ? 'config-regen' : 'config-validate', options };
    }
    case 'plugins': {
      const sub = rest[0];
      if (sub !== 'list') {
        throw new UsageError(sub === undefined ? 'plugins needs a subcommand: list' : `unknown subcommand plugins ${sub} (valid: list)`, usage('plugins'));
      }
      noMore('plugins list', rest.slice(1));
      return { type: 'plugins-list', options, status: local.has('--status') };
    }
    case 'control': {
      if (rest.length === 0) throw new UsageError('control needs a command to send to the agent, e.g. "list" or "status"', usage('control'));
      const words = local.has('--json') ? [...rest, '--json'] : rest;
      return { type: 'control', options, words, ...socketOption };
    }
    case 'top':
      noMore('top', rest);
      return { type: 'top', options, ...socketOption };
    case 'plot': {
      if (rest.length === 0) throw new UsageError('plot needs the CSV file to plot', usage('plot'));
      noMore('plot FILE.csv', rest.slice(1));
      const csv = rest[0]!;
      const output = plotOutput(localValue('-o') ?? localValue('--output') ?? `${csv.replace(/\.csv$/i, '')}.html`);
      const request: PlotRequest = { csv, output, rate: local.has('--rate'), metrics: localValues('--metric').flatMap((m) => m.split(',')).filter((m) => m !== ''), attributes: localValues('--attribute') };
      for (const [option, key] of [['--resource', 'resource'], ['--consumer', 'consumer'], ['--since', 'since'], ['--until', 'until']] as const) {
        const value = localValue(option);
        if (value !== undefined) request[key] = value;
      }
      return { type: 'plot', options, request };
    }
    case 'help':
      if (rest.length > 1 || (rest.length === 1 && !COMMANDS.includes(rest[0]!))) {
        throw new UsageError(`help takes at most one command name (${COMMANDS.join(', ')}), got ${rest.map((w) => JSON.stringify(w)).join(' ')}`, usage('help'));
      }
      return { type: 'help', options };
    default: {
      const hint = closest(command, COMMANDS);
      throw new UsageError(`unknown command ${JSON.stringify(command)}${hint ? `; did you mean ${hint}?` : ''} (commands: ${COMMANDS.join(', ')})`, usage());
    }
  }
}

/** The checked value of a Rust agent option; `from` is the option or its environment variable. */
function rustValue(name: RustFlagName, from: string, text: string): string | number {
  try {
    return RUST_FLAGS[name].parse(text);
  } catch (e) {
    const what = from === name ? `option ${name}` : `environment variable ${from} (for ${name})`;
    throw new UsageError(`${what}: ${(e as Error).message}`, usage());
  }
}

/** A plot's output path: its extension says the format. */
function plotOutput(path: string): string {
  if (!/\.(svg|html)$/i.test(path)) throw new UsageError(`the plot's output must end in .svg (static) or .html (interactive), got ${JSON.stringify(path)}`, usage('plot'));
  return path;
}

function nonEmpty(name: string, value: string): string {
  if (value === '') throw new UsageError(`option ${name} needs a non-empty path`, usage());
  return value;
}

const PID_MAX = 2 ** 31 - 1;

function parsePid(text: string): number {
  const pid = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(pid >= 1 && pid <= PID_MAX)) {
    throw new UsageError(`watch: PID must be an integer from 1 to ${PID_MAX}, got ${JSON.stringify(text)}`, usage('watch'));
  }
  return pid;
}
