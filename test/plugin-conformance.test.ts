// Every plugin of src/plugins/index.ts against what it says about itself (src/plugins/README.md describes
// the conventions): its defaults pass its own schema and checks; its README's configuration table lists
// exactly its keys with their defaults, and its metrics table exactly its declared metrics with their
// units, types and attributes; a test runs it through the plugin harness; and its code imports only the
// plugin API (element modules: nothing of the main thread). Reads the TypeScript sources and READMEs from
// the repository; main thread.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { Problems, type Schema } from '../src/agent/config/schema.js';
import { isDerived, isForeign, type AnyPlugin } from '../src/agent/plugin-api.js';
import { PLUGINS } from '../src/plugins/index.js';
import { UNITS, parseUnit, unitEquals, unitUniqueName } from '../src/protocol/units.js';
import { REPO_ROOT } from './helpers/agent-process.js';

const PLUGINS_DIR = join(REPO_ROOT, 'src/plugins');
const folder = (plugin: AnyPlugin): string => join(PLUGINS_DIR, plugin.name);

// ---------------------------------------------------------------------------------------------------------
// README tables

/** The cells of a Markdown table row; a `|` inside backticks or escaped as `\|` stays in its cell. */
function cells(row: string): string[] {
  const out: string[] = [];
  let cell = '';
  let code = false;
  const body = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\' && body[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (c === '`') {
      code = !code;
      cell += c;
    } else if (c === '|' && !code) {
      out.push(cell.trim());
      cell = '';
    } else cell += c;
  }
  out.push(cell.trim());
  return out;
}

interface Table {
  header: string[];
  rows: Array<{ line: number; cells: string[] }>;
}

/** Every table of a Markdown text outside code fences, with the line of each row. */
function tables(text: string): Table[] {
  const found: Table[] = [];
  let current: Table | undefined;
  let fence = false;
  text.split('\n').forEach((line, i) => {
    if (line.startsWith('```')) fence = !fence;
    if (fence || !line.trimStart().startsWith('|')) {
      current = undefined;
      return;
    }
    const row = cells(line);
    if (current === undefined) found.push((current = { header: row, rows: [] }));
    else if (!row.every((c) => /^:?-+:?$/.test(c))) current.rows.push({ line: i + 1, cells: row });
  });
  return found;
}

const backticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

// ---------------------------------------------------------------------------------------------------------
// Schema keys

interface Key {
  /** Relative to `[plugins.NAME]`: `root`, `kernel.poll_interval`, `processes.groups[].exe_regex`. */
  path: string;
  schema: Schema<unknown>;
  /** The default, or undefined for a key that has none (it is absent unless the user sets it). */
  value: unknown;
}

/**
 * The keys a README lists: each key of a table, nested tables' keys dotted; an array of tables both as a
 * key and through its items' keys (`groups[].pid`); anything else (values, lists of values, maps) as a key.
 */
function keysOf(schema: Schema<unknown>, value: unknown, prefix = ''): Key[] {
  const shape = schema.shape;
  if (shape?.kind !== 'table') return [];
  const out: Key[] = [];
  for (const [name, field] of Object.entries(shape.fields)) {
    const path = `${prefix}${name}`;
    const v = (value as Record<string, unknown> | undefined)?.[name];
    const inner = field.shape?.kind === 'optional' ? field.shape.inner : field;
    if (inner.shape?.kind === 'table') {
      out.push(...keysOf(inner, v, `${path}.`));
    } else if (inner.shape?.kind === 'list' && inner.shape.item.shape?.kind === 'table') {
      out.push({ path, schema: field, value: v });
      out.push(...keysOf(inner.shape.item, inner.shape.item.defaultValue(), `${path}[].`));
    } else {
      out.push({ path, schema: field, value: v });
    }
  }
  return out;
}

/** Fails unless `listed` (a README's rows) holds each of `declared` once and nothing else; says what differs. */
function sameNames(where: string, listed: string[], declared: string[], declaredBy: string): void {
  const missing = declared.filter((k) => !listed.includes(k));
  const extra = listed.filter((k) => !declared.includes(k));
  const twice = listed.filter((k, i) => listed.indexOf(k) !== i);
  const problems = [
    ...(missing.length ? [`no row for ${missing.join(', ')} (in ${declaredBy})`] : []),
    ...(extra.length ? [`a row for ${extra.join(', ')}, which ${declaredBy} does not have`] : []),
    ...(twice.length ? [`more than one row for ${twice.join(', ')}`] : []),
  ];
  assert.ok(problems.length === 0, `${where}: ${problems.join('; ')}`);
}

// ---------------------------------------------------------------------------------------------------------
// Imports

const IMPORT = /^(?:import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm;

/** The modules a TypeScript file imports or re-exports from, and whether each is for types only (erased). */
function importsOf(file: string): Array<{ spec: string; typeOnly: boolean }> {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => ({ spec: m[2]!, typeOnly: m[1] !== undefined }));
}

const tsOf = (file: string, spec: string): string => resolve(dirname(file), spec).replace(/\.js$/, '.ts');
const rel = (file: string): string => relative(REPO_ROOT, file);

