// Installing the agent like a user would: `npm pack` of a copy of the checkout (its prepack builds it), the
// tarball's file list, `npm install -g` of the tarball into a temporary prefix, the installed binaries, `npx`
// of the tarball; and the systemd unit in packaging/ checked by `systemd-analyze verify`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { csvRows, REPO_ROOT, rmrf, tempDir } from './helpers/agent-process.js';

const PKG = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const UNIT = join(REPO_ROOT, 'packaging/alumet-agent.service');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end (no shell); on timeout it is killed and the run fails. */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no exit within ${opts.timeout} ms; stderr: ${stderr.slice(-2000)}`));
    }, opts.timeout ?? 300_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function show(r: Run): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;
}

/**
 * The environment for a child npm: this one without what `npm test` adds for its own script (the
 * package's fields, the lifecycle event, the project's prefix), so the child works on its own directory
 * as if a user had typed the command there. Registry and cache settings stay.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_/.test(k) || ['npm_command', 'npm_config_local_prefix', 'npm_config_global_prefix', 'INIT_CWD'].includes(k)) continue;
    env[k] = v;
  }
  return env;
}

/** Paths (relative to dir) of the files under dir, at any depth. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

/** Package names of the bare imports (`from 'pino'`, `import('x/y')`) in a compiled module. */
function bareImports(js: string): string[] {
  const names: string[] = [];
  for (const m of js.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)) {
    const spec = m[1]!;
    if (spec.startsWith('.') || spec.startsWith('node:') || spec.startsWith('/')) continue;
    const parts = spec.split('/');
    names.push(spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
  }
  return names;
}

test('packaging/alumet-agent.service passes systemd-analyze verify without a warning', async (t) => {
  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
  assert.ok(analyze, 'systemd-analyze is installed (Debian package systemd; .ci/run installs it)');
  const dir = tempDir('alumet-unit-');
  t.after(() => rmrf(dir));

  const unit = readFileSync(UNIT, 'utf8');
  const setting = (key: string): string[] => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);
  const [execStart] = setting('ExecStart');
  assert.ok(execStart?.startsWith('alumet-agent run '), `ExecStart runs the installed binary: ${execStart}`);
  assert.match(execStart, / --config \/etc\/alumet\/alumet-config\.toml /);
  const socket = /socket_path = "([^"]+)"/.exec(execStart)?.[1];
  assert.ok(socket?.startsWith('/run/alumet/') && Buffer.byteLength(socket) < 108, `the socket is in the RuntimeDirectory: ${socket}`);
  assert.deepEqual(setting('RuntimeDirectory'), ['alumet']);
  assert.deepEqual(setting('StateDirectory'), ['alumet']);
  assert.deepEqual(setting('ConfigurationDirectory'), ['alumet']);
  assert.deepEqual(setting('WorkingDirectory'), ['/var/lib/alumet']);
  assert.deepEqual(setting('KillSignal'), ['SIGTERM']);
  assert.deepEqual(setting('Restart'), ['on-failure']);
  const stopTimeout = /^(\d+)s$/.exec(setting('TimeoutStopSec')[0] ?? '');
  assert.ok(stopTimeout && Number(stopTimeout[1]) > 10, 'TimeoutStopSec is longer than the default shutdown_timeout (10s)');
  assert.deepEqual(setting('AmbientCapabilities'), ['CAP_SYS_PTRACE']);
  assert.deepEqual(setting('CapabilityBoundingSet'), ['CAP_SYS_PTRACE']);

  // verify checks that ExecStart's program exists and is executable; alumet-agent is not installed here,
  // so the copy that is verified runs a stand-in in the temp dir. Nothing else of the unit changes.
  const standIn = join(dir, 'alumet-agent');
  writeFileSync(standIn, '#!/bin/sh\nexit 0\n');
  chmodSync(standIn, 0o755);
  const copy = unit.replace(/^ExecStart=alumet-agent /m, `ExecStart=${standIn} `);
  assert.equal(copy.split('\n').filter((line, i) => line !== unit.split('\n')[i]).length, 1, 'only the ExecStart line differs');

  const verify = async (name: string, text: string): Promise<{ r: Run; about: string[] }> => {
    const path = join(dir, name);
    writeFileSync(path, text);
    const r = await run(analyze, ['verify', path], { cwd: dir, env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: '' }, timeout: 60_000 });
    // Lines about other units (the targets this one is ordered against) are not ours to judge.
    const about = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.includes(name));
    return { r, about };
  };
  const good = await verify('alumet-agent.service', copy);
  assert.equal(good.r.code, 0, show(good.r));
  assert.deepEqual(good.about, [], show(good.r));

  // The check can fail: a misspelled key and a bad duration are only warnings (exit 0), and they are seen.
  const bad = await verify('alumet-broken.service', copy.replace('TimeoutStopSec=30s', 'TimeoutStopSec=soon').replace('RestartSec=', 'RestartSecs='));
  assert.equal(bad.about.length, 2, show(bad.r));
});

test('npm pack ships the built agent without tests; the tarball installs and runs with npm install -g and npx', { timeout: 900_000 }, async (t) => {
  const tmp = tempDir('alumet-pack-');
  t.after(() => rmrf(tmp));
  const env = npmEnv();

  // A copy of the checkout without dist/: prepack must build it. (Packing the checkout itself would
  // rebuild the dist/ the other test files are running from.)
  const project = join(tmp, 'project');
  mkdirSync(project);
  for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'LICENSE', 'bin', 'src', 'test', 'bench', 'scripts']) {
    if (existsSync(join(REPO_ROOT, entry))) cpSync(join(REPO_ROOT, entry), join(project, entry), { recursive: true });
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(project, 'node_modules'), 'dir');
  const packed = await run('npm', ['pack', '--pack-destination', tmp], { cwd: project, env });
  assert.equal(packed.code, 0, show(packed));
  const tarball = join(tmp, `${PKG.name}-${PKG.version}.tgz`);
  assert.ok(existsSync(tarball), `npm pack wrote ${tarball}; ${show(packed)}`);
  assert.ok(existsSync(join(project, 'dist/src/main.js')), 'prepack built the copy');

  // What the tarball holds.
  const listing = await run('tar', ['-tzf', tarball], { cwd: tmp });
  assert.equal(listing.code, 0, show(listing));
  const files = listing.stdout.split('\n').filter((f) => f.length > 0).map((f) => f.replace(/^package\//, ''));
  for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/alumet-agent.js', 'dist/src/main.js', 'dist/src/workers/element-worker.js', 'src/plugins/procfs/README.md']) {
    assert.ok(files.includes(f), `the package has ${f}`);
  }
  const unwanted = files.filter((f) => /(^|\/)(test|testdata|bench|scripts)\/|\.test\.js$|\.map$|\.ts$|tsbuildinfo|^dist\/(?!src\/)|^src\/.*(?<!README\.md)$/.test(f));
  assert.deepEqual(unwanted, [], 'no tests, test data, bench, sources, maps or build state in the package');
  const built = filesUnder(join(project, 'dist/src')).filter((f) => f.endsWith('.js') && !f.endsWith('.test.js')).map((f) => `dist/src/${f}`);
  assert.deepEqual(files.filter((f) => f.startsWith('dist/')).sort(), built.sort(), 'every module of dist/src ships, and nothing else of dist/');
  assert.match(readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) \d{4} the alumet-ts authors\n/);

  // Every package the shipped code imports is a runtime dependency; the build tools are not.
  const imported = new Set(built.flatMap((f) => bareImports(readFileSync(join(project, f), 'utf8'))));
  assert.deepEqual([...imported].filter((n) => !(n in PKG.dependencies)), [], 'bare imports of dist/src are all in dependencies');
  assert.deepEqual(Object.keys(PKG.dependencies).sort(), [
    '@grpc/grpc-js',
    '@opentelemetry/api',
    '@opentelemetry/otlp-transformer',
    '@opentelemetry/resources',
    '@opentelemetry/sdk-metrics',
    'comlink',
    'jsep',
    'pino',
    'pino-pretty',
    'protobufjs',
    'smol-toml',
    'snappyjs',
    'uplot',
  ]);
  // Dev only: the build tools; prom-client (the baseline of `npm run bench -- prometheus`); puppeteer-core
  // (the plot tests drive Debian's chromium with it); and the OTLP decoder generated from the official
  // definitions, which the opentelemetry tests' receiver reads requests with.
  assert.deepEqual(Object.keys(PKG.devDependencies).sort(), ['@types/node', 'otlp-transformer-pbjs', 'prom-client', 'puppeteer-core', 'typescript']);
  assert.equal(PKG.engines['node'], '>=20');

  // npm install -g into a temporary prefix (dependencies from the npm cache or the registry).
  const prefix = join(tmp, 'prefix');
  const installed = await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: tmp, env });
  assert.equal(installed.code, 0, show(installed));
  for (const bin of ['alumet-agent', 'alumet-ts']) {
    const version = await run(join(prefix, 'bin', bin), ['--version'], { cwd: tmp, timeout: 60_000 });
    assert.equal(version.code, 0, show(version));
    assert.equal(version.stdout, `alumet-agent ${PKG.version}\n`);
  }
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  const exec = await run(join(prefix, 'bin/alumet-agent'), ['--plugins', 'procfs,csv', 'exec', 'true'], {
    cwd: empty,
    env: { ...process.env, NO_PRETTY: '1' },
    timeout: 120_000,
  });
  assert.equal(exec.code, 0, show(exec));
  const rows = csvRows(join(empty, 'alumet-output.csv'));
  assert.ok(rows.some((r) => r[0] === 'mem_total_B'), `the CSV has measurements: ${rows.length} rows`);
  assert.ok(existsSync(join(empty, 'alumet-config.toml')), 'the default config was written in the working directory');

  // npx of the tarball runs the bin named after the package.
  const npxCache = join(env['npm_config_cache'] ?? join(process.env['HOME'] ?? '/root', '.npm'), '_npx');
  t.after(() => {
    // npx installs into the npm cache, in a directory per package spec; drop the one for this tarball.
    if (!existsSync(npxCache)) return;
    for (const d of readdirSync(npxCache)) {
      const manifest = join(npxCache, d, 'package.json');
      if (existsSync(manifest) && readFileSync(manifest, 'utf8').includes(basename(tmp))) rmrf(join(npxCache, d));
    }
  });
  const npx = await run('npx', ['--yes', '--prefer-offline', `./${basename(tarball)}`, '--version'], { cwd: tmp, env });
  assert.equal(npx.code, 0, show(npx));
  assert.equal(npx.stdout, `alumet-agent ${PKG.version}\n`);
});
