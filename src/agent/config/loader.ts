// Loads alumet-config.toml: generate if missing, substitute ${VAR}, parse, merge the command-line overrides,
// check [pipeline] and each enabled plugin (and what a Rust agent's config may hold: rust-compat.ts), and
// report every problem at once with file, line and key. Main thread. Over 400 lines because all steps feed one problem list placed on file lines at the end (Locator).

import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify, TomlError } from 'smol-toml';
import type { AnyPlugin } from '../plugin-api.js';
import { closest, editDistance } from '../../protocol/suggest.js';
import { ConfigError } from './errors.js';
import { Problems, tomlNumber } from './schema.js';
import { pipelineSchema, PIPELINE_KEY_NOTES, type PipelineSettings } from './pipeline-settings.js';
import { GENERAL_KEYS, RUST_FLAGS, flagNote, generalKeyNote, isRustOnlyPlugin, type GeneralKey, type RustFlag } from './rust-compat.js';

/** Plugins whose default table says `enabled = false`: they need hardware, a server, or are for tests. */
export const DISABLED_BY_DEFAULT: ReadonlySet<string> = new Set([
  'rapl',
  'influxdb',
  'prometheus-exporter',
  'opentelemetry',
  'relay-client',
  'relay-server',
  'synthetic',
  'filter',
  'energy-estimation-tdp',
  'cgroups',
]);

export interface LoadOptions {
  /** The config file, as the user wrote it (messages show it this way). */
  path: string;
  /** A missing file is an error instead of being generated. */
  noDefaultConfig: boolean;
  /** `--config-override` values: TOML documents deep-merged over the file, in order. */
  overrides: readonly string[];
  /** Every plugin this agent has, in the order of src/plugins/index.ts. */
  plugins: readonly AnyPlugin[];
  /** `--plugins`: enable exactly these, whatever the file says. */
  only?: readonly string[];
  /** `--output-file`: sets `plugins.csv.output_path`, after the overrides. */
  outputFile?: string;
  /** The Rust agent's options (`--max-update-interval`, …): set their keys after the overrides. See rust-compat.ts. */
  rustFlags?: readonly RustFlag[];
  /** Environment for `${VAR}`; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  path: string;
  /**
   * Enabled plugins with their checked config (the table merged over the defaults, without `enabled`):
   * those with a table in the order of the tables (which sets the transform order), then the others.
   */
  plugins: Array<{ plugin: AnyPlugin; config: unknown }>;
  /** Names of the available plugins that are not enabled. */
  disabled: string[];
  pipeline: PipelineSettings;
  /** The file was missing and has just been written with the defaults. */
  generated: boolean;
  /**
   * Info lines for the caller to log: each top-level key or option of the Rust agent that was accepted but
   * has no effect here, and why.
   */
  notes: string[];
}

type Table = Record<string, unknown>;

interface Problem {
  path: string;
  message: string;
  /** Where the problem comes from when it is not a line of the file (`--plugins`, …). */
  origin?: string;
}

/** Keeps each problem's key path apart from its message, so it can be placed on a line of the file. */
class Collector extends Problems {
  readonly problems: Problem[] = [];
  override add(path: string, message: string): void {
    super.add(path, message);
    this.problems.push({ path, message });
  }
  /** A problem that is not about a key of the file; `origin` (may be empty) is the option it comes from. */
  addFrom(origin: string, message: string): void {
    super.add(origin, message);
    this.problems.push({ path: '', message, origin });
  }
}

/**
 * Reads, checks and returns the configuration, or throws one ConfigError holding every problem found.
 * Only enabled plugins' tables are checked against their schema (a disabled table may be unfinished);
 * unknown plugin names and a non-boolean `enabled` are errors in any table.
 */
