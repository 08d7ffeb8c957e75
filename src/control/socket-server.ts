// The control socket: a Unix-socket server that reads command lines and writes each line's reply, in order,
// per connection, within limits on line length and connections. The file itself: socket-file.ts. Main thread.

import net from 'node:net';
import type { Reply } from './dispatch.js';
import { bindSocket, checkPathLength, clearStaleSocket, removeIfOurs, removeIfOursSync, SocketServerError, type SocketIdentity } from './socket-file.js';


/** What the server needs from the dispatcher: one reply per line, `undefined` for a blank line. */
export interface LineHandler {
  handleLine(line: string): Promise<Reply | undefined>;
}

/** pino's logger fits; messages are plain strings. */
export interface ControlLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}

export interface SocketServerOptions {
  /** Answers each line (a ControlDispatcher). */
  readonly dispatcher: LineHandler;
  /** Where the socket file goes; relative paths are relative to the working directory. */
  readonly path: string;
  /** Permission bits of the socket file (`socket_mode`); default 0o600, so only the agent's user can connect. */
  readonly mode?: number;
  /** Connections served at once; the next ones are told `error: too many connections` and closed. Default 128. */
  readonly maxConnections?: number;
  readonly log?: ControlLog;
}

export const MAX_LINE_BYTES = 65_536;
const DEFAULT_MODE = 0o600;
const DEFAULT_MAX_CONNECTIONS = 128;
/** Stop reading a connection that queues more lines than this, until its replies catch up. */
const QUEUE_HIGH = 256;
/** …or more bytes than this: 256 lines of 64 KiB each, times 128 connections, would be 2 GiB. */
const QUEUE_HIGH_BYTES = 256 * 1024;
/** How long close() lets connections flush their last replies before destroying them. */
const CLOSE_GRACE_MS = 1000;
/** After "line too long", how long the rest of what the client sends is read and dropped (see #tooLong). */
const OVERFLOW_GRACE_MS = 2000;

const NO_LOG: ControlLog = { info() {}, warn() {}, error() {}, debug() {} };
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const LF = 0x0a;
const CR = 0x0d;

/** Serves the control protocol on a Unix socket (see socket-file.ts for how the file is made safe). */
export class SocketServer {
  readonly #handler: LineHandler;
  readonly #path: string;
  readonly #mode: number;
  readonly #maxConnections: number;
  readonly #log: ControlLog;
  readonly #connections = new Set<Connection>();
  #server: net.Server | undefined;
  #identity: SocketIdentity | undefined;
  #closing: Promise<void> | undefined;
  /** Removes the file if the process exits without close() (a forced exit, a fatal error). */
  #onExit: (() => void) | undefined;

