// `alumet-agent control control * pause` in a directory with files: the shell replaces the unquoted `*` with
// the file names before the client sees it, and the agent answers an error about a pattern the user never
// wrote. The client cannot see what was typed, only the words it got; this module recognises words that look
// like such an expansion, so that the client can say so and suggest quoting. Main thread (the CLI).

import { lstatSync, readdirSync } from 'node:fs';
import { ACTION_WORD_LIST } from './command-parser.js';
import { KIND_WORDS } from './pattern.js';

/** What the check needs from the file system, relative to the working directory (replaceable in tests). */
export interface Directory {
  /** Whether something (file, directory, link) exists at this relative path. */
  exists(path: string): boolean;
  /** The names `*` expands to: the entries that do not start with a dot. */
  names(): readonly string[];
}

export const WORKING_DIRECTORY: Directory = {
  exists(path) {
    try {
      lstatSync(path);
      return true;
    } catch {
      return false;
    }
  },
  names: () => readdirSync('.').filter((n) => !n.startsWith('.')),
};

const ACTIONS = new Set(ACTION_WORD_LIST);
const KINDS = new Set(KIND_WORDS);
const SHOWN = 4;

/**
 * The words that hold patterns: after `control`, everything up to the action word (an expanded pattern is
 * several words); after `list`, `status`, `stop` and `shutdown`, every word but `--json`.
 */
export function patternWords(words: readonly string[]): string[] {
  const [command, ...args] = words;
  switch (command) {
    case 'control': {
      const action = args.findIndex((w) => ACTIONS.has(w));
      return action === -1 ? args : args.slice(0, action);
    }
    case 'list':
    case 'status':
    case 'stop':
    case 'shutdown':
      return args.filter((w) => w !== '--json');
    default:
      return [];
  }
}

/**
 * A warning for stderr (two lines, without the final newline) when the words look expanded by the shell, else
 * `undefined`.
 *
 * The sign is a word where a pattern goes that names an existing file or directory: an element pattern
 * (`source/procfs/*`, `output`) is no path in the agent's directory by accident. Two exceptions keep it quiet
 * for commands typed as meant: a word that is a kind alone (`src`, `source`, `all`, …: a `src` directory is
 * common) when it is the only pattern word, and words that exist nowhere (an unmatched `*` stays as typed).
 * Several pattern words, one of them a file, are always a sign: a pattern is one word.
 */
export function shellExpansionWarning(words: readonly string[], dir: Directory = WORKING_DIRECTORY): string | undefined {
  const candidates = patternWords(words);
  if (candidates.length === 0) return undefined;
  const files = candidates.filter((w) => dir.exists(w));
  if (files.length === 0) return undefined;
  if (candidates.length === 1 && KINDS.has(candidates[0]!)) return undefined;

  const shown = files.slice(0, SHOWN).map((f) => `"${f}"`);
  const list = files.length > SHOWN ? `${shown.join(', ')} and ${files.length - SHOWN} more` : andList(shown);
  const are = files.length === 1 ? 'is a file' : 'are files';
  const all = new Set(dir.names());
  // Every name of the directory, and only those: the shell expanded a bare `*`.
  const bareStar = candidates.length === all.size && candidates.every((w) => all.has(w));
  const why = bareStar ? 'your shell replaced a * with the names of the files here' : 'your shell probably expanded a * of the pattern into file names';
  const example = `alumet-agent control ${withPattern(words, bareStar ? "'*'" : "'PATTERN'")}`;
  return `warning: ${list} ${are} in this directory, not an element pattern: ${why}\nwarning: quote the pattern so that the agent gets it as typed: ${example}`;
}

function andList(items: readonly string[]): string {
  return items.length === 1 ? items[0]! : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The command as it should have been typed: one quoted pattern where the expanded words were. */
function withPattern(words: readonly string[], pattern: string): string {
  const [command, ...args] = words;
  switch (command) {
    case 'control': {
      const action = args.findIndex((w) => ACTIONS.has(w));
      return ['control', pattern, ...(action === -1 ? ['ACTION'] : args.slice(action))].join(' ');
    }
    case 'stop':
    case 'shutdown':
      // `stop *`: stopping elements is `control PATTERN stop`.
      return `control ${pattern} stop`;
    default:
      return [command, pattern, ...(args.includes('--json') ? ['--json'] : [])].join(' ');
  }
}