export function loadConfig(opts: LoadOptions): LoadedConfig {
  const { path, plugins } = opts;
  const env = opts.env ?? process.env;
  const { text: raw, generated } = readOrGenerate(path, opts.noDefaultConfig, plugins);
  const text = substituteEnv(raw, path, env);
  const root = parseToml(text, path);

  const problems = new Collector();
  // Paths set from the command line, so their problems point there and not at a line of the file.
  const origins = new Map<string, string>();
  for (const override of opts.overrides) {
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
  if (opts.outputFile !== undefined) setOutputFile(root, opts.outputFile, plugins, problems, origins);
  const notes: string[] = [];
  for (const flag of opts.rustFlags ?? []) {
    const spec = RUST_FLAGS[flag.name];
    if (spec.key !== undefined) setKey(root, spec.key, flag.value, flag.from, origins);
    else notes.push(flagNote(flag, spec.why ?? 'it has no equivalent here'));
  }

  const locator = new Locator(text, path, origins);
  const general = Object.keys(GENERAL_KEYS);
  for (const key of Object.keys(root)) {
    if (key === 'plugins' || key === 'pipeline') continue;
    if (general.includes(key)) {
      // A key of the Rust agent: checked like any other, then accepted with a note saying it does nothing here.
      const before = problems.list.length;
      const value = GENERAL_KEYS[key as GeneralKey].parse(root[key], key, problems);
      if (problems.list.length === before) notes.push(generalKeyNote(key as GeneralKey, value, locator.of(key).where));
      continue;
    }
    const hint = closest(key, ['plugins', 'pipeline', ...general]);
    problems.add(
      key,
      `unknown top-level key${hint ? `; did you mean "${hint}"?` : ''} (valid: [pipeline] and [plugins.NAME] tables, and the Rust agent's ${general.join(' and ')})`,
    );
  }
  const pipeline = pipelineSchema.parse(root['pipeline'] ?? {}, 'pipeline', problems);
  const selected = extractPlugins(root['plugins'], plugins, opts.only, problems);

  if (problems.problems.length > 0) {
    const lines = problems.problems.map((p) => {
      if (p.origin !== undefined) return { line: Infinity, text: `${p.origin ? `${p.origin}: ` : ''}${p.message}` };
      const at = locator.of(p.path);
      return { line: at.line ?? Infinity, text: `${at.where}: ${p.path ? `${p.path}: ` : ''}${p.message}` };
    });
    // In file order, so the list reads like the file; the rest (command line, unplaced keys) after.
    lines.sort((a, b) => (a.line === b.line ? 0 : a.line < b.line ? -1 : 1));
    throw new ConfigError(
      lines.map((l) => l.text),
      `invalid configuration in ${path}`,
    );
  }
  return { path, generated, pipeline, ...selected, notes };
}

/**
 * The default config as TOML: a header, the commented `[pipeline]` defaults, then one `[plugins.NAME]` table
 * of defaults per plugin, with `enabled = false` for those in DISABLED_BY_DEFAULT. With `enabledNames`
 * (`config regen --plugins a,b`), only those plugins' tables are written, all enabled.
 */
export function generateDefaultConfig(plugins: readonly AnyPlugin[], enabledNames?: readonly string[]): string {
  let chosen = plugins;
  if (enabledNames !== undefined) {
    const problems = new Collector();
    const names = new Set(checkNames(enabledNames, plugins, problems));
    if (problems.problems.length > 0) throw new ConfigError(problems.list, 'unknown plugins');
    chosen = plugins.filter((p) => names.has(p.name));
  }
  const defaults = pipelineSchema.defaultValue();
  const lines = [
    '# Configuration of alumet-agent (alumet-ts), generated with the default settings.',
    '# A [plugins.NAME] table enables that plugin unless it says `enabled = false`. The order of the',
    '# tables is the order of the transforms. Durations are written "100us", "10ms", "1s", "2m", "1m30s".',
    '# A dollar sign followed by a name in braces is replaced by that environment variable.',
    '',
    '[pipeline]',
  ];
  for (const key of Object.keys(defaults) as Array<keyof PipelineSettings>) {
    lines.push(`# ${PIPELINE_KEY_NOTES[key]}`, escapeEnv(stringify({ [key]: defaults[key] }).trimEnd()));
  }
  lines.push('');
  for (const plugin of chosen) {
    const table: Table = {};
    if (enabledNames === undefined && DISABLED_BY_DEFAULT.has(plugin.name)) table['enabled'] = false;
    Object.assign(table, plugin.config.defaultValue() as Table);
    lines.push(escapeEnv(stringify({ plugins: { [plugin.name]: table } }).trimEnd()), '');
  }
  return lines.join('\n');
}

/** A default value that contains `${` must read back as written, not as an environment variable. */
function escapeEnv(toml: string): string {
  return toml.replaceAll('${', '\\${');
}

function readOrGenerate(path: string, noDefault: boolean, plugins: readonly AnyPlugin[]): { text: string; generated: boolean } {
  try {
    return { text: readFileSync(path, 'utf8'), generated: false };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'ENOENT') throw new ConfigError(`${path}: cannot read the config file: ${err.message}`);
  }
  if (noDefault) {
    throw new ConfigError(`${path}: the config file does not exist (--no-default-config forbids generating it); create it or run "alumet-agent config regen"`);
  }
  const text = generateDefaultConfig(plugins);
  try {
    // 'wx': if another process created the file meanwhile, read theirs rather than overwrite it.
    writeFileSync(path, text, { flag: 'wx' });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EEXIST') return readOrGenerate(path, true, plugins);
    throw new ConfigError(`${path}: the config file does not exist and the default could not be written there: ${err.message}`);
  }
  return { text, generated: true };
}