/** Files of a plugin folder that belong to the plugin (not its tests). */
const sourcesOf = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(dir, f));

/** The element modules of a plugin: the files its code loads by URL (`new URL('./kernel.js', import.meta.url)`). */
function elementModules(dir: string): string[] {
  const found = new Set<string>();
  for (const file of sourcesOf(dir)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/new URL\('(\.\/[^']+\.js)', import\.meta\.url\)/g)) found.add(tsOf(file, m[1]!));
  }
  return [...found];
}

/** Every file a module loads at run time, itself included (type-only imports are erased, so not followed). */
function runtimeClosure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const { spec, typeOnly } of importsOf(file)) {
    if (!typeOnly && spec.startsWith('.')) runtimeClosure(tsOf(file, spec), seen);
  }
  return seen;
}

const PLUGIN_API = join(REPO_ROOT, 'src/agent/plugin-api.ts');
const ELEMENT_API = join(REPO_ROOT, 'src/protocol/element-api.ts');
const SHARED = join(PLUGINS_DIR, 'shared');
/** The packages a plugin may import: the runtime dependencies, which the installed agent has. */
const RUNTIME_PACKAGES = new Set(Object.keys((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {}));
/** `protobufjs` for `protobufjs/minimal.js`, `@scope/name` for `@scope/name/x`. */
const packageOf = (spec: string): string => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

// ---------------------------------------------------------------------------------------------------------

for (const plugin of PLUGINS) {
  const readmePath = join(folder(plugin), 'README.md');
  const readme = (): Table[] => tables(readFileSync(readmePath, 'utf8'));

  test(`${plugin.name}: the defaults pass the schema and the checks, and read back from TOML unchanged`, () => {
    assert.equal(typeof plugin.enabledByDefault, 'boolean', 'the definition says whether a generated config enables it');
    const defaults = plugin.config.defaultValue();
    const problems = new Problems();
    assert.deepEqual(plugin.config.parse(defaults, `plugins.${plugin.name}`, problems), defaults);
    plugin.check?.(defaults, problems);
    assert.deepEqual(problems.list, []);
    const toml = structuredClone(parse(stringify({ table: defaults as Record<string, unknown> }))['table']);
    assert.deepEqual(plugin.config.parse(toml, `plugins.${plugin.name}`, problems), defaults);
    assert.deepEqual(problems.list, []);
  });

  test(`${plugin.name}: the README's configuration table lists exactly its keys, with their defaults`, () => {
    const rows = readme()
      .filter((t) => t.header.join('|') === 'key|default|meaning')
      .flatMap((t) => t.rows);
    const keys = keysOf(plugin.config, plugin.config.defaultValue());
    const listed = rows.map((r) => backticked(r.cells[0]!)[0] ?? `(no key in ${JSON.stringify(r.cells[0])})`);
    sameNames(`${rel(readmePath)}, table "key | default | meaning"`, listed, keys.map((k) => k.path), `the schema of [plugins.${plugin.name}]`);
    for (const row of rows) {
      const key = keys.find((k) => k.path === backticked(row.cells[0]!)[0])!;
      const where = `${rel(readmePath)}:${row.line}: ${key.path}`;
      const [, cell = '', meaning = ''] = row.cells;
      assert.ok(meaning !== '', `${where}: the meaning is empty`);
      if (key.value === undefined) {
        assert.match(cell, /^\(.+\)$/, `${where}: has no default, so its default cell says in parentheses what leaving it out means`);
        continue;
      }
      const m = /^`([^`]+)`$/.exec(cell);
      assert.ok(m, `${where}: the default cell is the default as TOML, in backticks (got ${JSON.stringify(cell)})`);
      let written: unknown;
      try {
        written = structuredClone(parse(`value = ${m[1]!}`)['value']);
      } catch (e) {
        assert.fail(`${where}: ${m[1]} is not a TOML value: ${(e as Error).message}`);
      }
      const problems = new Problems();
      // Read as a user's value would be, so a table's missing keys take their defaults (`[{}]`).
      const value = key.schema.parse(written, key.path, problems);
      assert.deepEqual(problems.list, [], `${where}: ${m[1]} is not a valid value`);
      assert.deepEqual(value, key.value, `${where}: the README says ${m[1]}, the default is ${JSON.stringify(key.value)}`);
    }
  });

  test(`${plugin.name}: the README's metrics table lists exactly its declared metrics, with unit, type and attributes`, () => {
    const metricTables = readme().filter((t) => t.header[0] === 'metric' && t.header[1] === 'unit' && t.header[2] === 'type');
    const declared = plugin.metrics ?? {};
    if (Object.keys(declared).length === 0) {
      assert.equal(metricTables.length, 0, `${rel(readmePath)}: ${plugin.name} declares no metric, so its README has no metrics table`);
      return;
    }
    const rows = metricTables.flatMap((t) => t.rows.map((r) => ({ ...r, at: (column: string) => r.cells[t.header.indexOf(column)] ?? '' })));
    assert.ok(metricTables.every((t) => t.header.includes('attributes')), `${rel(readmePath)}: every metrics table has an attributes column`);
    const listed = rows.map((r) => backticked(r.cells[0]!)[0] ?? `(no name in ${JSON.stringify(r.cells[0])})`);
    sameNames(`${rel(readmePath)}, table "metric | unit | type | …"`, listed, Object.keys(declared), `the metrics ${plugin.name} declares`);
    for (const row of rows) {
      const name = backticked(row.cells[0]!)[0]!;
      const spec = declared[name]!;
      const where = `${rel(readmePath)}:${row.line}: ${name}`;
      const attributes = row.at('attributes');
      sameNames(`${where}: attributes (each key in backticks, "—" for none)`, attributes === '—' ? [] : backticked(attributes), [...(spec.attributes ?? [])], 'its declared attributes');
      if (isDerived(spec) || isForeign(spec)) {
        for (const column of ['unit', 'type']) {
          assert.match(row.at(column), /^as\b/, `${where}: a derived or foreign family's ${column} cell says whose it is ("as \`<metric>\`", "as the client sent it")`);
        }
        continue;
      }
      const unitText = backticked(row.at('unit'))[0];
      assert.ok(unitText !== undefined, `${where}: the unit cell holds the unit in backticks`);
      const declaredUnit = typeof spec.unit === 'string' ? parseUnit(spec.unit) : spec.unit;
      // A custom unit (energy-to-carbon's g_CO2) is written by its unique name, which no parser knows.
      const listedUnit = Object.hasOwn(UNITS, declaredUnit.base) ? parseUnit(unitText) : { ...declaredUnit, base: unitText };
      assert.ok(unitEquals(listedUnit, declaredUnit), `${where}: the README says ${unitText}, the plugin declares ${unitUniqueName(declaredUnit)}`);
      const type = row.at('type');
      assert.equal(type.replaceAll('`', '').split(/[\s,(]/)[0], spec.type, `${where}: the type cell starts with the declared type`);
      assert.equal(/\bdelta\b/.test(type), spec.delta === true, `${where}: the type cell says "delta" exactly when the metric is declared a delta`);
    }
  });

  test(`${plugin.name}: a test runs it through the plugin harness`, () => {
    const tests = readdirSync(folder(plugin)).filter((f) => f.endsWith('.test.ts'));
    const runs = tests.filter((f) => {
      const text = readFileSync(join(folder(plugin), f), 'utf8');
      const name = /^import (\w+)(?:, \{[^}]*\})? from '\.\/index\.js';$/m.exec(text)?.[1];
      return (
        name !== undefined &&
        /from '\.\.\/\.\.\/\.\.\/test\/helpers\/plugin-harness\.js'/.test(text) &&
        new RegExp(`startPlugin\\(\\s*\\w+,\\s*${name}\\b`).test(text)
      );
    });
    assert.ok(
      runs.length > 0,
      `no test in src/plugins/${plugin.name}/ (${tests.join(', ') || 'none'}) imports its definition from './index.js' and runs it with startPlugin() from test/helpers/plugin-harness.ts`,
    );
  });

  test(`${plugin.name}: its code imports only the plugin API, and its element modules nothing of the main thread`, () => {
    const dir = folder(plugin);
    for (const file of sourcesOf(dir)) {
      for (const { spec } of importsOf(file)) {
        if (spec.startsWith('node:') || !spec.startsWith('.')) {
          assert.ok(
            spec.startsWith('node:') || RUNTIME_PACKAGES.has(packageOf(spec)),
            `${rel(file)} imports the package ${spec}; plugins use node:*, the plugin API and the packages of package.json's "dependencies" only`,
          );
          continue;
        }
        const target = tsOf(file, spec);
        const allowed = dirname(target) === dir || dirname(target) === SHARED || target === PLUGIN_API || target === ELEMENT_API;
        assert.ok(allowed, `${rel(file)} imports ${spec}; a plugin imports src/agent/plugin-api.ts, src/protocol/element-api.ts, src/plugins/shared/ and its own folder only`);
      }
    }
    const elements = elementModules(dir);
    if (plugin.name !== 'socket-control') assert.ok(elements.length > 0, `${plugin.name} loads no element module by URL`);
    for (const element of elements) {
      assert.ok(existsSync(element), `${rel(element)} (loaded by URL) exists`);
      for (const file of runtimeClosure(element)) {
        const where = rel(file);
        assert.ok(
          !where.startsWith('src/agent/') && !where.startsWith('src/control/') && !where.startsWith('src/workers/'),
          `element module ${rel(element)} loads ${where} at run time, which belongs to the main thread; import its types with "import type"`,
        );
      }
    }
  });
}

test('src/plugins/shared holds helpers for element modules: node:*, the element API and runtime dependencies only', () => {
  for (const file of sourcesOf(SHARED)) {
    for (const { spec } of importsOf(file)) {
      const allowed = spec.startsWith('.') ? tsOf(file, spec) === ELEMENT_API || dirname(tsOf(file, spec)) === SHARED : spec.startsWith('node:') || RUNTIME_PACKAGES.has(packageOf(spec));
      assert.ok(allowed, `${rel(file)} imports ${spec}`);
    }
  }
});
