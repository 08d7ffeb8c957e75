// Executes parsed control commands against the running agent (a ControlTarget) and builds the reply: data
// lines, then one status line starting with `ok` or `error: `. Main thread.
//
// When some elements fail an action: with one failure the status line carries its reason
// (`error: could not pause source/a/b: it is stopped; paused 1 element: source/c/d`); with several, each
// failure gets a data line `NAME: REASON` and the status line names them. The elements that succeeded are
// named after the `;`, so a script learns the whole outcome from the status line alone.

import { editDistance } from '../protocol/suggest.js';
import { ACTION_KINDS, describeKinds, KIND_PLURAL, type ElementKind } from '../protocol/element-kinds.js';
import { ControlError, controlRequests, parseCommand, type Command } from './command-parser.js';
import type { ControlAction, ControlTarget, ElementSummary } from './control-target.js';
import { clean, displayOrder, listLine, statusJson, statusTable } from './element-view.js';
import { CRATE_PREFIX, formatString, matches, matchesPlugin, matchesString, type ElementPattern, type StringPattern } from './pattern.js';

export interface Reply {
  /** Lines before the status line, without newlines. */
  readonly data: readonly string[];
  /** `ok…` or `error: …`, without a newline. */
  readonly status: string;
  /** Runs once the reply has been handed to the socket (used by `shutdown`). */
  readonly afterSend?: () => void;
}

/** The ok line lists this many names, then `… and N more`. */
const MAX_NAMES = 20;
const MAX_SUGGESTIONS = 3;

const PAST: Readonly<Record<Exclude<ControlAction['type'], 'set-period'>, string>> = {
  pause: 'paused',
  resume: 'resumed',
  stop: 'stopped',
  'trigger-now': 'triggered',
};

export const HELP: readonly string[] = [
  'control PATTERN pause|disable       sources stop polling, transforms pass data through, outputs stop writing',
  'control PATTERN resume|enable       undo pause',
  'control PATTERN stop                sources and outputs: flush, then end for good',
  'control PATTERN set-period D        managed sources: new poll interval, e.g. 10ms, 1s, 1m30s (alias set-poll-interval)',
  'control PATTERN trigger-now         managed sources: poll once now',
  'list [PATTERN]                      one line per element: name, state, period',
  'status [PATTERN] [--json]           a table of the elements with their counters; --json: one JSON object per element',
  'shutdown | stop                     stop the agent (sources flush, outputs write everything); takes no argument',
  'help                                this text',
  'PATTERN is KIND or KIND/PLUGIN/ELEMENT; KIND: source|src|sources, transform|tra|transforms, output|out|outputs, *|all|any;',
  'PLUGIN and ELEMENT: name, prefix*, *suffix or *; e.g. source/procfs/*, output',
];

export class ControlDispatcher {
  readonly #target: ControlTarget;

  constructor(target: ControlTarget) {
    this.#target = target;
  }

  /** Parses and runs one line; `undefined` for a blank line (no reply). Never throws. */
  async handleLine(line: string): Promise<Reply | undefined> {
    let command: Command | undefined;
    try {
      command = parseCommand(line);
    } catch (e) {
      if (e instanceof ControlError) return error(e.message);
      throw e;
    }
    return command === undefined ? undefined : this.execute(command);
  }

  async execute(command: Command): Promise<Reply> {
    switch (command.type) {
      case 'shutdown':
        return { data: [], status: 'ok shutting down', afterSend: () => this.#target.shutdown() };
      case 'help':
        return { data: HELP, status: 'ok' };
      case 'list':
        return this.#describe('list', command.pattern);
      case 'status':
        return this.#describe(command.json ? 'json' : 'table', command.pattern);
      case 'control':
        return this.#control(command);
    }
  }

  #describe(what: 'list' | 'table' | 'json', pattern: ElementPattern | undefined): Reply {
    const all = this.#target.elements();
    const matched = pattern === undefined ? all : all.filter((e) => matches(pattern, e));
    if (matched.length === 0 && pattern !== undefined) return error(noMatch(pattern, all));
    const selected = displayOrder(matched);
    const status = `ok ${count(selected.length)}`;
    if (what === 'table') return { data: selected.length === 0 ? [] : statusTable(selected), status };
    return { data: selected.map(what === 'list' ? listLine : statusJson), status };
  }

  async #control(command: Extract<Command, { type: 'control' }>): Promise<Reply> {
    const { pattern, action } = command;
    const all = this.#target.elements();
    const matched = all.filter((e) => matches(pattern, e));
    if (matched.length === 0) return error(noMatch(pattern, all));
    const kinds = new Set(controlRequests(command).map((r) => r.kind));
    const reached = displayOrder(matched.filter((e) => kinds.has(e.kind)));
    if (reached.length === 0) {
      const found = [...new Set(matched.map((e) => KIND_PLURAL[e.kind]))].join(' and ');
      return error(
        `${action.type} applies to ${describeKinds(ACTION_KINDS[action.type])}; pattern "${pattern.text}" matches only ${found}: ${names(displayOrder(matched).map((e) => e.name))}`,
      );
    }
    const targets = reached.map((e) => e.name);
    let failures: Array<{ name: string; error: string }>;
    try {
      failures = await this.#target.apply(targets, action);
    } catch (e) {
      return error(`could not ${action.type} ${names(targets)}: ${clean(e instanceof Error ? e.message : String(e))}`);
    }
    const done = verb(action);
    if (failures.length === 0) return { data: [], status: `ok ${done} ${count(targets.length)}: ${names(targets)}` };

