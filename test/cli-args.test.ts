// Command-line parsing (src/agent/cli-args.ts): every command, global options anywhere, usage errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, HELP_TEXT, UsageError, type CliCommand, type GlobalOptions } from '../src/cli-args.js';

const DEFAULTS: GlobalOptions = { config: 'alumet-config.toml', noDefaultConfig: false, configOverrides: [], logLevel: 'info' };

function parse(argv: string[], env: NodeJS.ProcessEnv = {}): CliCommand {
  return parseArgs(argv, env);
}

test('each command parses to its command object', () => {
  const cases: Array<[string[], Record<string, unknown>]> = [
    [[], { type: 'run' }],
    [['run'], { type: 'run' }],
    [['exec', 'sleep', '1'], { type: 'exec', program: 'sleep', args: ['1'], ignoreExitCode: false }],
    [['exec', '--ignore-exit-code', 'false'], { type: 'exec', program: 'false', args: [], ignoreExitCode: true }],
    [['exec', '--', 'ls', '-la'], { type: 'exec', program: 'ls', args: ['-la'], ignoreExitCode: false }],
    [['exec', '--', '--weird-prog'], { type: 'exec', program: '--weird-prog', args: [], ignoreExitCode: false }],
    [['exec', '--report', 'r.json', 'true'], { type: 'exec', program: 'true', args: [], ignoreExitCode: false, report: 'r.json' }],
    [['--report=r.json', 'exec', '--ignore-exit-code', 'true', '--report', 'x'], { type: 'exec', program: 'true', args: ['--report', 'x'], ignoreExitCode: true, report: 'r.json' }],
    [['watch', '1234'], { type: 'watch', pid: 1234 }],
    [['watch', '2147483647'], { type: 'watch', pid: 2147483647 }],
    [['config', 'regen'], { type: 'config-regen' }],
    [['config', 'validate'], { type: 'config-validate' }],
    [['plugins', 'list'], { type: 'plugins-list', status: false }],
    [['plugins', 'list', '--status'], { type: 'plugins-list', status: true }],
    [['plugins', '--status', 'list'], { type: 'plugins-list', status: true }],
    [['control', 'list'], { type: 'control', words: ['list'] }],
    [['top'], { type: 'top' }],
    [['top', '--socket', 'a.sock'], { type: 'top', socket: 'a.sock' }],
    [['control', '--socket', '/tmp/a.sock', 'control', 'source/*', 'pause'], { type: 'control', socket: '/tmp/a.sock', words: ['control', 'source/*', 'pause'] }],
    [['control', 'status', '--socket=s.sock'], { type: 'control', socket: 's.sock', words: ['status'] }],
    [['control', '--', '-odd-word'], { type: 'control', words: ['-odd-word'] }],
    [['control', 'status', '--json'], { type: 'control', words: ['status', '--json'] }],
    [['control', 'status', '--json', 'source/procfs/*'], { type: 'control', words: ['status', 'source/procfs/*', '--json'] }],
    [['exec', '--plot', 'run.html', 'sleep', '1'], { type: 'exec', program: 'sleep', args: ['1'], ignoreExitCode: false, plot: 'run.html' }],
    [['plot', 'out.csv'], { type: 'plot', request: { csv: 'out.csv', output: 'out.html', rate: false, metrics: [], attributes: [] } }],
    [
      ['plot', 'a.csv', '-o', 'a.svg', '--metric', 'x_W,y', '--metric=z', '--resource', 'cpu_core:1', '--consumer', 'process', '--attribute', 'k=v,w', '--attribute', 'n=1', '--since', '30s', '--until', '2025-04-25T15:00:00Z', '--rate'],
      { type: 'plot', request: { csv: 'a.csv', output: 'a.svg', rate: true, metrics: ['x_W', 'y', 'z'], attributes: ['k=v,w', 'n=1'], resource: 'cpu_core:1', consumer: 'process', since: '30s', until: '2025-04-25T15:00:00Z' } },
    ],
    [['help'], { type: 'help' }],
    [['help', 'exec'], { type: 'help' }],
    [['-h'], { type: 'help' }],
    [['exec', '--help'], { type: 'help' }],
    [['--version'], { type: 'version' }],
    [['-V', 'run'], { type: 'version' }],
  ];
  for (const [argv, expected] of cases) {
    assert.deepEqual(parse(argv), { options: DEFAULTS, ...expected }, argv.join(' '));
  }
});

