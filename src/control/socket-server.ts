// The control socket: a Unix-socket server that reads command lines and writes each line's reply, in order,
// per connection. It owns the socket file's safety (stale, live, foreign files; path length; mode). Main thread.

import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, mkdir, rm, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import type { Reply } from './dispatch.js';

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

/** A start-up problem with the socket, meant for the user; the caller adds the `socket-control:` prefix. */
export class SocketServerError extends Error {
  override readonly name = 'SocketServerError';
}

export const MAX_LINE_BYTES = 65_536;
/** `sun_path` is 108 bytes with its NUL; Node silently truncates longer paths, so refuse them. */
export const MAX_PATH_BYTES = 107;
const DEFAULT_MODE = 0o600;
const DEFAULT_MAX_CONNECTIONS = 128;
/** Stop reading a connection that queues more lines than this, until its replies catch up. */
const QUEUE_HIGH = 256;
/** How long close() lets connections flush their last replies before destroying them. */
const CLOSE_GRACE_MS = 1000;
const PROBE_TIMEOUT_MS = 1000;

const NO_LOG: ControlLog = { info() {}, warn() {}, error() {}, debug() {} };
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const LF = 0x0a;
const CR = 0x0d;

/**
 * Serves the control protocol on a Unix socket.
 *
 * The socket is bound inside a private 0700 directory next to `path`, chmod-ed, then hard-linked to `path`
 * (which fails rather than replace anything that appeared meanwhile). So no one can connect before the mode is
 * set, and libuv, which unlinks the bound path on close, only ever unlinks the private name: the real file is
 * removed by close() only while it is still our inode. When the private path would be too long, the socket is
 * bound at `path` directly and chmod-ed right after listen; during that short window its mode follows the umask.
 */
