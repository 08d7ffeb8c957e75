// The CLI's warning when an unquoted * was expanded by the shell: words where a pattern goes that name files.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { patternWords, shellExpansionWarning, type Directory } from '../src/control/shell-expansion.js';

/** A working directory holding these paths (and their parent directories). */
function dir(...paths: string[]): Directory {
  const all = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) all.add(parts.slice(0, i).join('/'));
  }
  return { exists: (p) => all.has(p), names: () => [...new Set(paths.map((p) => p.split('/')[0]!))].filter((n) => !n.startsWith('.')) };
}

const agentDir = dir('alumet-config.toml', 'alumet-control.sock', 'alumet-output.csv', '.hidden');

test('pattern words: between control and the action, or after list, status, stop, shutdown', () => {
  const cases: Array<[string[], string[]]> = [
    [['control', 'a', 'b', 'c', 'pause'], ['a', 'b', 'c']],
    [['control', 'source/procfs/*', 'set-period', '1s'], ['source/procfs/*']],
    [['control', 'a', 'b'], ['a', 'b']],
    [['control', 'pause'], []],
    [['list', 'a', 'b'], ['a', 'b']],
    [['status', 'a', '--json'], ['a']],
    [['stop', 'a'], ['a']],
    [['shutdown'], []],
    [['help', 'a'], []],
    [['bogus', 'a'], []],
  ];
  for (const [words, expected] of cases) assert.deepEqual(patternWords(words), expected, words.join(' '));
});

test('a bare * expanded into every file of the directory is recognised, and the warning shows the quoted command', () => {
  const files = ['alumet-config.toml', 'alumet-control.sock', 'alumet-output.csv'];
  assert.equal(
    shellExpansionWarning(['control', ...files, 'pause'], agentDir),
    `warning: "alumet-config.toml", "alumet-control.sock" and "alumet-output.csv" are files in this directory, not an element pattern: ` +
      `your shell replaced a * with the names of the files here\n` +
      `warning: quote the pattern so that the agent gets it as typed: alumet-agent control control '*' pause`,
  );
  assert.match(shellExpansionWarning(['list', ...files], agentDir)!, /: alumet-agent control list '\*'$/);
  assert.match(shellExpansionWarning(['status', ...files, '--json'], agentDir)!, /: alumet-agent control status '\*' --json$/);
  assert.match(shellExpansionWarning(['control', ...files, 'set-period', '1s'], agentDir)!, /: alumet-agent control control '\*' set-period 1s$/);
  assert.match(shellExpansionWarning(['stop', ...files], agentDir)!, /: alumet-agent control control '\*' stop$/);
  assert.match(shellExpansionWarning(['control', ...files], agentDir)!, /: alumet-agent control control '\*' ACTION$/);
});

test('part of a directory, or files in subdirectories: a glob in the pattern, quoted as PATTERN', () => {
  const d = dir('out.csv', 'output-old.csv', 'notes.txt', 'source/procfs/memory', 'source/procfs/kernel');
  // `list out*`
  assert.equal(
    shellExpansionWarning(['list', 'out.csv', 'output-old.csv'], d),
    `warning: "out.csv" and "output-old.csv" are files in this directory, not an element pattern: your shell probably expanded a * ` +
      `of the pattern into file names\nwarning: quote the pattern so that the agent gets it as typed: alumet-agent control list 'PATTERN'`,
  );
  // `list out*.csv` matching one file: a single word that is a file, and no kind.
  assert.match(shellExpansionWarning(['list', 'out.csv'], d)!, /^warning: "out\.csv" is a file in this directory, not an element pattern/);
  // `control source/procfs/* pause` where such a directory happens to exist.
  assert.match(shellExpansionWarning(['control', 'source/procfs/kernel', 'source/procfs/memory', 'pause'], d)!, /"source\/procfs\/kernel" and "source\/procfs\/memory" are files/);
  assert.match(shellExpansionWarning(['control', 'source/procfs/memory', 'pause'], d)!, /^warning: "source\/procfs\/memory" is a file/);
  // Many names: the first four, then how many more.
  const many = dir(...Array.from({ length: 9 }, (_, i) => `f${i}`));
  assert.match(shellExpansionWarning(['list', ...many.names()], many)!, /^warning: "f0", "f1", "f2", "f3" and 5 more are files/);
});

test('no warning for commands typed as meant', () => {
  const repo = dir('src/control/pattern.ts', 'source', 'output', 'all', 'README.md');
  const cases: string[][] = [
    ['list'],
    ['status', '--json'],
    ['control', 'source/procfs/*', 'pause'],
    ['control', '*', 'pause'], // an unmatched glob stays as typed: no file named *
    ['list', 'source/procfs/memory'],
    // A kind alone is a pattern even when a file of that name exists (a `src` or `source` directory is common).
    ['list', 'src'],
    ['control', 'source', 'pause'],
    ['status', 'output', '--json'],
    ['control', 'all', 'resume'],
    ['shutdown'],
    ['stop'],
    ['help'],
    // Not pattern words.
    ['control', 'source', 'set-period', 'README.md'],
    ['bogus', 'README.md'],
  ];
  for (const words of cases) assert.equal(shellExpansionWarning(words, repo), undefined, words.join(' '));
  // …but a kind next to other pattern words that are files is part of an expansion.
  assert.match(shellExpansionWarning(['control', 'all', 'output', 'source', 'src', 'README.md', 'pause'], repo)!, /"all", "output", "source", "src" and 1 more are files/);
});