/** Replaces `${NAME}` with the environment variable on the raw text (keys and headers too); `\${` is a literal `${`. */
function substituteEnv(text: string, file: string, env: NodeJS.ProcessEnv): string {
  const problems: string[] = [];
  let out = '';
  let pos = 0;
  for (;;) {
    const start = text.indexOf('${', pos);
    if (start < 0) break;
    if (start > 0 && text[start - 1] === '\\') {
      out += text.slice(pos, start - 1) + '${';
      pos = start + 2;
      continue;
    }
    const at = `${file}:${lineOf(text, start)}`;
    const end = text.indexOf('}', start + 2);
    const eol = text.indexOf('\n', start);
    if (end < 0 || (eol >= 0 && eol < end)) {
      problems.push(`${at}: unclosed "\${"; write \${NAME} for an environment variable, or \\\${ for a literal "\${"`);
      out += text.slice(pos, start + 2);
      pos = start + 2;
      continue;
    }
    const name = text.slice(start + 2, end);
    let value = '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      problems.push(`${at}: ${JSON.stringify(text.slice(start, end + 1))} is not an environment variable reference; a name has letters, digits and _ (or write \\\${ for a literal "\${")`);
    } else if (env[name] === undefined) {
      problems.push(`${at}: environment variable ${name} is not set`);
    } else {
      value = env[name];
    }
    out += text.slice(pos, start) + value;
    pos = end + 1;
  }
  if (problems.length > 0) throw new ConfigError(problems, `cannot substitute environment variables in ${file}`);
  return out + text.slice(pos);
}

function parseToml(text: string, file: string): Table {
  try {
    return parse(text, { integersAsBigInt: 'asNeeded' });
  } catch (e) {
    if (e instanceof TomlError) throw new ConfigError(`${file}:${e.line}:${e.column}: invalid TOML: ${tomlMessage(e)}`);
    throw e;
  }
}

/** smol-toml's message without its "Invalid TOML document:" prefix and the code block after it. */
function tomlMessage(e: TomlError): string {
  return e.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '');
}

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'bigint') return `the integer ${v}`;
  if (typeof v === 'number') return `the number ${tomlNumber(v)}`;
  return `${typeof v === 'string' ? 'the string' : `the ${typeof v}`} ${JSON.stringify(v)}`;
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

