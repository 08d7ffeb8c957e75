// Turns one line of the control protocol into a typed command, or a ControlError that says what is wrong and
// what would be valid. Accepts every line the Rust socket-control plugin accepts, with the same meaning. Main thread.

import { DurationError, formatDuration, parseDuration } from '../protocol/duration.js';
import { closest } from '../protocol/suggest.js';
import { ACTION_KINDS, describeKinds, KIND_ARTICLE, KIND_PLURAL, type ActionType, type ElementKind } from '../protocol/element-kinds.js';
import type { ControlAction } from './control-target.js';
import { formatPattern, isExact, parsePattern, PatternError, type ElementPattern, type StringPattern } from './pattern.js';

/** A user mistake in a control line; the message becomes the `error: …` reply. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
}

export type Command =
  /** `shutdown` or `stop`, alone: a word after them is an error (`stop source/x` was meant as `control source/x stop`). */
  | { readonly type: 'shutdown' }
  | { readonly type: 'control'; readonly pattern: ElementPattern; readonly action: ControlAction }
  | { readonly type: 'list'; readonly pattern: ElementPattern | undefined }
  /** `json`: `status --json`, one JSON object per element instead of the table. */
  | { readonly type: 'status'; readonly pattern: ElementPattern | undefined; readonly json: boolean }
  | { readonly type: 'help' };

/** One kind-specific request, as the Rust plugin builds them (`control * pause` gives three). */
export interface ControlRequest {
  readonly kind: ElementKind;
  readonly plugin: StringPattern;
  readonly element: StringPattern;
  readonly action: ControlAction;
}

const ACTION_WORDS: ReadonlyMap<string, ActionType> = new Map<string, ActionType>([
  ['pause', 'pause'],
  ['disable', 'pause'],
  ['resume', 'resume'],
  ['enable', 'resume'],
  ['stop', 'stop'],
  ['set-period', 'set-period'],
  ['set-poll-interval', 'set-period'],
  ['trigger-now', 'trigger-now'],
]);
/** Every word that names an action, aliases included. */
export const ACTION_WORD_LIST: readonly string[] = [...ACTION_WORDS.keys()];
const VALID_ACTIONS = 'pause (or disable), resume (or enable), stop, set-period D (or set-poll-interval D), trigger-now';
const COMMAND_WORDS = ['control', 'list', 'status', 'help', 'shutdown', 'stop'];
const VALID_COMMANDS = 'control PATTERN ACTION, list [PATTERN], status [PATTERN] [--json], help, shutdown (or stop)';
const JSON_FLAG = '--json';
const MIN_PERIOD_NS = 100_000n;
/** Longer words are refused, so that no error message echoes kilobytes back. */
const MAX_WORD_CHARS = 1024;

// Alumet splits on ASCII whitespace; of that, only space and tab can remain once the server has cut the line
// at `\n` and dropped a final `\r`. Other C0 and C1 controls and DEL are refused; Unicode spaces are word characters.
const WORDS = /[\t ]+/;
const CONTROL_CHAR = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;
const BLANK = /^[\t ]*$/;

/** Parses one line (without its `\n`). Returns `undefined` for a blank line, which gets no reply. */
export function parseCommand(line: string): Command | undefined {
  if (BLANK.test(line)) return undefined;
  const bad = CONTROL_CHAR.exec(line);
  if (bad !== null) {
    const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new ControlError(`the line contains the control character U+${code} at column ${bad.index + 1}; commands are plain text words`);
  }
  const words = line.split(WORDS);
  if (words[0] === '') words.shift();
  if (words[words.length - 1] === '') words.pop();
  for (const w of words) {
    if (w.length > MAX_WORD_CHARS) {
      throw new ControlError(`the word "${shown([w])}" is ${w.length} characters long; words are at most ${MAX_WORD_CHARS}`);
    }
  }
  const [command, ...args] = words as [string, ...string[]];
  switch (command) {
    case 'shutdown':
    case 'stop':
      if (args.length > 0) throw new ControlError(shutdownWithWords(command, args));
      return { type: 'shutdown' };
    case 'control':
      return parseControl(args);
    case 'list':
    case 'status': {
      const json = command === 'status' && args.includes(JSON_FLAG);
      const rest = json ? args.filter((w) => w !== JSON_FLAG) : args;
      if (rest.length > 1) throw new ControlError(`${command} takes at most one pattern, got ${rest.length} words: ${shown(rest)}`);
      if (rest[0]?.startsWith('--')) {
        const hint = command === 'list' && rest[0] === JSON_FLAG ? '; status --json gives every element as JSON' : '';
        throw new ControlError(`unknown option "${rest[0]}" for ${command}${command === 'status' ? ` (valid: ${JSON_FLAG})` : ' (it takes none)'}${hint}`);
      }
      const pattern = rest.length === 0 ? undefined : parsePatternWord(rest[0]!);
      return command === 'list' ? { type: 'list', pattern } : { type: 'status', pattern, json };
    }
    case 'help':
      if (args.length > 0) throw new ControlError(`help takes no arguments, got: ${shown(args)}`);
      return { type: 'help' };
    default: {
      const guess = closest(command, COMMAND_WORDS);
      const hint = guess === undefined ? '' : ` did you mean ${guess}?`;
      throw new ControlError(`unknown command "${command}";${hint} valid commands: ${VALID_COMMANDS}`);
    }
  }
}

