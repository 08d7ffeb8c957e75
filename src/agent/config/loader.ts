// Loads alumet-config.toml: read it (generated if missing, `${VAR}` replaced: config-file.ts), apply the
// command line (overrides.ts), check the top-level keys, [pipeline] and each enabled plugin
// (plugin-selection.ts), and report every problem at once with file, line and key (problem-list.ts,
// locator.ts). Main thread.

import type { AnyPlugin } from '../plugin-api.js';
import { closest } from '../../protocol/suggest.js';
import { parseToml, readOrGenerate, substituteEnv } from './config-file.js';
import { Locator } from './locator.js';
import { applyCommandLine } from './overrides.js';
import { pipelineSchema, type PipelineSettings } from './pipeline-settings.js';
import { selectPlugins, type PluginSelection } from './plugin-selection.js';
import { Collector } from './problem-list.js';
import { GENERAL_KEYS, generalKeyNote, type GeneralKey, type RustFlag } from './rust-compat.js';


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

export interface LoadedConfig extends PluginSelection {
  path: string;
  pipeline: PipelineSettings;
  /** The file was missing and has just been written with the defaults. */
  generated: boolean;
  /**
   * Info lines for the caller to log: each top-level key or option of the Rust agent that was accepted but
   * has no effect here, and why.
   */
  notes: string[];
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
  const { origins, notes } = applyCommandLine(root, opts, plugins, problems);

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
  const selected = selectPlugins(root['plugins'], plugins, opts.only, problems);

  problems.throwIfAny(locator, path);
  return { path, generated, pipeline, ...selected, notes };
}
