// Test helper: a program run in a real terminal, a detached tmux session on a tmux server of the test's own
// (its socket in the test's directory), read with capture-pane and driven with send-keys. Main thread.

import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { join } from 'node:path';

export interface TerminalSession {
  /** The visible screen, one string per line (without attributes). */
  screen(): string[];
  /** tmux key names (`Down`, `Enter`, `C-c`) or literal text (`-l`). */
  keys(...keys: string[]): void;
  text(text: string): void;
}

/** Starts `shellCommand` (run by sh) in a cols×rows terminal; the tmux server is killed after the test. */
export function startInTmux(t: TestContext, dir: string, shellCommand: string, cols = 80, rows = 24): TerminalSession {
  const socket = join(dir, 'tmux.sock');
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
  // -f /dev/null: no user configuration; the size is the window's own, with no client attached.
  execFileSync('tmux', ['-S', socket, '-f', '/dev/null', 'new-session', '-d', '-s', 'test', '-x', String(cols), '-y', String(rows), shellCommand], {
    env: { ...process.env, TERM: 'xterm-256color' },
  });
  // By PID, not through the socket: the test's directory, socket included, may be gone by then.
  let serverPid: number | undefined;
  try {
    serverPid = Number(tmux('display-message', '-p', '-t', 'test', '#{pid}').trim());
  } catch {
    // The command has ended already, and the server with it.
  }
  t.after(() => {
    try {
      if (serverPid !== undefined) process.kill(serverPid);
    } catch {
      // The session ended with its command, and the server with it.
    }
  });
  return {
    screen: () => tmux('capture-pane', '-p', '-t', 'test').split('\n').slice(0, rows),
    keys: (...keys) => void tmux('send-keys', '-t', 'test', ...keys),
    text: (text) => void tmux('send-keys', '-t', 'test', '-l', text),
  };
}
