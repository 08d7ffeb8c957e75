// The control socket's file: checks what is at the path before binding (stale, live, foreign), binds with the
// right mode from the first instant, and removes the file only while it is still ours. Main thread.

import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstatSync, unlinkSync } from 'node:fs';
import { chmod, link, lstat, mkdir, rm, unlink } from 'node:fs/promises';
import net from 'node:net';
import { dirname, join } from 'node:path';

/** A start-up problem with the socket, meant for the user; the caller adds the `socket-control:` prefix. */
export class SocketServerError extends Error {
  override readonly name = 'SocketServerError';
}

/** `sun_path` is 108 bytes with its NUL; Node silently truncates longer paths, so refuse them. */
export const MAX_PATH_BYTES = 107;
const PROBE_TIMEOUT_MS = 1000;

/** The file we bound, to recognise it at close. */
export interface SocketIdentity {
  readonly dev: number;
  readonly ino: number;
}

export function checkPathLength(path: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes === 0) throw new SocketServerError('socket_path is empty; set it to a file path such as "alumet-control.sock"');
  if (bytes > MAX_PATH_BYTES) {
    throw new SocketServerError(
      `socket path ${path} is ${bytes} bytes long; Unix socket paths must be shorter than 108 bytes (longer ones are silently truncated); set a shorter socket_path`,
    );
  }
}

/**
 * Refuses anything at `path` but a stale socket (nothing listening), which it deletes; returns whether it did.
 * Never follows a symbolic link and never deletes what is not a socket.
 */
export async function clearStaleSocket(path: string): Promise<boolean> {
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new SocketServerError(`cannot use ${path}: ${(e as Error).message}`);
  }
  if (!st.isSocket()) {
    throw new SocketServerError(`${path} exists and is not a socket (it is ${describeFile(st)}); not deleting it (set socket_path or remove it)`);
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
  return true;
}

/**
 * Makes `server` listen on `path` with permission bits `mode`.
 *
 * The socket is bound inside a private 0700 directory next to `path`, chmod-ed, then hard-linked to `path`
 * (link fails rather than replace a file that appeared meanwhile). So no one can connect before the mode is
 * set, and libuv, which unlinks the bound path when the server closes, only ever unlinks the private name.
 * When the private path would be too long for `sun_path`, the socket is bound at `path` directly and chmod-ed
 * right after listen: for that instant its mode follows the umask, and libuv will unlink `path` at close
 * whatever file is there by then.
 */
export async function bindSocket(server: net.Server, path: string, mode: number): Promise<SocketIdentity> {
  const dir = dirname(path);
  const privateDir = join(dir, `.sock-${randomBytes(6).toString('hex')}`);
  const privatePath = join(privateDir, 's');
  if (Buffer.byteLength(privatePath) > MAX_PATH_BYTES) {
    await listen(server, path);
    await chmod(path, mode);
  } else {
    try {
      await mkdirPrivate(privateDir, dir);
      await listen(server, privatePath);
      await chmod(privatePath, mode);
      try {
        await link(privatePath, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        throw new SocketServerError(`${path} appeared while the socket was being created; not replacing it (set socket_path or remove it)`);
      }
    } finally {
      await rm(privateDir, { recursive: true, force: true });
    }
  }
  const st = await lstat(path);
  return { dev: st.dev, ino: st.ino };
}

/** Deletes `path` if it is still the file we bound; returns a reason when it leaves it. */
export async function removeIfOurs(path: string, id: SocketIdentity): Promise<string | undefined> {
  try {
    const st = await lstat(path);
    if (st.dev !== id.dev || st.ino !== id.ino) return `${path} was replaced by another file; leaving it in place`;
    await unlink(path);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : `cannot remove ${path}: ${(e as Error).message}`;
  }
}

/** removeIfOurs for a process that is exiting (an 'exit' listener cannot wait); errors are ignored. */
export function removeIfOursSync(path: string, id: SocketIdentity): void {
  try {
    const st = lstatSync(path);
    if (st.dev === id.dev && st.ino === id.ino) unlinkSync(path);
  } catch {
    // gone already, or not ours to remove: nothing to do on the way out
  }
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
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the directory does not exist' : (e as Error).message;
    throw new SocketServerError(`cannot create the socket in ${dir}: ${why}`);
  }
}

/** Whether an existing socket has a listener behind it: 'live', 'stale', or why it could not tell. */
function probe(path: string): Promise<string> {
  return new Promise((resolve) => {
    const client = net.connect(path);
    const done = (state: string): void => {
      clearTimeout(timer);
      client.destroy();
      resolve(state);
    };
    const timer = setTimeout(() => done(`no answer within ${PROBE_TIMEOUT_MS} ms`), PROBE_TIMEOUT_MS);
    client.once('connect', () => done('live'));
    client.once('error', (e: NodeJS.ErrnoException) => {
      // EAGAIN: the listener's backlog is full, so someone is there.
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') done('stale');
      else done(e.code === 'EAGAIN' ? 'live' : e.message);
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