    const failed = new Set(failures.map((f) => f.name));
    const succeeded = targets.filter((n) => !failed.has(n));
    const rest = succeeded.length === 0 ? '' : `; ${done} ${count(succeeded.length)}: ${names(succeeded)}`;
    if (failures.length === 1) {
      const f = failures[0]!;
      return error(`could not ${action.type} ${f.name}: ${clean(f.error)}${rest}`);
    }
    return {
      data: failures.map((f) => `${f.name}: ${clean(f.error)}`),
      status: `error: could not ${action.type} ${failures.length} of ${targets.length} elements: ${names([...failed])} (reasons above)${rest}`,
    };
  }
}

function error(message: string): Reply {
  return { data: [], status: `error: ${message}` };
}

function verb(action: ControlAction): string {
  return action.type === 'set-period' ? `set the period to ${action.text} on` : PAST[action.type];
}

function count(n: number): string {
  return n === 1 ? '1 element' : `${n} elements`;
}

function names(list: readonly string[]): string {
  if (list.length <= MAX_NAMES) return list.join(', ');
  return `${list.slice(0, MAX_NAMES).join(', ')}, … and ${list.length - MAX_NAMES} more`;
}

// ---- "did you mean": names close to a pattern that matched nothing ----

function noMatch(pattern: ElementPattern, all: readonly ElementSummary[]): string {
  const head = `pattern "${pattern.text}" matches no element`;
  if (all.length === 0) return `${head}; the agent has no elements`;
  if (pattern.kind !== undefined && pattern.plugin.type === 'any' && pattern.element.type === 'any') {
    const present = [...new Set(all.map((e) => KIND_PLURAL[e.kind]))].join(', ');
    return `${head}; the agent has no ${KIND_PLURAL[pattern.kind]} (it has ${present})`;
  }
  const guesses = suggestions(pattern, all);
  if (guesses.length > 0) return `${head}; did you mean ${orList(guesses)}?`;
  return `${head}; \`list\` shows the ${count(all.length)}`;
}

function orList(items: readonly string[]): string {
  return items.length === 1 ? items[0]! : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/**
 * Patterns close to `pattern` that would match something: each part that fails is replaced by the part of a
 * plausible element (the same but for case, a small edit distance, or one name containing the other).
 */
function suggestions(pattern: ElementPattern, all: readonly ElementSummary[]): string[] {
  const scored: Array<{ cost: number; text: string }> = [];
  for (const e of all) {
    const kindCost = pattern.kind === undefined || pattern.kind === e.kind ? 0 : 1;
    const plugin = pluginGuess(pattern.plugin, e.plugin);
    const element = partGuess(pattern.element, e.element);
    if (plugin === undefined || element === undefined) continue;
    const kind = kindCost === 0 ? (pattern.kind ?? '*') : e.kind;
    scored.push({ cost: kindCost + plugin.cost + element.cost, text: `${kind}/${plugin.text}/${element.text}` });
  }
  scored.sort((a, b) => a.cost - b.cost);
  const out: string[] = [];
  for (const s of scored) {
    // Far worse guesses than the best one are noise (`MEM*` is `mem*`, not also `kernel`).
    if (s.cost > scored[0]!.cost + 1) break;
    if (!out.includes(s.text)) out.push(s.text);
    if (out.length === MAX_SUGGESTIONS) break;
  }
  return out;
}

interface Guess {
  /** 0 when the part matches; lower is closer. */
  readonly cost: number;
  /** The part as the suggestion spells it. */
  readonly text: string;
}

/** A part that differs only by case costs less than any typo. */
const CASE_ONLY = 0.5;

/**
 * How `p` could be written to match `actual`: as it is (cost 0), the same but for case (`MEMORY` → `memory`,
 * `MEM*` → `mem*`), or `actual` itself when `p` is a plausible typo of it; `undefined` when it is not close.
 */
function partGuess(p: StringPattern, actual: string): Guess | undefined {
  if (p.type === 'any' || matchesString(p, actual)) return { cost: 0, text: formatString(p) };
  const wanted = p.text.toLowerCase();
  const lower = actual.toLowerCase();
  if (matchesString({ type: p.type, text: wanted }, lower)) {
    const text = p.type === 'exact' ? actual : p.type === 'prefix' ? `${actual.slice(0, wanted.length)}*` : `*${actual.slice(actual.length - wanted.length)}`;
    return { cost: CASE_ONLY, text };
  }
  if (wanted.length >= 3 && lower.length >= 3 && (lower.includes(wanted) || wanted.includes(lower))) return { cost: 1, text: actual };
  const compared = p.type === 'prefix' ? lower.slice(0, wanted.length) : p.type === 'suffix' ? lower.slice(-wanted.length) : lower;
  const d = editDistance(wanted, compared);
  return d <= Math.max(2, Math.ceil(compared.length / 3)) ? { cost: d, text: actual } : undefined;
}

/** partGuess for the plugin part, which may also be written with the crate prefix (`plugin-procfs`, see matchesPlugin). */
function pluginGuess(p: StringPattern, actual: string): Guess | undefined {
  if (matchesPlugin(p, actual)) return { cost: 0, text: formatString(p) };
  const direct = partGuess(p, actual);
  if (p.type === 'any' || p.type === 'suffix' || !p.text.toLowerCase().startsWith(CRATE_PREFIX)) return direct;
  const stripped = partGuess({ type: p.type, text: p.text.slice(CRATE_PREFIX.length) }, actual);
  if (stripped === undefined) return direct;
  return direct === undefined || stripped.cost < direct.cost ? stripped : direct;
}
