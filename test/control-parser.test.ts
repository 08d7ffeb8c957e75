// Control patterns and command lines: every form the Rust socket-control plugin accepts gives the same
// requests here, and every malformed form gets a message that says what would be valid.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ControlError, controlRequests, parseCommand, type Command } from '../src/control/command-parser.js';
import { formatPattern, formatString, matches, parsePattern, PatternError, type NamedElement } from '../src/control/pattern.js';

/** `kind/plugin/element action`, with each string pattern spelled as written (exact, prefix*, *suffix, *). */
function requests(line: string): string[] {
  const command = parseCommand(line);
  assert.ok(command !== undefined && command.type === 'control', `${line} should parse as a control command`);
  return controlRequests(command).map((r) => {
    const arg = r.action.type === 'set-period' ? ` ${r.action.periodNs}ns` : '';
    return `${r.kind}/${formatString(r.plugin)}/${formatString(r.element)} ${r.action.type}${arg}`;
  });
}

function parseError(line: string): string {
  try {
    parseCommand(line);
  } catch (e) {
    assert.ok(e instanceof ControlError, `${line}: expected a ControlError, got ${String(e)}`);
    return e.message;
  }
  assert.fail(`${JSON.stringify(line)} should not parse`);
}

test('patterns parse into a kind and two string patterns', () => {
  const cases: Array<[string, string | undefined, string, string]> = [
    // text, kind, plugin as {type:text}, element as {type:text}
    ['source', 'source', 'any:', 'any:'],
    ['src', 'source', 'any:', 'any:'],
    ['sources', 'source', 'any:', 'any:'],
    ['tra', 'transform', 'any:', 'any:'],
    ['transforms', 'transform', 'any:', 'any:'],
    ['out', 'output', 'any:', 'any:'],
    ['outputs', 'output', 'any:', 'any:'],
    ['*', undefined, 'any:', 'any:'],
    ['all', undefined, 'any:', 'any:'],
    ['any', undefined, 'any:', 'any:'],
    ['source/procfs/memory', 'source', 'exact:procfs', 'exact:memory'],
    ['output/*/*', 'output', 'any:', 'any:'],
    ['*/pro*/*ory', undefined, 'prefix:pro', 'suffix:ory'],
    ['sources/my-plugin/my-source', 'source', 'exact:my-plugin', 'exact:my-source'],
    ['source/a/b/c', 'source', 'exact:a', 'exact:b/c'],
    ['source/a/b/*', 'source', 'exact:a', 'prefix:b/'],
    ['source/Procfs/MEM*', 'source', 'exact:Procfs', 'prefix:MEM'],
  ];
  for (const [text, kind, plugin, element] of cases) {
    const p = parsePattern(text);
    const show = (s: typeof p.plugin): string => `${s.type}:${s.type === 'any' ? '' : s.text}`;
    assert.deepEqual([p.kind, show(p.plugin), show(p.element), p.text], [kind, plugin, element, text], text);
  }
});

test('malformed patterns are refused with Alumet-like messages that say what is valid', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /^invalid pattern: the string is empty; write a kind/],
    ['source/without-element', /^bad pattern, expected kind\/plugin\/element but got 'source\/without-element'; write a kind alone/],
    ['source/', /^bad pattern, expected kind\/plugin\/element but got 'source\/'/],
    ['source//memory', /^invalid pattern: the string is empty \(plugin part of "source\/\/memory"\); write name, prefix\*, \*suffix or \*$/],
    ['source/procfs/', /^invalid pattern: the string is empty \(element part of "source\/procfs\/"\)/],
    ['/procfs/memory', /^invalid pattern: the string is empty \(kind part of "\/procfs\/memory"\); valid kinds are src\|source\|sources/],
    ['source/a*b/c', /^invalid pattern: asterisk '\*' in the middle of the string "a\*b" \(plugin part of "source\/a\*b\/c"\)/],
    ['source/p/a*b*c', /asterisk '\*' in the middle of the string "a\*b\*c"/],
    ['source/p/*a*', /asterisk '\*' in the middle of the string "\*a\*"/],
    ['source/p/**', /asterisk '\*' in the middle of the string "\*\*"/],
    ['foo', /^invalid element kind "foo"; valid kinds are src\|source\|sources, tra\|transform\|transforms, out\|output\|outputs, \*\|all\|any$/],
    ['sourc', /^invalid element kind "sourc"; did you mean source\? valid kinds are/],
    ['Source/procfs/memory', /^invalid element kind "Source" in pattern "Source\/procfs\/memory"; did you mean source\?/],
    ['s*/a/b', /^invalid element kind "s\*"/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parsePattern(text), (e: unknown) => e instanceof PatternError && message.test(e.message), text);
  }
});

