// `alumet-agent top`: a live view of a running agent's elements, refreshed every second from `status --json`
// over its control socket, with keys that send it commands. Owns the terminal while it runs (raw mode,
// alternate screen) and gives it back on every way out: q, Ctrl-C, SIGTERM, SIGHUP, an error. Main thread.

import type { ReadStream, WriteStream } from 'node:tty';
import { ControlUnavailable, sendControlLine } from '../client.js';
import { RATE_WINDOW_MS, elementRows, parseStatusReply, type Snapshot } from './element-rates.js';
import { decodeKeys } from './keys.js';
import { CHROME_LINES, renderScreen } from './screen.js';
import { TopView, type TopCommand } from './top-view.js';

export interface TopOptions {
  readonly socket: string;
  readonly input: ReadStream;
  readonly output: WriteStream;
  readonly refreshMs?: number;
}

const REQUEST_TIMEOUT_MS = 5000;
const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l';
const LEAVE_SCREEN = '\x1b[0m\x1b[?25h\x1b[?1049l';

/** HH:MM:SS, local time. */
function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}

async function fetchSnapshot(socket: string): Promise<Snapshot> {
  const reply = await sendControlLine(socket, 'status --json', REQUEST_TIMEOUT_MS);
  if (reply.status !== 'ok') throw new Error(reply.lines.at(-1) ?? 'error: no reply');
  return { atMs: performance.now(), elements: parseStatusReply(reply.lines) };
}

/** Anything but a status reply at start-up: whatever answers there is not an agent top can show. */
function notAnAgent(socket: string): (e: unknown) => never {
  return (e) => {
    if (e instanceof ControlUnavailable) throw e;
    throw new ControlUnavailable(`no status from ${socket}: ${(e as Error).message}`, 'EPROTO');
  };
}

/**
 * Runs until the user quits; resolves with the exit code. The first snapshot is taken before the terminal is
 * touched, so "no agent" is an ordinary error (ControlUnavailable, exit 2) on an untouched terminal.
 */
export async function runTop(options: TopOptions): Promise<number> {
  const { socket, input, output } = options;
  // Rates are taken over the last RATE_WINDOW_MS, not over one refresh: a source polled every 5 s would
  // otherwise show 0 four refreshes out of five and a burst on the fifth.
  const history: Snapshot[] = [await fetchSnapshot(socket).catch(notAnAgent(socket))];
  const view = new TopView();
  view.setRows(elementRows(history[0]!, undefined));
  let refreshed = `refreshed ${clock()}`;

  const pageRows = (): number => Math.max(1, (output.rows || 24) - CHROME_LINES);
  /** Set on the way out: a reply still in flight then draws nothing on the restored terminal. */
  let done = false;
  const draw = (): void => {
    if (done) return;
    const lines = renderScreen(view, { socket, refreshed }, output.columns || 80, output.rows || 24);
    // Home, then each line cleared to its end: no flicker from clearing the whole screen first.
    output.write(`\x1b[H${lines.map((l) => `${l}\x1b[K`).join('\r\n')}\x1b[J`);
  };

  let busy = false;
  const refresh = async (): Promise<void> => {
    if (busy) return; // a slow agent: skip this tick rather than pile up requests
    busy = true;
    try {
      const next = await fetchSnapshot(socket);
      history.push(next);
      while (history.length > 2 && next.atMs - history[1]!.atMs >= RATE_WINDOW_MS) history.shift();
      view.setRows(elementRows(next, history[0]));
      refreshed = `refreshed ${clock()}`;
    } catch (e) {
      refreshed = `no reply: ${(e as Error).message}`;
    } finally {
      busy = false;
    }
    draw();
  };

  /** One control line per element, in order; the message line shows the agent's reply (or a summary). */
  const control = async (command: Extract<TopCommand, { type: 'control' }>): Promise<void> => {
    const replies: string[] = [];
    let errors = 0;
    for (const name of command.names) {
      try {
        const reply = await sendControlLine(socket, `control ${name} ${command.action}`, REQUEST_TIMEOUT_MS);
        if (reply.status === 'error') errors++;
        replies.push(reply.lines.at(-1)!);
      } catch (e) {
        errors++;
        replies.push(`error: ${(e as Error).message}`);
      }
    }
    view.message = replies.length === 1 ? replies[0]! : `${command.action} on ${replies.length} elements: ${replies.length - errors} ok, ${errors} error; last: ${replies.at(-1)}`;
    await refresh();
  };

  return new Promise<number>((resolve) => {
    let queue = Promise.resolve();
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      input.off('data', onData);
      output.off('resize', draw);
      process.off('SIGTERM', onTerm);
      process.off('SIGHUP', onTerm);
      input.setRawMode(false);
      input.pause();
      process.off('exit', leaveScreen);
      leaveScreen();
      resolve(code);
    };
    // An exception on the way (a bug) still gives the terminal back; raw mode is reset by Node at exit.
    const leaveScreen = (): void => void output.write(LEAVE_SCREEN);
    const onData = (chunk: Buffer | string): void => {
      for (const key of decodeKeys(chunk.toString())) {
        const command = view.press(key, pageRows());
        if (command?.type === 'quit') return finish(0);
        if (command?.type === 'control') {
          view.message = `${command.action}: ${command.names.length === 1 ? command.names[0] : `${command.names.length} elements`}…`;
          queue = queue.then(() => control(command));
        }
      }
      draw();
    };
    const onTerm = (signal: NodeJS.Signals): void => finish(signal === 'SIGHUP' ? 129 : 143);

    output.write(ENTER_SCREEN);
    process.once('exit', leaveScreen);
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
    output.on('resize', draw);
    process.on('SIGTERM', onTerm);
    process.on('SIGHUP', onTerm);
    const timer = setInterval(() => void refresh(), options.refreshMs ?? 1000);
    draw();
  });
}
