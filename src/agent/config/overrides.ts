// The command line's changes to the config file's tables: `--config-override` documents deep-merged in
// order, then `--output-file` and the Rust agent's options that set a key. Each key set this way remembers
// the option it came from, so its problems point there rather than at a line of the file. Main thread.

import { parse, TomlError } from 'smol-toml';
import type { AnyPlugin } from '../plugin-api.js';
import { isTable, tomlMessage, type Table } from './config-file.js';
import type { Collector } from './problem-list.js';
import { RUST_FLAGS, flagNote, type RustFlag } from './rust-compat.js';

export interface CommandLineChanges {
  /** `--config-override` values: TOML documents deep-merged over the file, in order. */
  overrides: readonly string[];
  /** `--output-file`: sets `plugins.csv.output_path`, after the overrides. */
  outputFile?: string | undefined;
  /** The Rust agent's options: set their keys after the overrides, or give a note saying why they do nothing. */
  rustFlags?: readonly RustFlag[] | undefined;
}

/**
 * Applies the command line's changes to `root` (the file's document) in place. Returns the key paths set
 * (dotted) with the option that set each, and one info line per option that sets nothing here.
 */
export function applyCommandLine(
  root: Table,
  changes: CommandLineChanges,
  plugins: readonly AnyPlugin[],
  problems: Collector,
): { origins: Map<string, string>; notes: string[] } {
  const origins = new Map<string, string>();
  for (const override of changes.overrides) {
    let table: Table;
    try {
      table = parse(override, { integersAsBigInt: 'asNeeded' });
    } catch (e) {
      const why = e instanceof TomlError ? ` (column ${e.column}: ${tomlMessage(e)})` : '';
      problems.addFrom('', `config override is not a valid TOML table: ${override}${why}; write for example 'plugins.csv.output_path = "out.csv"'`);
      continue;
    }
    mergeInto(root, table, [], '--config-override', origins);
  }
  if (changes.outputFile !== undefined) setOutputFile(root, changes.outputFile, plugins, problems, origins);
  const notes: string[] = [];
  for (const flag of changes.rustFlags ?? []) {
    const spec = RUST_FLAGS[flag.name];
    if (spec.key !== undefined) setKey(root, spec.key, flag.value, flag.from, origins);
    else notes.push(flagNote(flag, spec.why ?? 'it has no equivalent here'));
  }
  return { origins, notes };
}

/** Tables merge key by key; any other value (arrays included) replaces what was there. */
function mergeInto(base: Table, over: Table, at: string[], origin: string, origins: Map<string, string>): void {
  for (const key of Object.keys(over)) {
    const value = over[key];
    const path = [...at, key];
    const current = base[key];
    if (isTable(value) && isTable(current)) {
      mergeInto(current, value, path, origin, origins);
    } else {
      base[key] = value;
      markOrigin(value, path, origin, origins);
    }
  }
}

function markOrigin(value: unknown, path: string[], origin: string, origins: Map<string, string>): void {
  if (isTable(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) markOrigin(v, [...path, k], origin, origins);
  } else {
    origins.set(path.join('.'), origin);
  }
}

function setOutputFile(root: Table, file: string, plugins: readonly AnyPlugin[], problems: Collector, origins: Map<string, string>): void {
  if (!plugins.some((p) => p.name === 'csv')) {
    problems.addFrom('--output-file', 'sets plugins.csv.output_path, but this agent has no csv plugin');
    return;
  }
  // Creating [plugins.csv] when the file has none enables csv, which is what asking for an output file means.
  setKey(root, ['plugins', 'csv', 'output_path'], file, '--output-file', origins);
}

/**
 * Sets the key at `path` (creating the tables above it) from a command-line option named `origin`. A table
 * on the way that is something else is left alone: the checks that follow report it.
 */
function setKey(root: Table, path: readonly string[], value: unknown, origin: string, origins: Map<string, string>): void {
  let at: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (!isTable(at)) return;
    at = at[key];
    if (at === undefined) break;
  }
  if (at !== undefined && !isTable(at)) return;
  let update: Table = { [path[path.length - 1]!]: value };
  for (const key of path.slice(0, -1).reverse()) update = { [key]: update };
  mergeInto(root, update, [], origin, origins);
}