test('matching is by kind, plugin and element, case-sensitive', () => {
  const memory: NamedElement = { kind: 'source', plugin: 'procfs', element: 'memory' };
  const csv: NamedElement = { kind: 'output', plugin: 'csv', element: 'csv' };
  const filter: NamedElement = { kind: 'transform', plugin: 'filter', element: 'filter' };
  const cases: Array<[string, NamedElement, boolean]> = [
    ['source/procfs/memory', memory, true],
    ['source/procfs/Memory', memory, false],
    ['source/PROCFS/memory', memory, false],
    ['output/procfs/memory', memory, false],
    ['*/procfs/memory', memory, true],
    ['source', memory, true],
    ['source', csv, false],
    ['*', csv, true],
    ['all', filter, true],
    ['source/proc*/*', memory, true],
    ['source/*fs/mem*', memory, true],
    ['source/*fs/*ry', memory, true],
    ['source/*fs/*ro', memory, false],
    ['source/procfsx*/*', memory, false],
    ['source/*/memoryx', memory, false],
    ['tra/*/*', filter, true],
    ['out/csv/csv', csv, true],
    ['out/csv/c', csv, false],
  ];
  for (const [text, element, expected] of cases) {
    assert.equal(matches(parsePattern(text), element), expected, `${text} vs ${element.kind}/${element.plugin}/${element.element}`);
  }
});

test('the plugin part accepts the Rust crate name: plugin-NAME also matches plugin NAME', () => {
  const memory: NamedElement = { kind: 'source', plugin: 'procfs', element: 'memory' };
  const attribution: NamedElement = { kind: 'transform', plugin: 'energy-attribution', element: 'attribution' };
  const crateNamed: NamedElement = { kind: 'source', plugin: 'plugin-x', element: 'x' };
  const cases: Array<[string, NamedElement, boolean]> = [
    // The examples of the Rust agent's socket-control documentation.
    ['source/plugin-procfs/memory', memory, true],
    ['transform/plugin-energy-attribution/*', attribution, true],
    ['*/plugin-procfs/*', memory, true],
    ['source/plugin-proc*/mem*', memory, true],
    ['source/plugin-*/*', memory, true],
    ['source/plugin-procfs/kernel', memory, false],
    ['output/plugin-procfs/memory', memory, false],
    ['source/plugin-procf/memory', memory, false],
    // Only a part that starts with "plugin-" gets the alias; other patterns mean what they say.
    ['source/plug*/*', memory, false],
    ['source/plugin*/*', memory, false],
    ['source/*-procfs/*', memory, false],
    ['source/Plugin-procfs/memory', memory, false],
    // A plugin whose own name starts with "plugin-" still matches by that name.
    ['source/plugin-x/x', crateNamed, true],
    ['source/plugin-plugin-x/x', crateNamed, true],
    ['source/x/x', crateNamed, false],
  ];
  for (const [text, element, expected] of cases) {
    assert.equal(matches(parsePattern(text), element), expected, `${text} vs ${element.kind}/${element.plugin}/${element.element}`);
  }
});

test('patterns print canonically', () => {
  const cases: Array<[string, string]> = [
    ['sources/procfs/memory', 'source/procfs/memory'],
    ['tra', 'transform/*/*'],
    ['any/csv*/*out', '*/csv*/*out'],
  ];
  for (const [text, canonical] of cases) assert.equal(formatPattern(parsePattern(text)), canonical);
});

test('every line of the Rust plugin parser tests gives the same requests', () => {
  const cases: Array<[string, string[]]> = [
    ['control sources/my-plugin/my-source pause', ['source/my-plugin/my-source pause']],
    ['control sources/*/* resume', ['source/*/* resume']],
    ['control src/*/* stop', ['source/*/* stop']],
    ['control sources trigger-now', ['source/*/* trigger-now']],
    ['control out/*/* stop', ['output/*/* stop']],
    ['control tra/*/* enable', ['transform/*/* resume']],
    ['control transform pause', ['transform/*/* pause']],
    ['control output pause', ['output/*/* pause']],
    ['control output resume', ['output/*/* resume']],
    ['control * pause', ['source/*/* pause', 'transform/*/* pause', 'output/*/* pause']],
    ['control * resume', ['source/*/* resume', 'transform/*/* resume', 'output/*/* resume']],
    ['control sources set-period 10ms', ['source/*/* set-period 10000000ns']],
    // The integration test's first line.
    ['control source stop', ['source/*/* stop']],
  ];
  for (const [line, expected] of cases) assert.deepEqual(requests(line), expected, line);
});

