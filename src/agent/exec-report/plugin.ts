// The exec report's internal plugin: `exec` adds it to the enabled plugins (it is not in the plugin list,
// and no config names it) so that its output, output/exec-report/report, gets every point. Main thread.

import { definePlugin, t } from '../plugin-api.js';
import type { ReportOutputConfig } from './output.js';

/** The plugin, whose output writes its figures to `figuresPath` when the agent stops. */
export const execReportPlugin = definePlugin<ReportOutputConfig>({
  name: 'exec-report',
  version: '0.1.0',
  config: t.table({ figuresPath: t.string('', { nonEmpty: true }) }),
  enabledByDefault: false,
  start(config, ctx) {
    ctx.output('report', new URL('./output.js', import.meta.url), config);
  },
});
