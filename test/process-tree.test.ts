// What exec reads of its child in /proc: the descendants it announces (through the children files, through
// the parents of every process on a kernel without them, and on real processes), and the CPU time of the
// children it waited for.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessTree } from '../src/agent/process-tree.js';
import { childrenCpuTime } from '../src/agent/children-cpu.js';
import { userHz } from '../src/agent/clock-ticks.js';
import { rmrf, tempDir, waitFor } from './helpers/agent-process.js';

/** A fake /proc: each process has a stat naming its parent and, with `childrenFiles`, the children files of its threads. */
function fakeProc(t: { after(fn: () => void): void }, childrenFiles: boolean) {
  const root = tempDir('proc-tree-');
  t.after(() => rmrf(root));
  const parents = new Map<number, number>();
  const write = (): void => {
    for (const [pid, ppid] of parents) {
      const dir = join(root, String(pid));
      mkdirSync(join(dir, 'task', String(pid)), { recursive: true });
      // A command name with a space and a parenthesis, as the kernel allows.
      writeFileSync(join(dir, 'stat'), `${pid} (odd) name) S ${ppid} ${pid} ${pid} 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 100\n`);
      if (!childrenFiles) continue;
      const kids = [...parents].filter(([, p]) => p === pid).map(([c]) => c);
      // The second thread of 10 started 13: a process's children are spread over its threads' files.
      const main = kids.filter((k) => !(pid === 10 && k === 13));
      writeFileSync(join(dir, 'task', String(pid), 'children'), main.map((k) => `${k} `).join(''));
      if (pid === 10) {
        mkdirSync(join(dir, 'task', '99'), { recursive: true });
        writeFileSync(join(dir, 'task', '99', 'children'), kids.includes(13) ? '13 ' : '');
      }
    }
  };
  return {
    root,
    set(pid: number, ppid: number): void {
      parents.set(pid, ppid);
      write();
    },
    remove(pid: number): void {
      parents.delete(pid);
      rmSync(join(root, String(pid)), { recursive: true, force: true });
      write();
    },
  };
}

for (const childrenFiles of [true, false]) {
  test(`the tree finds each descendant once, grandchildren and other threads' children included (${childrenFiles ? 'children files' : 'no children files: parents of every process'})`, (t) => {
    const proc = fakeProc(t, childrenFiles);
    proc.set(1, 0);
    proc.set(10, 1); // the child
    proc.set(11, 10);
    proc.set(12, 11);
    proc.set(20, 1); // not in the tree
    const tree = new ProcessTree(10, proc.root);
    assert.deepEqual(tree.discover().sort(), [11, 12]);
    assert.deepEqual(tree.discover(), []);
    proc.set(13, 10);
    proc.set(14, 12);
    proc.remove(11); // ended: 12 is now an orphan, out of reach
    proc.set(21, 20);
    assert.deepEqual(tree.discover().sort(), [13]);
  });
}

test('a child that ended before the first look has no descendants to find', (t) => {
  const proc = fakeProc(t, true);
  assert.deepEqual(new ProcessTree(10, proc.root).discover(), []);
});

test('on the real /proc, the tree finds the processes a shell started, and their children', async (t) => {
  // In a process group of its own, so that the test ends it with every process it started.
  const shell = spawn('sh', ['-c', 'sleep 30 & sh -c "sleep 30" & wait'], { stdio: 'ignore', detached: true });
  t.after(() => process.kill(-shell.pid!, 'SIGKILL'));
  const tree = new ProcessTree(shell.pid!);
  const found: number[] = [];
  // sleep, sh, and the sleep of that sh.
  await waitFor(
    () => {
      found.push(...tree.discover());
      return found.length >= 3;
    },
    { what: '3 descendants', seen: () => found.join(', ') },
  );
  assert.equal(found.length, 3);
  assert.equal(new Set(found).size, 3);
});

test('the CPU time of the waited-for children is cutime and cstime of the stat file, in seconds', (t) => {
  const dir = tempDir('children-cpu-');
  t.after(() => rmrf(dir));
  const stat = join(dir, 'stat');
  const hz = userHz();
  writeFileSync(stat, `4242 (node (main)) S 1 4242 4242 0 -1 4194304 99 0 0 0 7 3 ${2 * hz} ${hz / 2} 20 0 11 0 1000 0 0\n`);
  assert.deepEqual(childrenCpuTime(stat), { userS: 2, systemS: 0.5 });
  const own = childrenCpuTime();
  assert.ok(own.userS >= 0 && own.systemS >= 0, JSON.stringify(own));
});
