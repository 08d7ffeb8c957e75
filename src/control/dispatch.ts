// Executes parsed control commands against the running agent (a ControlTarget) and builds the reply: data
// lines, then one status line starting with `ok` or `error: `. Main thread.
//
// When some elements fail an action: with one failure the status line carries its reason
// (`error: could not pause source/a/b: it is stopped; paused 1 element: source/c/d`); with several, each
// failure gets a data line `NAME: REASON` and the status line names them. The elements that succeeded are
// named after the `;`, so a script learns the whole outcome from the status line alone.

import { editDistance } from '../protocol/suggest.js';
import {
  ACTION_KINDS,
  ControlError,
  controlRequests,
  describeKinds,
  parseCommand,
  type Command,
} from './command-parser.js';
import type { ControlAction, ControlTarget, ElementKind, ElementSummary } from './control-target.js';
import { formatString, matches, matchesString, type ElementPattern, type StringPattern } from './pattern.js';

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
// Text from elements (errors above all) may hold newlines, which would break the line protocol.
const UNPRINTABLE = /[\x00-\x1f\x7f]+/g;

const PAST: Readonly<Record<Exclude<ControlAction['type'], 'set-period'>, string>> = {
  pause: 'paused',
  resume: 'resumed',
  stop: 'stopped',
  'trigger-now': 'triggered',
};
const KIND_PLURAL: Readonly<Record<ElementKind, string>> = { source: 'sources', transform: 'transforms', output: 'outputs' };

export const HELP: readonly string[] = [
  'control PATTERN pause|disable       sources stop polling, transforms pass data through, outputs stop writing',
  'control PATTERN resume|enable       undo pause',
  'control PATTERN stop                sources and outputs: flush, then end for good',
  'control PATTERN set-period D        managed sources: new poll interval, e.g. 10ms, 1s, 1m30s (alias set-poll-interval)',
  'control PATTERN trigger-now         managed sources: poll once now',
  'list [PATTERN]                      one line per element: name, state, period',
  'status [PATTERN]                    one line per element: name, state, counters',
  'shutdown | stop                     stop the agent (sources flush, outputs write everything)',
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
      case 'shutdown': {
        const ignored = command.ignored.length === 0 ? '' : ` (ignored the extra words: ${clean(command.ignored.join(' '))})`;
        return { data: [], status: `ok shutting down${ignored}`, afterSend: () => this.#target.shutdown() };
      }
      case 'help':
        return { data: HELP, status: 'ok' };
      case 'list':
      case 'status':
        return this.#describe(command.type, command.pattern);
      case 'control':
        return this.#control(command);
    }
  }

  #describe(what: 'list' | 'status', pattern: ElementPattern | undefined): Reply {
    const all = this.#target.elements();
    const selected = pattern === undefined ? all : all.filter((e) => matches(pattern, e));
    if (selected.length === 0 && pattern !== undefined) return error(noMatch(pattern, all));
    const data = selected.map(what === 'list' ? listLine : statusLine);
    return { data, status: `ok ${count(selected.length)}` };
  }

  async #control(command: Extract<Command, { type: 'control' }>): Promise<Reply> {
    const { pattern, action } = command;
    const all = this.#target.elements();
    const matched = all.filter((e) => matches(pattern, e));
    if (matched.length === 0) return error(noMatch(pattern, all));
    const kinds = new Set(controlRequests(command).map((r) => r.kind));
    const reached = matched.filter((e) => kinds.has(e.kind));
    if (reached.length === 0) {
      const found = [...new Set(matched.map((e) => KIND_PLURAL[e.kind]))].join(' and ');
      return error(
        `${action.type} applies to ${describeKinds(ACTION_KINDS[action.type])}; pattern "${pattern.text}" matches only ${found}: ${names(matched.map((e) => e.name))}`,
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

function clean(text: string): string {
  return text.replace(UNPRINTABLE, ' ');
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

function listLine(e: ElementSummary): string {
  // The period is one column: humantime's "1m 30s" is printed "1m30s", which parses back the same.
  return e.period === undefined ? `${e.name} ${e.state}` : `${e.name} ${e.state} ${e.period.replaceAll(' ', '')}`;
}

function statusLine(e: ElementSummary): string {
  let line = `${e.name} ${e.state}`;
  if (e.period !== undefined) line += ` period=${e.period.replaceAll(' ', '')}`;
  if (e.thread !== undefined) line += ` thread=${e.thread}`;
  for (const key in e.counters) line += ` ${key}=${e.counters[key]}`;
  if (e.lastError !== undefined) line += ` last_error=${JSON.stringify(clean(e.lastError))}`;
  return line;
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
 * plausible element (small edit distance, or one name containing the other, as `plugin-procfs` ⊃ `procfs`).
 */
function suggestions(pattern: ElementPattern, all: readonly ElementSummary[]): string[] {
  const scored: Array<{ cost: number; text: string }> = [];
  for (const e of all) {
    const kindCost = pattern.kind === undefined || pattern.kind === e.kind ? 0 : 1;
    const pluginCost = partCost(pattern.plugin, e.plugin);
    const elementCost = partCost(pattern.element, e.element);
    const cost = kindCost + pluginCost + elementCost;
    if (!Number.isFinite(cost)) continue;
    const kind = kindCost === 0 ? (pattern.kind ?? '*') : e.kind;
    const plugin = pluginCost === 0 ? formatString(pattern.plugin) : e.plugin;
    const element = elementCost === 0 ? formatString(pattern.element) : e.element;
    scored.push({ cost, text: `${kind}/${plugin}/${element}` });
  }
  scored.sort((a, b) => a.cost - b.cost);
  const out: string[] = [];
  for (const s of scored) {
    if (!out.includes(s.text)) out.push(s.text);
    if (out.length === MAX_SUGGESTIONS) break;
  }
  return out;
}

/** 0 when the part matches, a small number when it is a plausible typo of `actual`, Infinity otherwise. */
function partCost(p: StringPattern, actual: string): number {
  if (matchesString(p, actual)) return 0;
  if (p.type === 'any') return 0;
  const wanted = p.text;
  if (wanted.length >= 3 && actual.length >= 3 && (actual.includes(wanted) || wanted.includes(actual))) return 1;
  const compared = p.type === 'prefix' ? actual.slice(0, wanted.length) : p.type === 'suffix' ? actual.slice(-wanted.length) : actual;
  const d = editDistance(wanted, compared);
  return d <= Math.max(2, Math.ceil(compared.length / 3)) ? d : Infinity;
}