  constructor(options: SocketServerOptions) {
    const mode = options.mode ?? DEFAULT_MODE;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
      throw new SocketServerError(`socket_mode must be permission bits between 0o000 and 0o777, got ${Number.isInteger(mode) ? `0o${mode.toString(8)}` : mode}`);
    }
    const max = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (!Number.isInteger(max) || max < 1) throw new SocketServerError(`maxConnections must be a positive integer, got ${max}`);
    this.#handler = options.dispatcher;
    this.#path = options.path;
    this.#mode = mode;
    this.#maxConnections = max;
    this.#log = options.log ?? NO_LOG;
  }

  get path(): string {
    return this.#path;
  }

  /** Open connections (for tests and status). */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Resolves once the socket is listening at `path` with its mode set; rejects with a SocketServerError. */
  async start(): Promise<void> {
    if (this.#server !== undefined || this.#closing !== undefined) throw new Error('SocketServer.start() called twice, or after close()');
    const path = this.#path;
    checkPathLength(path);
    if (await clearStaleSocket(path)) this.#log.info(`removed the stale socket ${path}`);
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    try {
      this.#identity = await bindSocket(server, path, this.#mode);
    } catch (e) {
      server.close();
      throw e instanceof SocketServerError ? e : new SocketServerError(`cannot listen on ${path}: ${(e as Error).message}`);
    }
    this.#server = server;
    const identity = this.#identity;
    this.#onExit = () => removeIfOursSync(path, identity);
    process.once('exit', this.#onExit);
    server.on('error', (e) => this.#log.error(`error on ${path}: ${e.message}`));
    this.#log.debug(`listening on ${path}`);
  }

  /** Stops accepting, ends every connection, and removes the socket file if it is still ours. Safe twice. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    if (this.#onExit !== undefined) process.off('exit', this.#onExit);
    const kept = await removeIfOurs(this.#path, this.#identity!);
    if (kept !== undefined) this.#log.warn(kept);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const c of this.#connections) c.end();
    const timer = setTimeout(() => {
      for (const c of this.#connections) c.destroy();
    }, CLOSE_GRACE_MS);
    await closed;
    clearTimeout(timer);
    this.#log.debug(`stopped listening on ${this.#path}`);
  }

  #accept(socket: net.Socket): void {
    socket.on('error', (e) => this.#log.debug(`connection error: ${e.message}`));
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    if (this.#connections.size >= this.#maxConnections) {
      this.#log.warn(`refused a connection: ${this.#connections.size} already open (limit ${this.#maxConnections})`);
      socket.end(`error: too many connections (limit ${this.#maxConnections}); try again later\n`, () => socket.destroy());
      return;
    }
    const c = new Connection(socket, this.#handler, this.#log);
    this.#connections.add(c);
    socket.on('close', () => this.#connections.delete(c));
  }
}

/** One client: splits its bytes into lines and answers them one at a time, in order. */
class Connection {
  readonly #socket: net.Socket;
  readonly #handler: LineHandler;
  readonly #log: ControlLog;
  /** Bytes of an unfinished line. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  /** Complete lines (without `\n`) not yet answered; `null` stands for a line over the limit. */
  #queue: Array<Buffer | null> = [];
  #head = 0;
  /** Bytes of the lines in `#queue` not yet answered. */
  #queuedBytes = 0;
  #busy = false;
  #clientEnded = false;
  /** A line went over the limit: the bytes after it are dropped. */
  #overflow = false;
  /** No more lines are read or answered. */
  #done = false;

  constructor(socket: net.Socket, handler: LineHandler, log: ControlLog) {
    this.#socket = socket;
    this.#handler = handler;
    this.#log = log;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => {
      // A last line without its `\n` still counts, as with a line reader.
      if (this.#partialBytes > 0 && !this.#overflow) this.#onData(Buffer.from([LF]));
      this.#clientEnded = true;
      void this.#pump();
    });
    socket.on('close', () => {
      this.#done = true;
    });
  }

  end(): void {
    this.#done = true;
    this.#socket.end();
  }

  destroy(): void {
    this.#done = true;
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#done || this.#overflow) return;
    let start = 0;
    for (let nl = chunk.indexOf(LF); nl !== -1; nl = chunk.indexOf(LF, start)) {
      let line = chunk.subarray(start, nl);
      if (this.#partialBytes > 0) {
        this.#partial.push(line);
        line = Buffer.concat(this.#partial, this.#partialBytes + line.length);
        this.#partial = [];
        this.#partialBytes = 0;
      }
      start = nl + 1;
      if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, -1);
      if (line.length > MAX_LINE_BYTES) return this.#tooLong();
      this.#queue.push(line);
      this.#queuedBytes += line.length;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#partial.push(rest);
      this.#partialBytes += rest.length;
      // One byte of slack for a `\r` that the `\n` has not yet followed.
      if (this.#partialBytes > MAX_LINE_BYTES + 1) return this.#tooLong();
    }
    if (this.#queue.length - this.#head > QUEUE_HIGH || this.#queuedBytes > QUEUE_HIGH_BYTES) this.#socket.pause();
    void this.#pump();
  }

  #tooLong(): void {
    this.#overflow = true;
    this.#partial = [];
    this.#partialBytes = 0;
    this.#queue.push(null);
    // Keep reading (and dropping): a socket destroyed with unread input resets the connection, and a client
    // still writing its long line would then get EPIPE and lose the reply before reading it.
    this.#socket.resume();
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (this.#head < this.#queue.length && !this.#done) {
        const line = this.#queue[this.#head]!;
        this.#queue[this.#head++] = null;
        if (line !== null) this.#queuedBytes -= line.length;
        if (this.#head === this.#queue.length) {
          this.#queue = [];
          this.#head = 0;
        }
        if (line === null) {
          // Everything after an oversized line is unreliable (where does the next line start?): say so, then close.
          this.#done = true;
          this.#socket.end(`error: line too long (limit ${MAX_LINE_BYTES} bytes); closing the connection\n`);
          // The connection closes once the client ends its side too; one that keeps writing is cut off.
          const timer = setTimeout(() => this.#socket.destroy(), OVERFLOW_GRACE_MS);
          timer.unref();
          this.#socket.once('close', () => clearTimeout(timer));
          return;
        }
        const reply = await this.#answer(line);
        if (reply !== undefined) await this.#send(reply);
        const caughtUp = this.#queue.length - this.#head <= QUEUE_HIGH / 2 && this.#queuedBytes <= QUEUE_HIGH_BYTES / 2;
        if (this.#socket.isPaused() && !this.#overflow && !this.#done && caughtUp) {
          this.#socket.resume();
        }
      }
    } finally {
      this.#busy = false;
    }
    if (this.#clientEnded && !this.#done && this.#head === this.#queue.length) {
      this.#done = true;
      this.#socket.end();
    }
  }

  async #answer(line: Buffer): Promise<Reply | undefined> {
    let text: string;
    try {
      text = UTF8.decode(line);
    } catch {
      return { data: [], status: 'error: the line is not valid UTF-8; commands are UTF-8 text, one per line' };
    }
    try {
      return await this.#handler.handleLine(text);
    } catch (e) {
      this.#log.error(`failed to handle ${JSON.stringify(text.slice(0, 200))}: ${(e as Error).stack ?? String(e)}`);
      return { data: [], status: `error: internal error while handling the command: ${String((e as Error).message ?? e).replace(/[\r\n]+/g, ' ')}` };
    }
  }

  async #send(reply: Reply): Promise<void> {
    const socket = this.#socket;
    if (socket.writable && !this.#done) {
      const text = reply.data.length === 0 ? `${reply.status}\n` : `${reply.data.join('\n')}\n${reply.status}\n`;
      if (!socket.write(text)) await drained(socket);
    }
    // Runs even when the client has gone: `shutdown` must happen whether or not anyone reads the `ok`.
    if (reply.afterSend !== undefined) {
      try {
        reply.afterSend();
      } catch (e) {
        this.#log.error(`after the reply: ${(e as Error).stack ?? String(e)}`);
      }
    }
  }
}

function drained(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