test('aliases, whitespace and fan-out of the kind star', () => {
  const cases: Array<[string, string[]]> = [
    ['control source disable', ['source/*/* pause']],
    ['control source enable', ['source/*/* resume']],
    ['control source set-poll-interval 1m30s', ['source/*/* set-period 90000000000ns']],
    ['control source set-period 100us', ['source/*/* set-period 100000ns']],
    ['   control \t source/procfs/memory    pause  ', ['source/procfs/memory pause']],
    ['control all trigger-now', ['source/*/* trigger-now']],
    ['control any set-period 1s', ['source/*/* set-period 1000000000ns']],
    ['control */csv/* stop', ['source/csv/* stop', 'output/csv/* stop']],
    ['control */*/* disable', ['source/*/* pause', 'transform/*/* pause', 'output/*/* pause']],
    ['control source/a/b/c pause', ['source/a/b/c pause']],
  ];
  for (const [line, expected] of cases) assert.deepEqual(requests(line), expected, line);
});

test('the other commands parse', () => {
  const cases: Array<[string, Command | undefined]> = [
    ['shutdown', { type: 'shutdown' }],
    ['stop', { type: 'shutdown' }],
    [' \tstop  ', { type: 'shutdown' }],
    ['help', { type: 'help' }],
    ['list', { type: 'list', pattern: undefined }],
    ['status', { type: 'status', pattern: undefined, json: false }],
    ['status --json', { type: 'status', pattern: undefined, json: true }],
    ['', undefined],
    ['   \t ', undefined],
  ];
  for (const [line, expected] of cases) assert.deepEqual(parseCommand(line), expected, JSON.stringify(line));
  const list = parseCommand('list source/procfs/*');
  assert.ok(list?.type === 'list' && list.pattern !== undefined);
  assert.equal(formatPattern(list.pattern), 'source/procfs/*');
  const status = parseCommand('status out');
  assert.ok(status?.type === 'status' && status.pattern?.kind === 'output' && !status.json);
  for (const line of ['status out --json', 'status --json out']) {
    const json = parseCommand(line);
    assert.ok(json?.type === 'status' && json.pattern?.kind === 'output' && json.json, line);
  }
});

test('stop and shutdown take no argument: "stop PATTERN" (control forgotten) is an error that shows the command meant', () => {
  const cases: Array<[string, string]> = [
    ['stop source/procfs/memory', '"stop" takes no argument; did you mean "control source/procfs/memory stop"?'],
    ['shutdown source/procfs/memory', '"shutdown" takes no argument; did you mean "control source/procfs/memory stop"?'],
    ['stop output/csv/*', '"stop" takes no argument; did you mean "control output/csv/* stop"?'],
    ['stop source', '"stop" takes no argument; did you mean "control source stop"?'],
    ['  stop \t *  ', '"stop" takes no argument; did you mean "control * stop"?'],
    // Not a pattern, or more than one word: no guess, but what each form does.
    ['stop now', '"stop" takes no argument, got: now; "stop" alone shuts the agent down, "control PATTERN stop" stops elements'],
    ['shutdown now please', '"shutdown" takes no argument, got: now please; "shutdown" alone shuts the agent down, "control PATTERN stop" stops elements'],
    ['stop source/procfs', '"stop" takes no argument, got: source/procfs; "stop" alone shuts the agent down, "control PATTERN stop" stops elements'],
    ['stop source/procfs/memory pause', '"stop" takes no argument, got: source/procfs/memory pause; "stop" alone shuts the agent down, "control PATTERN stop" stops elements'],
    ['stop stop', '"stop" takes no argument, got: stop; "stop" alone shuts the agent down, "control PATTERN stop" stops elements'],
  ];
  for (const [line, message] of cases) assert.equal(parseError(line), message, line);
});