/** Checks `--plugins` names; returns the known ones. */
function checkNames(names: readonly string[], plugins: readonly AnyPlugin[], problems: Collector): string[] {
  const known = plugins.map((p) => p.name);
  const ok: string[] = [];
  for (const name of names) {
    if (known.includes(name)) ok.push(name);
    else problems.addFrom('--plugins', unknownPlugin(name, known));
  }
  return ok;
}

function unknownPlugin(name: string, known: readonly string[]): string {
  if (isRustOnlyPlugin(name, known)) return `"${name}" is a plugin of the Rust agent that is not available in this build (available: ${known.join(', ')})`;
  const hint = closest(name, known);
  return `unknown plugin ${JSON.stringify(name)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ''} (available: ${known.join(', ')})`;
}

function extractPlugins(
  section: unknown,
  plugins: readonly AnyPlugin[],
  only: readonly string[] | undefined,
  problems: Collector,
): Pick<LoadedConfig, 'plugins' | 'disabled'> {
  const byName = new Map(plugins.map((p) => [p.name, p]));
  const tables = new Map<string, Table>();
  const enabledInFile = new Set<string>();
  if (section !== undefined && !isTable(section)) {
    problems.add('plugins', `expected a table of [plugins.NAME] tables, got ${describe(section)}`);
  } else if (section !== undefined) {
    const known = [...byName.keys()];
    for (const [name, value] of Object.entries(section)) {
      const path = `plugins.${name}`;
      const rustOnly = isRustOnlyPlugin(name, known);
      if (!byName.has(name) && !rustOnly) {
        problems.add(path, unknownPlugin(name, known));
        continue;
      }
      if (!isTable(value)) {
        problems.add(path, `expected a table, got ${describe(value)}; write [${path}] and its keys below it`);
        continue;
      }
      const { enabled, ...rest } = value;
      if (enabled !== undefined && typeof enabled !== 'boolean') {
        problems.add(`${path}.enabled`, `expected a boolean (true or false), got ${describe(enabled)}`);
      }
      if (rustOnly) {
        // A Rust agent's config may keep the tables of plugins this build lacks: fine while they are disabled,
        // or while --plugins chooses the plugins (the Rust agent ignores the tables --plugins leaves out).
        if ((enabled === undefined || enabled === true) && only === undefined) {
          problems.add(path, `${unknownPlugin(name, known)}; write enabled = false in [${path}], or remove the table`);
        }
        continue;
      }
      tables.set(name, rest);
      if (enabled !== false) enabledInFile.add(name);
    }
  }

  const enabled = only === undefined ? enabledInFile : new Set(checkNames(only.filter((n) => n !== ''), plugins, problems));
  const ordered = [...tables.keys(), ...plugins.map((p) => p.name).filter((n) => !tables.has(n))];
  const out: LoadedConfig['plugins'] = [];
  for (const name of ordered.filter((n) => enabled.has(n))) {
    const plugin = byName.get(name)!;
    const path = `plugins.${name}`;
    const before = problems.list.length;
    const config: unknown = plugin.config.parse(tables.get(name) ?? {}, path, new PluginProblems(problems, path, false));
    // A key the schema rejected was replaced by its default; cross-key checks on that would only confuse.
    if (problems.list.length === before) plugin.check?.(config, new PluginProblems(problems, path, true));
    out.push({ plugin, config });
  }
  return { plugins: out, disabled: ordered.filter((n) => !enabled.has(n)) };
}

/**
 * The problems of one plugin: its schema reports full paths, its `check` paths relative to its table
 * (`relative`). Its schema does not know `enabled` (the loader removes it), so a misspelt `enabled` gets
 * its hint here.
 */
