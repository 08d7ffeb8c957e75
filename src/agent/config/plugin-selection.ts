// Which plugins run, and with what config: the `[plugins.NAME]` tables of the file (or `--plugins`), each
// enabled plugin's table checked against its schema and its own checks, in table order. Main thread.

import type { AnyPlugin } from '../plugin-api.js';
import { closest, editDistance } from '../../protocol/suggest.js';
import { isTable, type Table } from './config-file.js';
import type { Collector } from './problem-list.js';
import { isRustOnlyPlugin } from './rust-compat.js';
import { Problems, tomlNumber } from './schema.js';

/** The plugins chosen, each with its checked config, and the names of the others. */
export interface PluginSelection {
  /**
   * Enabled plugins with their checked config (the table merged over the defaults, without `enabled`):
   * those with a table in the order of the tables (which sets the transform order), then the others.
   */
  plugins: Array<{ plugin: AnyPlugin; config: unknown }>;
  /** Names of the available plugins that are not enabled. */
  disabled: string[];
}

/** A value as the messages about `[plugins]` tables show it. */
function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'bigint') return `the integer ${v}`;
  if (typeof v === 'number') return `the number ${tomlNumber(v)}`;
  return `${typeof v === 'string' ? 'the string' : `the ${typeof v}`} ${JSON.stringify(v)}`;
}

/** Checks `--plugins` names; returns the known ones. */
export function checkNames(names: readonly string[], plugins: readonly AnyPlugin[], problems: Collector): string[] {
  const known = plugins.map((p) => p.name);
  const ok: string[] = [];
  for (const name of names) {
    if (known.includes(name)) ok.push(name);
    else problems.addFrom('--plugins', unknownPlugin(name, known));
  }
  return ok;
}

export function unknownPlugin(name: string, known: readonly string[]): string {
  if (isRustOnlyPlugin(name, known)) return `"${name}" is a plugin of the Rust agent that is not available in this build (available: ${known.join(', ')})`;
  const hint = closest(name, known);
  return `unknown plugin ${JSON.stringify(name)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ''} (available: ${known.join(', ')})`;
}

export function selectPlugins(
  section: unknown,
  plugins: readonly AnyPlugin[],
  only: readonly string[] | undefined,
  problems: Collector,
): PluginSelection {
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
  const out: PluginSelection['plugins'] = [];
  for (const name of ordered.filter((n) => enabled.has(n))) {
    const plugin = byName.get(name)!;
    out.push({ plugin, config: pluginConfig(plugin, tables.get(name) ?? {}, problems) });
  }
  return { plugins: out, disabled: ordered.filter((n) => !enabled.has(n)) };
}

/**
 * One plugin's `[plugins.NAME]` table (without `enabled`) checked against its schema, then by its own checks;
 * problems are filed under the table's path. The config is the table merged over the defaults.
 */
export function pluginConfig(plugin: AnyPlugin, table: unknown, problems: Problems): unknown {
  const path = `plugins.${plugin.name}`;
  const before = problems.list.length;
  const config: unknown = plugin.config.parse(table, path, new PluginProblems(problems, path, false));
  // A key the schema rejected was replaced by its default; cross-key checks on that would only confuse.
  if (problems.list.length === before) plugin.check?.(config, new PluginProblems(problems, path, true));
  return config;
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