test('every malformed command gets a message that says what would be valid', () => {
  const cases: Array<[string, RegExp]> = [
    // The Rust plugin's parser error tests.
    ['control source/without-element pause', /^bad pattern, expected kind\/plugin\/element but got 'source\/without-element'/],
    ['control output/*/* trigger-now', /^trigger-now applies to sources only; output\/\*\/\* selects only outputs$/],
    ['control transform/*/* set-period', /^set-period applies to sources only; transform\/\*\/\* selects only transforms$/],
    ['control transform/*/* stop', /^stop applies to sources and outputs; transform\/\*\/\* selects only transforms$/],
    // Kind mismatches name the kinds the action fits.
    ['control output/csv/csv trigger-now', /^trigger-now applies to sources only; output\/csv\/csv is an output$/],
    ['control tra/filter/filter stop', /^stop applies to sources and outputs; transform\/filter\/filter is a transform$/],
    ['control transform stop', /^stop applies to sources and outputs; transform\/\*\/\* selects only transforms$/],
    ['control out set-period 1s', /^set-period applies to sources only; output\/\*\/\* selects only outputs$/],
    ['control out set-poll-interval 1s', /^set-poll-interval applies to sources only/],
    // Missing and extra words.
    ['control', /^control needs a pattern and an action: control PATTERN ACTION; actions: pause \(or disable\), resume/],
    ['control source', /^missing action after the pattern "source"; valid actions: pause \(or disable\), resume \(or enable\), stop, set-period D \(or set-poll-interval D\), trigger-now$/],
    ['control source pause now', /^pause takes no argument, got: now$/],
    ['control source trigger-now 2', /^trigger-now takes no argument, got: 2$/],
    ['control source stop please', /^stop takes no argument, got: please$/],
    ['control source set-period', /^set-period needs a duration, e\.g\. control source\/procfs\/memory set-period 10ms$/],
    ['control source set-period 10 ms', /^set-period takes one duration written as one word \(e\.g\. 1m30s\), got 2 words: 10 ms$/],
    ['list a b', /^list takes at most one pattern, got 2 words: a b$/],
    ['status source extra', /^status takes at most one pattern, got 2 words: source extra$/],
    ['status source extra --json', /^status takes at most one pattern, got 2 words: source extra$/],
    ['status --jsn', /^unknown option "--jsn" for status \(valid: --json\)$/],
    ['list --json', /^unknown option "--json" for list \(it takes none\); status --json gives every element as JSON$/],
    ['help me', /^help takes no arguments, got: me$/],
    // Durations, with DurationError's own text.
    ['control source set-period 10', /^set-period: "10" is not a duration \(the number 10 has no unit\); write a number and a unit: "100us"/],
    ['control source set-period 10sec0', /^set-period: "10sec0" is not a duration/],
    ['control source set-period 5parsecs', /^set-period: "5parsecs" is not a duration: unknown unit "parsecs"; valid units are/],
    ['control source set-period 0s', /^set-period: 0s is too short; the shortest period is 100us$/],
    ['control source set-period 50us', /^set-period: 50us is too short/],
    // Unknown words, with suggestions.
    ['contrl source pause', /^unknown command "contrl"; did you mean control\? valid commands: control PATTERN ACTION, list \[PATTERN\], status \[PATTERN\] \[--json\], help, shutdown \(or stop\)$/],
    ['Control source pause', /^unknown command "Control"; did you mean control\?/],
    ['lst', /^unknown command "lst"; did you mean list\?/],
    ['xyzzy', /^unknown command "xyzzy"; valid commands: /],
    ['control source pase', /^unknown action "pase"; did you mean pause\? valid actions: pause \(or disable\)/],
    ['control source PAUSE', /^unknown action "PAUSE"; did you mean pause\?/],
    ['control source trigger', /^unknown action "trigger"; .*valid actions: /],
    ['control source frobnicate', /^unknown action "frobnicate"; valid actions: /],
    ['control pause source', /^the pattern comes before the action: control source pause$/],
    // Bad patterns inside commands.
    ['control foo pause', /^invalid element kind "foo"; valid kinds are /],
    ['control source/a*b/c pause', /^invalid pattern: asterisk '\*' in the middle of the string "a\*b"/],
    ['control source//c pause', /^invalid pattern: the string is empty \(plugin part of "source\/\/c"\)/],
    ['list source/x', /^bad pattern, expected kind\/plugin\/element but got 'source\/x'/],
    // Text that is not a command.
    ['li\u0000st', /^the line contains the control character U\+0000 at column 3; commands are plain text words$/],
    ['help\u001b[2J', /control character U\+001B at column 5/],
    ['list\rsource', /control character U\+000D at column 5/],
    ['list\u007f', /control character U\+007F/],
    [`control ${'x'.repeat(2000)} pause`, /^the word "x{80}…" is 2000 characters long; words are at most 1024$/],
  ];
  for (const [line, message] of cases) {
    const got = parseError(line);
    assert.match(got, message, JSON.stringify(line.slice(0, 60)));
  }
});
