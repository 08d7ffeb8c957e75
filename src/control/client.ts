// The built-in control client (`alumet-agent control …`): sends one line to a running agent's socket and
// collects the reply up to its status line. Main thread.

import net from 'node:net';

export interface ControlReply {
  /** Every line of the reply, the status line last, without newlines. */
  readonly lines: string[];
  readonly status: 'ok' | 'error';
}

/** No agent answered on the socket (none running, wrong path, or no reply in time). */
export class ControlUnavailable extends Error {
  override readonly name = 'ControlUnavailable';
  /** `alumet-agent control` exits 2 when no agent answers (1 is an `error:` reply). */
  readonly exitCode = 2;
  /** The errno code (`ENOENT`, `ECONNREFUSED`, …), or `ETIMEDOUT` when the agent did not answer in time. */
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Sends `line` and resolves with the reply once its status line (`ok…` or `error: …`) arrives. `timeoutMs`
 * bounds the whole exchange. Throws ControlUnavailable when there is no agent to answer.
 */
export function sendControlLine(socketPath: string, line: string, timeoutMs: number): Promise<ControlReply> {
  if (/[\r\n]/.test(line)) return Promise.reject(new Error('sendControlLine: the command must be a single line'));
  if (line.trim() === '') return Promise.reject(new Error('sendControlLine: the command is empty; the agent does not answer blank lines'));
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let pending = '';
    let settled = false;
    const socket = net.connect(socketPath);
    socket.setEncoding('utf8');

    const finish = (outcome: ControlReply | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => {
      finish(new ControlUnavailable(`no reply from the agent on ${socketPath} within ${timeoutMs} ms`, 'ETIMEDOUT'));
    }, timeoutMs);

    socket.on('connect', () => socket.end(`${line}\n`));
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) !== -1) {
        const text = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        lines.push(text);
        if (text === 'ok' || text.startsWith('ok ')) return finish({ lines, status: 'ok' });
        if (text.startsWith('error:')) return finish({ lines, status: 'error' });
      }
    });
    socket.on('end', () => {
      const got = lines.length === 0 ? 'nothing' : `${lines.length} line(s) but no ok/error line`;
      finish(new Error(`the agent on ${socketPath} closed the connection after sending ${got}`));
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? 'EIO';
      const why =
        code === 'ENOENT'
          ? `no socket at ${socketPath}; is the agent running, with socket-control enabled? (set the path with --socket)`
          : code === 'ECONNREFUSED'
            ? `nothing listens on ${socketPath} (the agent is not running; the file is a leftover)`
            : `cannot reach the agent on ${socketPath}: ${e.message}`;
      finish(new ControlUnavailable(why, code));
    });
  });
}
