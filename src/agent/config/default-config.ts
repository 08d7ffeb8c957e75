// The default config file: the commented `[pipeline]` defaults and one `[plugins.NAME]` table of defaults per
// plugin (`config regen`, and a missing config file). Main thread.

import { stringify } from 'smol-toml';
import { isEnabledByDefault, type AnyPlugin } from '../plugin-api.js';
import { ConfigError } from './errors.js';
import { pipelineSchema, PIPELINE_KEY_NOTES, type PipelineSettings } from './pipeline-settings.js';
import { checkNames } from './plugin-selection.js';
import { Collector } from './problem-list.js';

/**
 * The default config as TOML: a header, the commented `[pipeline]` defaults, then one `[plugins.NAME]` table
 * of defaults per plugin, with `enabled = false` for those not enabled by default. With `enabledNames`
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
    const table: Record<string, unknown> = {};
    const disabled = enabledNames === undefined && !isEnabledByDefault(plugin);
    if (disabled) {
      table['enabled'] = false;
      const note = plugin.disabledNote?.();
      if (note !== undefined) lines.push(comment(note));
    }
    Object.assign(table, plugin.config.defaultValue() as Record<string, unknown>);
    const generated = Object.entries(plugin.generatedValues ?? {});
    for (const [key, { value }] of generated) table[key] = value;
    let toml = escapeEnv(stringify({ plugins: { [plugin.name]: table } }).trimEnd());
    // The plugin's own keys come before any sub-table, so the first line that sets `key` is the one.
    for (const [key, { why }] of generated) toml = toml.replace(new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} = `, 'm'), (line) => `${comment(why)}\n${line}`);
    lines.push(toml, '');
  }
  return lines.join('\n');
}

/** `text` as TOML comment lines. */
function comment(text: string): string {
  return text
    .split('\n')
    .map((line) => `# ${line}`)
    .join('\n');
}

/** A default value that contains `${` must read back as written, not as an environment variable. */
function escapeEnv(toml: string): string {
  return toml.replaceAll('${', '\\${');
}