test('everything after exec PROG goes to the child, dashes and agent options included', () => {
  const cmd = parse(['--config', 'a.toml', 'exec', 'node', '--config', 'b.toml', '-e', 'x', '--', '--help']);
  assert.deepEqual(cmd, {
    type: 'exec',
    options: { ...DEFAULTS, config: 'a.toml' },
    program: 'node',
    args: ['--config', 'b.toml', '-e', 'x', '--', '--help'],
    ignoreExitCode: false,
  });
  // Even an option of another command, or an unknown one, is the child's once PROG is named.
  assert.deepEqual(parse(['exec', 'true', '--status', '--bogus']), {
    type: 'exec', options: DEFAULTS, program: 'true', args: ['--status', '--bogus'], ignoreExitCode: false,
  });
});

test('global options are read before and after the command, in both --opt VALUE and --opt=VALUE forms', () => {
  const before = parse([
    '--config', 'c.toml', '--no-default-config', '--config-override', 'a=1', '--config-override=b.c="x=y"',
    '--plugins', 'procfs, csv', '--output-file=out.csv', '--log-level', 'DEBUG', 'run',
  ]);
  const after = parse([
    'run', '--config=c.toml', '--no-default-config', '--config-override=a=1', '--config-override', 'b.c="x=y"',
    '--plugins=procfs,csv', '--output-file', 'out.csv', '--log-level=debug',
  ]);
  const options: GlobalOptions = {
    config: 'c.toml',
    noDefaultConfig: true,
    configOverrides: ['a=1', 'b.c="x=y"'],
    plugins: ['procfs', 'csv'],
    outputFile: 'out.csv',
    logLevel: 'debug',
  };
  assert.deepEqual(before, { type: 'run', options });
  assert.deepEqual(after, { type: 'run', options });
  assert.deepEqual(parse(['exec', '--plugins', 'csv', '--ignore-exit-code', 'true']).options.plugins, ['csv']);
  assert.deepEqual(parse(['--plugins', 'procfs', 'run', '--plugins', 'csv']).options.plugins, ['procfs', 'csv']);
  assert.deepEqual(parse(['watch', '42', '--log-level', 'warn']).options.logLevel, 'warn');
});

test('--config comes from the flag, else ALUMET_CONFIG, else alumet-config.toml', () => {
  assert.equal(parse([], {}).options.config, 'alumet-config.toml');
  assert.equal(parse([], { ALUMET_CONFIG: '/etc/alumet.toml' }).options.config, '/etc/alumet.toml');
  assert.equal(parse(['--config', 'flag.toml'], { ALUMET_CONFIG: '/etc/alumet.toml' }).options.config, 'flag.toml');
  assert.equal(parse([], { ALUMET_CONFIG: '' }).options.config, 'alumet-config.toml');
});

