// Test helper: private copies of the fake /proc trees in src/plugins/procfs/testdata, which a test moves
// from one snapshot to the next. Main thread.

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './agent-process.js';

export const PROCFS_TESTDATA = join(REPO_ROOT, 'src/plugins/procfs/testdata');

/** A private copy of testdata/<name>/t0, and a function that moves it on to t1. */
export function fakeProc(t: { after(fn: () => void): void }, name: string): { root: string; advance(): void } {
  const root = mkdtempSync(join(tmpdir(), 'procfs-test-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(join(PROCFS_TESTDATA, name, 't0'), root, { recursive: true });
  return {
    root,
    // Overwrite in place (same inode), as the kernel's files change under an open descriptor.
    advance() {
      for (const f of ['stat', 'meminfo', 'net/dev']) writeFileSync(join(root, f), readFileSync(join(PROCFS_TESTDATA, name, 't1', f)));
    },
  };
}
