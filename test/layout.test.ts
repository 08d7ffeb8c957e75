// The layout is executable: every import under src/ (type-only ones too, since they couple as much) is read
// and checked against the rules of the architecture. A new edge that the layout forbids fails here, naming
// the file, the import and the rule, before it becomes a habit.
//
//   main.ts, cli-args.ts   the CLI: may use anything
//   agent/      main thread: config, plugin lifecycle, supervisor   → agent, control, protocol
//   control/    the control path, reaches the agent through ControlTarget only → control, protocol
//   workers/    worker threads: element host, links, scheduler       → workers, protocol
//   protocol/   what crosses threads; a leaf                          → protocol
//   plugins/X/  one plugin                                            → its own folder, plugins/shared,
//               and the two plugin-facing entry points: agent/plugin-api.ts (main thread) and
//               protocol/element-api.ts (element modules in workers)
//   plugins/index.ts   the list of plugins                            → each plugin's index.ts
//   plot/       `alumet-agent plot`: reads a CSV, writes SVG or HTML → plot, protocol, and the CSV format's
//               column names in plugins/shared/alumet-csv.ts (shared with the csv output that writes them)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { REPO_ROOT } from './helpers/agent-process.js';

const SRC = join(REPO_ROOT, 'src');
const PLUGIN_ENTRY_POINTS = ['agent/plugin-api.ts', 'protocol/element-api.ts'];

interface Edge {
  /** Paths relative to src/, with .ts extensions. */
  readonly from: string;
  readonly to: string;
  readonly line: number;
}

/** Every .ts file under src/ but tests (tests may reach anything they exercise). */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'testdata' ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [relative(SRC, path)] : [];
  });
}

/** Relative imports of `file`: static imports and re-exports (type-only included) and literal dynamic imports. */
function importsOf(file: string, text: string): Edge[] {
  const edges: Edge[] = [];
  const pattern = /(?:^|[\s;])(?:import|export)\b[^'"`;]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^import\s+['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const m of text.matchAll(pattern)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    const to = normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts');
    edges.push({ from: file, to, line: text.slice(0, m.index + m[0].length).split('\n').length });
  }
  return edges;
}

/** Why `edge` breaks the layout, or undefined if it is allowed. */
export function violation(edge: Edge): string | undefined {
  const { from, to } = edge;
  if (to.startsWith('..')) return 'imports from outside src/';
  const area = (p: string): string => (p.includes('/') ? p.slice(0, p.indexOf('/')) : p);
  const fromArea = area(from);
  const toArea = area(to);
  switch (fromArea) {
    case 'main.ts':
    case 'cli-args.ts':
      return undefined;
    case 'protocol':
      return toArea === 'protocol' ? undefined : 'protocol/ is a leaf: it holds what crosses threads and imports nothing else';
    case 'workers':
      return ['workers', 'protocol'].includes(toArea) ? undefined : 'workers/ runs in worker threads and knows only protocol/ (never the agent, control or plugins)';
    case 'control':
      return ['control', 'protocol'].includes(toArea) ? undefined : 'control/ reaches the agent only through the ControlTarget interface, and never workers or plugins';
    case 'agent':
      return ['agent', 'control', 'protocol'].includes(toArea) ? undefined : 'agent/ loads plugins and workers by reference (a list, a module URL), never by import';
    case 'plot':
      return ['plot', 'protocol'].includes(toArea) || to === 'plugins/shared/alumet-csv.ts'
        ? undefined
        : 'plot/ reads files: it knows protocol/ and the CSV format (plugins/shared/alumet-csv.ts), never the agent, workers or a plugin';
    case 'plugins': {
      if (from === 'plugins/index.ts') return /^plugins\/[^/]+\/index\.ts$/.test(to) || PLUGIN_ENTRY_POINTS.includes(to) ? undefined : 'plugins/index.ts lists plugin definitions only';
      const folder = from.split('/').slice(0, 2).join('/');
      if (to.startsWith(`${folder}/`) || to.startsWith('plugins/shared/') || PLUGIN_ENTRY_POINTS.includes(to)) return undefined;
      return `a plugin imports its own folder, plugins/shared/ and the plugin API (${PLUGIN_ENTRY_POINTS.join(', ')}) only`;
    }
    default:
      return `${fromArea} is not a place of the layout (main.ts, cli-args.ts, agent, control, workers, protocol, plugins, plot)`;
  }
}

test('every import under src/ follows the layout', () => {
  const edges = sourceFiles().flatMap((file) => importsOf(file, readFileSync(join(SRC, file), 'utf8')));
  // A reader that found nothing would pass whatever the code does.
  assert.ok(edges.length > 200, `the imports were read (${edges.length})`);
  for (const area of ['agent/', 'control/', 'workers/', 'protocol/', 'plugins/', 'plot/']) {
    assert.ok(edges.some((e) => e.from.startsWith(area)), `imports of ${area} were read`);
  }
  const bad = edges.flatMap((e) => {
    const why = violation(e);
    return why === undefined ? [] : [`src/${e.from}:${e.line} imports src/${e.to}: ${why}`];
  });
  assert.deepEqual(bad, [], `forbidden imports:\n${bad.join('\n')}`);
});

test('the layout rules reject the edges they exist to prevent', () => {
  const forbidden: Array<[string, string]> = [
    ['plugins/csv/output.ts', 'agent/supervisor.ts'],
    ['plugins/procfs/index.ts', 'agent/config/loader.ts'],
    ['plugins/csv/index.ts', 'plugins/procfs/parse.ts'],
    ['plugins/filter/transform.ts', 'workers/links.ts'],
    ['workers/element-worker.ts', 'agent/supervisor.ts'],
    ['workers/links.ts', 'control/dispatch.ts'],
    ['control/dispatch.ts', 'agent/supervisor.ts'],
    ['control/socket-server.ts', 'workers/links.ts'],
    ['protocol/batch.ts', 'agent/metric-registry.ts'],
    ['protocol/element.ts', 'control/control-target.ts'],
    ['agent/agent.ts', 'workers/element-worker.ts'],
    ['agent/agent.ts', 'plugins/csv/index.ts'],
    ['plot/plot-command.ts', 'agent/agent.ts'],
    ['plot/alumet-rows.ts', 'plugins/csv/format-rows.ts'],
  ];
  for (const [from, to] of forbidden) assert.ok(violation({ from, to, line: 1 }) !== undefined, `${from} → ${to} is refused`);
  const parsed = importsOf('plugins/x/a.ts', "import type { A } from '../../agent/supervisor.js';\nexport { B } from './b.js';\nconst m = await import('../../workers/links.js');\n");
  assert.deepEqual(
    parsed.map((e) => [e.to, e.line]),
    [['agent/supervisor.ts', 1], ['plugins/x/b.ts', 2], ['workers/links.ts', 3]],
    'type-only imports, re-exports and dynamic imports are all read',
  );
});