test('bad usage is a UsageError that says what is wrong, with a usage hint', () => {
  const cases: Array<[string[], RegExp, RegExp?]> = [
    [['--confg', 'x'], /^unknown option --confg; did you mean --config\?$/],
    [['run', '--output-fil=x'], /^unknown option --output-fil; did you mean --output-file\?$/],
    [['--frobnicate'], /^unknown option --frobnicate$/],
    [['-x'], /^unknown option -x$/],
    [['--config'], /^option --config needs a value: --config PATH$/],
    [['--config', '--no-default-config'], /^option --config needs a value \(PATH\), got the option --no-default-config; write --config=VALUE/],
    [['--config='], /^option --config needs a non-empty path$/],
    [['--no-default-config=yes'], /^option --no-default-config takes no value, got "yes"$/],
    [['--log-level', 'verbose'], /^option --log-level: unknown level "verbose" \(valid: trace, debug, info, warn, error, fatal, silent\)$/],
    [['--log-level', 'wrn'], /^option --log-level: unknown level "wrn"; did you mean warn\?/],
    [['--plugins', ' , '], /^option --plugins needs at least one plugin name/],
    [['plot'], /^plot needs the CSV file to plot$/],
    [['plot', 'a.csv', 'b.csv'], /^plot FILE\.csv takes no further arguments, got "b\.csv"$/],
    [['plot', 'a.csv', '-o', 'a.png'], /^the plot's output must end in \.svg \(static\) or \.html \(interactive\), got "a\.png"$/],
    [['run', '--metric', 'x'], /^option --metric belongs to the plot command, not to run$/],
    [['rnu'], /^unknown command "rnu"; did you mean run\? \(commands: run, exec, watch, config, plugins, control, plot, top, help\)$/],
    [['run', 'extra'], /^run takes no further arguments, got "extra"$/],
    [['exec'], /^exec needs a program to run$/, /exec \[--ignore-exit-code\] \[--report FILE\] \[--plot OUT.html\|OUT.svg\] PROG/],
    [['exec', '--report', 'true'], /^exec needs a program to run$/],
    [['exec', '--report=', 'true'], /^option --report needs a non-empty path$/],
    [['run', '--report', 'r.json'], /^option --report belongs to the exec command, not to run$/],
    [['exec', '--'], /^exec needs a program to run after "--"$/],
    [['watch'], /^watch needs the PID/, /watch PID/],
    [['watch', 'abc'], /^watch: PID must be an integer from 1 to 2147483647, got "abc"$/],
    [['watch', '0'], /got "0"$/],
    [['watch', '-5'], /^unknown option -5$/],
    [['watch', '2147483648'], /got "2147483648"$/],
    [['watch', '12', '13'], /^watch PID takes no further arguments, got "13"$/],
    [['config'], /^config needs a subcommand: regen or validate$/],
    [['config', 'regn'], /^unknown subcommand config regn; did you mean config regen\? \(valid: regen, validate\)$/],
    [['config', 'regen', 'now'], /^config regen takes no further arguments/],
    [['plugins'], /^plugins needs a subcommand: list$/],
    [['plugins', 'show'], /^unknown subcommand plugins show \(valid: list\)$/],
    [['control'], /^control needs a command to send/],
    [['control', '--socket=', 'list'], /^option --socket needs a non-empty path$/],
    [['--status', 'run'], /^option --status belongs to the plugins command, not to run$/, /plugins list \[--status\]/],
    [['run', '--ignore-exit-code'], /^option --ignore-exit-code belongs to the exec command, not to run$/],
    [['help', 'me', 'please'], /^help takes at most one command name/],
    [['top', 'now'], /^top takes no further arguments/],
    [['top', '--socket='], /^option --socket needs a non-empty path$/],
    [['run', '--socket', 'a.sock'], /^option --socket belongs to the control and top commands, not to run$/],
  ];
  for (const [argv, message, hint] of cases) {
    assert.throws(
      () => parse(argv),
      (e: unknown) => {
        assert.ok(e instanceof UsageError, `${argv.join(' ')}: not a UsageError: ${String(e)}`);
        assert.match(e.message, message, argv.join(' '));
        assert.match(e.hint, hint ?? /alumet-agent --help/, argv.join(' '));
        assert.equal(e.exitCode, 2);
        return true;
      },
      argv.join(' '),
    );
  }
});

test('the help text lists every command and option', () => {
  for (const word of ['run', 'exec', 'watch', 'config regen', 'config validate', 'plugins list', 'control', 'top', 'help',
    '--config', 'ALUMET_CONFIG', '--no-default-config', '--config-override', '--plugins', '--output-file', '--log-level',
    '--ignore-exit-code', '--status', '--socket', '-h, --help', '-V, --version', '--max-update-interval', '--source-channel-size',
    '--normal-worker-threads', 'ALUMET_NORMAL_THREADS', '--priority-worker-threads', 'ALUMET_PRIORITY_THREADS', '--relay-out', '--relay-in']) {
    assert.ok(HELP_TEXT.includes(word), `help text lacks ${word}`);
  }
  assert.ok(HELP_TEXT.split('\n').every((l) => l.length <= 110), 'a help line is too long');
});