class PluginProblems extends Problems {
  readonly #target: Problems;
  readonly #prefix: string;
  readonly #relative: boolean;
  constructor(target: Problems, prefix: string, relative: boolean) {
    super();
    this.#target = target;
    this.#prefix = prefix;
    this.#relative = relative;
  }
  override add(path: string, message: string): void {
    const full = !this.#relative ? path : path ? `${this.#prefix}.${path}` : this.#prefix;
    const key = full.startsWith(`${this.#prefix}.`) ? full.slice(this.#prefix.length + 1) : '';
    const m = /^unknown key(?:; did you mean "([^"]*)"\?)?(.*)$/s.exec(message);
    if (m !== null && key !== '' && !key.includes('.') && closest(key, ['enabled']) !== undefined) {
      if (m[1] === undefined || editDistance(key, 'enabled') < editDistance(key, m[1])) message = `unknown key; did you mean "enabled"?${m[2]}`;
    }
    super.add(full, message);
    this.#target.add(full, message);
  }
}

/** Finds the line of a key path in the TOML text, best effort: headers, dotted keys, then the nearest table. */
class Locator {
  readonly #file: string;
  readonly #origins: ReadonlyMap<string, string>;
  readonly #entries: Array<{ keys: string[]; line: number }> = [];

  constructor(text: string, file: string, origins: ReadonlyMap<string, string>) {
    this.#file = file;
    this.#origins = origins;
    let table: string[] = [];
    let inString: string | undefined;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (inString !== undefined) {
        if (line.includes(inString)) inString = undefined;
        continue;
      }
      const s = line.trim();
      if (s.startsWith('[')) {
        const header = readDottedKey(s.replace(/^\[\[?/, ''));
        if (header !== undefined && header.rest.startsWith(']')) {
          table = header.keys;
          this.#entries.push({ keys: table, line: i + 1 });
        }
        continue;
      }
      const key = readDottedKey(s);
      if (key === undefined || !key.rest.startsWith('=')) continue;
      this.#entries.push({ keys: [...table, ...key.keys], line: i + 1 });
      for (const quote of ['"""', "'''"]) {
        if (key.rest.split(quote).length % 2 === 0) inString = quote;
      }
    }
  }

  /** `FILE:LINE`, `FILE` when the key is nowhere, or the command-line option that set it. */
  of(path: string): { where: string; line?: number } {
    if (path === '') return { where: this.#file };
    const keys = path.replace(/\[\d+\]/g, '').split('.');
    for (const [set, origin] of this.#origins) {
      const s = set.split('.');
      if (startsWith(keys, s)) return { where: origin };
      if (startsWith(s, keys) && this.#exact(keys) === undefined) return { where: origin };
    }
    const line = this.#exact(keys) ?? this.#nearest(keys);
    return line === undefined ? { where: this.#file } : { where: `${this.#file}:${line}`, line };
  }

  /** First line that defines the key itself or something inside it. */
  #exact(keys: string[]): number | undefined {
    if (keys.length === 0) return undefined;
    return this.#entries.find((e) => startsWith(e.keys, keys))?.line;
  }

  /** The line of the deepest enclosing table or key, for a key that is absent (it took its default). */
  #nearest(keys: string[]): number | undefined {
    let best: { depth: number; line: number } | undefined;
    for (const e of this.#entries) {
      if (e.keys.length < keys.length && startsWith(keys, e.keys) && (best === undefined || e.keys.length > best.depth)) {
        best = { depth: e.keys.length, line: e.line };
      }
    }
    return best?.line;
  }
}

function startsWith(keys: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= keys.length && prefix.every((k, i) => keys[i] === k);
}

const KEY_PART = /\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*/y;

/** Reads `a.b."c d"` at the start of `s`; undefined when `s` does not start with a key. */
function readDottedKey(s: string): { keys: string[]; rest: string } | undefined {
  const keys: string[] = [];
  let pos = 0;
  for (;;) {
    KEY_PART.lastIndex = pos;
    const m = KEY_PART.exec(s);
    if (m === null) return undefined;
    let key = m[1] ?? m[3];
    if (key === undefined) {
      try {
        key = JSON.parse(`"${m[2]}"`) as string;
      } catch {
        key = m[2]!;
      }
    }
    keys.push(key);
    pos = KEY_PART.lastIndex;
    if (s[pos] !== '.') return { keys, rest: s.slice(pos) };
    pos++;
  }
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
