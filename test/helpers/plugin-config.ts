// A plugin's config table checked as the config loader checks it (schema, then the plugin's own checks),
// for tests of config errors. Main thread.

import { pluginConfig } from '../../src/agent/config/plugin-selection.js';
import { Problems } from '../../src/agent/config/schema.js';
import type { AnyPlugin } from '../../src/agent/plugin-api.js';

/** Every problem of `table` as the user would see it (`plugins.NAME.key: message`); [] when it is valid. */
export function configProblems(plugin: AnyPlugin, table: unknown): string[] {
  const problems = new Problems();
  pluginConfig(plugin, table, problems);
  return problems.list;
}