/** Extra words echoed in a message, cut to a readable length. */
function shown(words: readonly string[]): string {
  const text = words.join(' ');
  return text.length <= 80 ? text : `${text.slice(0, 80)}…`;
}

/**
 * `stop source/procfs/memory`: the user forgot `control`, and Alumet would shut the whole agent down (it ignores
 * the extra words). Here it is an error that shows the command they most likely meant.
 */
function shutdownWithWords(command: string, args: readonly string[]): string {
  const head = `"${command}" takes no argument`;
  const [first] = args;
  let meant: string | undefined;
  if (args.length === 1 && !ACTION_WORDS.has(first!)) {
    try {
      parsePattern(first!);
      meant = `control ${first} stop`;
    } catch {
      // not a pattern: no guess
    }
  }
  if (meant !== undefined) return `${head}; did you mean "${meant}"?`;
  return `${head}, got: ${shown(args)}; "${command}" alone shuts the agent down, "control PATTERN stop" stops elements`;
}

function parseControl(args: string[]): Command {
  if (args.length === 0) {
    throw new ControlError(`control needs a pattern and an action: control PATTERN ACTION; actions: ${VALID_ACTIONS}`);
  }
  const [patternWord, actionWord, ...rest] = args as [string, ...string[]];
  if (actionWord === undefined) {
    throw new ControlError(`missing action after the pattern "${patternWord}"; valid actions: ${VALID_ACTIONS}`);
  }
  if (ACTION_WORDS.has(patternWord) && !ACTION_WORDS.has(actionWord)) {
    // `control pause source`: the user swapped the two words.
    throw new ControlError(`the pattern comes before the action: control ${actionWord} ${patternWord}`);
  }
  const pattern = parsePatternWord(patternWord);
  const type = ACTION_WORDS.get(actionWord);
  if (type === undefined) {
    const guess = closest(actionWord, ACTION_WORDS.keys());
    const hint = guess === undefined ? '' : ` did you mean ${guess}?`;
    throw new ControlError(`unknown action "${actionWord}";${hint} valid actions: ${VALID_ACTIONS}`);
  }
  checkKind(pattern, type, actionWord);
  let action: ControlAction;
  if (type === 'set-period') {
    if (rest.length === 0) throw new ControlError(`${actionWord} needs a duration, e.g. control source/procfs/memory ${actionWord} 10ms`);
    if (rest.length > 1) {
      throw new ControlError(`${actionWord} takes one duration written as one word (e.g. 1m30s), got ${rest.length} words: ${shown(rest)}`);
    }
    action = { type, periodNs: parsePeriod(rest[0]!, actionWord), text: rest[0]! };
  } else {
    if (rest.length > 0) throw new ControlError(`${actionWord} takes no argument, got: ${shown(rest)}`);
    action = { type };
  }
  return { type: 'control', pattern, action };
}

function parsePatternWord(word: string): ElementPattern {
  try {
    return parsePattern(word);
  } catch (e) {
    if (e instanceof PatternError) throw new ControlError(e.message);
    throw e;
  }
}

function parsePeriod(word: string, actionWord: string): bigint {
  let ns: bigint;
  try {
    ns = parseDuration(word);
  } catch (e) {
    if (e instanceof DurationError) throw new ControlError(`${actionWord}: ${e.message}`);
    throw e;
  }
  if (ns < MIN_PERIOD_NS) {
    throw new ControlError(`${actionWord}: ${word} is too short; the shortest period is ${formatDuration(MIN_PERIOD_NS)}`);
  }
  return ns;
}

function checkKind(pattern: ElementPattern, type: ActionType, actionWord: string): void {
  const kinds = ACTION_KINDS[type];
  if (pattern.kind === undefined || kinds.includes(pattern.kind)) return;
  const what = isExact(pattern)
    ? `${formatPattern(pattern)} is ${KIND_ARTICLE[pattern.kind]}`
    : `${formatPattern(pattern)} selects only ${KIND_PLURAL[pattern.kind]}`;
  throw new ControlError(`${actionWord} applies to ${describeKinds(kinds)}; ${what}`);
}

/** The kind-specific requests a control command stands for: kind `*` fans out to every kind the action fits. */
export function controlRequests(command: Extract<Command, { type: 'control' }>): ControlRequest[] {
  const { pattern, action } = command;
  const kinds = pattern.kind === undefined ? ACTION_KINDS[action.type] : [pattern.kind];
  return kinds.map((kind) => ({ kind, plugin: pattern.plugin, element: pattern.element, action }));
}