export class SocketServer {
  readonly #handler: LineHandler;
  readonly #path: string;
  readonly #mode: number;
  readonly #maxConnections: number;
  readonly #log: ControlLog;
  readonly #connections = new Set<Connection>();
  #server: net.Server | undefined;
  #identity: { dev: number; ino: number } | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: SocketServerOptions) {
    const mode = options.mode ?? DEFAULT_MODE;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
      throw new SocketServerError(`socket_mode must be permission bits between 0o000 and 0o777, got ${mode}`);
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
    if (this.#server !== undefined || this.#closing !== undefined) throw new Error('SocketServer.start() called twice');
    const path = this.#path;
    const bytes = Buffer.byteLength(path);
    if (bytes === 0) throw new SocketServerError('socket_path is empty; set it to a file path such as "alumet-control.sock"');
    if (bytes > MAX_PATH_BYTES) {
      throw new SocketServerError(
        `socket path ${path} is ${bytes} bytes long; Unix socket paths must be shorter than 108 bytes (longer ones are silently truncated); set a shorter socket_path`,
      );
    }
    await this.#clearStale(path);
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    this.#server = server;
    try {
      await this.#bind(server, path);
      const st = await lstat(path);
      this.#identity = { dev: st.dev, ino: st.ino };
    } catch (e) {
      this.#server = undefined;
      server.close();
      throw e instanceof SocketServerError ? e : new SocketServerError(`cannot listen on ${path}: ${(e as Error).message}`);
    }
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
    await this.#removeOwnFile();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const c of this.#connections) c.end();
    const timer = setTimeout(() => {
      for (const c of this.#connections) c.destroy();
    }, CLOSE_GRACE_MS);
    await closed;
    clearTimeout(timer);
    this.#log.debug(`stopped listening on ${this.#path}`);
  }

  async #removeOwnFile(): Promise<void> {
    const id = this.#identity;
    if (id === undefined) return;
    try {
      const st = await lstat(this.#path);
      if (st.dev === id.dev && st.ino === id.ino) await unlink(this.#path);
      else this.#log.warn(`${this.#path} was replaced by another file; leaving it in place`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.#log.warn(`cannot remove ${this.#path}: ${(e as Error).message}`);
    }
  }

  /** Refuses anything at `path` but a stale socket, which it deletes. */
  async #clearStale(path: string): Promise<void> {
    let st: Stats;
    try {
      st = await lstat(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      throw new SocketServerError(`cannot use ${path}: ${(e as Error).message}`);
    }
    if (!st.isSocket()) {
      throw new SocketServerError(
        `${path} exists and is not a socket (it is ${describeFile(st)}); not deleting it (set socket_path or remove it)`,
      );
    }
    const state = await probe(path);
    if (state === 'live') throw new SocketServerError(`another agent is listening on ${path}; stop it or set another socket_path`);
    if (state !== 'stale') {
      throw new SocketServerError(`${path} is a socket that cannot be checked (${state}); not deleting it (set socket_path or remove it)`);
    }
    try {
      const again = await lstat(path);
      if (again.dev === st.dev && again.ino === st.ino) await unlink(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new SocketServerError(`cannot remove the stale socket ${path}: ${(e as Error).message}`);
    }
    this.#log.info(`removed the stale socket ${path}`);
  }

  async #bind(server: net.Server, path: string): Promise<void> {
    const dir = dirname(path);
    const privateDir = join(dir, `.sock-${randomBytes(6).toString('hex')}`);
    const privatePath = join(privateDir, 's');
    if (Buffer.byteLength(privatePath) > MAX_PATH_BYTES) {
      await listen(server, path);
      await chmod(path, this.#mode);
      return;
    }
    try {
      await mkdirPrivate(privateDir, dir);
      await listen(server, privatePath);
      await chmod(privatePath, this.#mode);
      try {
        await link(privatePath, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new SocketServerError(`${path} appeared while the socket was being created; not replacing it (set socket_path or remove it)`);
        }
        throw e;
      }
    } finally {
      await rm(privateDir, { recursive: true, force: true });
    }
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
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#partial.push(rest);
      this.#partialBytes += rest.length;
      // One byte of slack for a `\r` that the `\n` has not yet followed.
      if (this.#partialBytes > MAX_LINE_BYTES + 1) return this.#tooLong();
    }
    if (this.#queue.length - this.#head > QUEUE_HIGH) this.#socket.pause();
    void this.#pump();
  }

  #tooLong(): void {
    this.#overflow = true;
    this.#partial = [];
    this.#partialBytes = 0;
    this.#queue.push(null);
    this.#socket.pause();
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (this.#head < this.#queue.length && !this.#done) {
        const line = this.#queue[this.#head]!;
        this.#queue[this.#head++] = null;
        if (this.#head === this.#queue.length) {
          this.#queue = [];
          this.#head = 0;
        }
        if (line === null) {
          // Everything after an oversized line is unreliable (where does the next line start?): say so, then close.
          this.#done = true;
          this.#socket.end(`error: line too long (limit ${MAX_LINE_BYTES} bytes); closing the connection\n`, () => this.#socket.destroy());
          return;
        }
        const reply = await this.#answer(line);
        if (reply !== undefined) await this.#send(reply);
        if (this.#socket.isPaused() && this.#queue.length - this.#head <= QUEUE_HIGH / 2 && !this.#done) this.#socket.resume();
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

function listen(server: net.Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => {
      server.off('listening', onListening);
      reject(e);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(path);
  });
}

async function mkdirPrivate(privateDir: string, dir: string): Promise<void> {
  try {
    await mkdir(privateDir, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'the directory does not exist' : (e as Error).message;
    throw new SocketServerError(`cannot create the socket in ${dir}: ${why}`);
  }
}

/** Whether an existing socket has a listener behind it. */
function probe(path: string): Promise<'live' | 'stale' | string> {
  return new Promise((resolve) => {
    const client = net.connect(path);
    const timer = setTimeout(() => {
      client.destroy();
      resolve(`no answer within ${PROBE_TIMEOUT_MS} ms`);
    }, PROBE_TIMEOUT_MS);
    client.once('connect', () => {
      clearTimeout(timer);
      client.destroy();
      resolve('live');
    });
    client.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      client.destroy();
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') resolve('stale');
      else if (e.code === 'EAGAIN') resolve('live');
      else resolve(e.message);
    });
  });
}

function describeFile(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a regular file';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a socket';
}
