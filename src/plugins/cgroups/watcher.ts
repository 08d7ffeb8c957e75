// The `cgroup-watcher` source of the cgroups plugin: follows the cgroup v2 directories under the root and
// gives each one a run-time source (cgroup.ts) on the shared pool. Emits no points. Runs in its own worker.

import { existsSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { defineSource } from '../../protocol/element-api.js';
import type { CgroupMetrics, CgroupSourceConfig } from './cgroup.js';
import type { CgroupsConfig } from './config.js';

/** `root` and the trigger of every cgroup source (`poll_interval`, `flush_interval`) come from the plugin's keys. */
export type CgroupWatcherConfig = Pick<CgroupsConfig, 'root' | 'poll_interval' | 'flush_interval'> & {
  cpuOnlinePath: string;
  metrics: CgroupMetrics;
};

const CGROUP_MODULE = new URL('./cgroup.js', import.meta.url).href;
/**
 * Periodic scans during which the source of a path that was removed and then found again is asked for
 * again: the supervisor ignores a name that is still registered, and removing the old source (final flush
 * included) may take longer than the inotify-driven rescan that sees the path come back.
 */
const READD_SCANS = 3;
/** Delay that gathers the inotify events of one burst (`mkdir -p a/b/c`, a service starting) into one rescan. */
const RESCAN_DELAY_MS = 10;

interface Followed {
  readonly dir: string;
  /** The directory's inode: another one under the same path is a cgroup removed and created again. */
  readonly ino: bigint;
  watcher: FSWatcher | undefined;
}

export interface FoundCgroup {
  readonly dir: string;
  readonly ino: bigint;
}

/** The v2 hierarchy under `root`: `root` when it is a cgroup2 mount, `root/unified` in the hybrid layout. */
export function findV2Mount(root: string): string | undefined {
  if (existsSync(join(root, 'cgroup.controllers'))) return root;
  const unified = join(root, 'unified');
  if (existsSync(join(unified, 'cgroup.controllers'))) return unified;
  return undefined;
}

/** Every cgroup under `mount` (the mount included), by canonical path (`/`, `/system.slice/cron.service`). */
export function listCgroups(mount: string, onError: (dir: string, e: Error) => void): Map<string, FoundCgroup> {
  const found = new Map<string, FoundCgroup>();
  const walk = (dir: string, path: string) => {
    let entries;
    try {
      const ino = statSync(dir, { bigint: true }).ino;
      found.set(path, { dir, ino });
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') found.delete(path); // removed while we looked
      else onError(dir, e as Error);
      return;
    }
    // In a cgroup2 mount every directory is a cgroup; symbolic links are not followed.
    for (const entry of entries) if (entry.isDirectory()) walk(join(dir, entry.name), path === '/' ? `/${entry.name}` : `${path}/${entry.name}`);
  };
  walk(mount, '/');
  return found;
}

export default defineSource<CgroupWatcherConfig>((config, ctx) => {
  const followed = new Map<string, Followed>();
  /** The v2 mount followed; null before the first scan, undefined while there is none. */
  let mount: string | undefined | null = null;
  let inotify = true;
  let closed = false;
  let rescanTimer: NodeJS.Timeout | undefined;
  let polls = 0;
  /** Poll count when each path lost its source, and the paths whose add is repeated (scans left). */
  const removedAt = new Map<string, number>();
  const readd = new Map<string, number>();
  const warned = new Set<string>();
  const warnOnce = (key: string, obj: object, msg: string) => {
    if (warned.has(key)) return;
    warned.add(key);
    ctx.log.warn(obj, msg);
  };

  const scheduleRescan = () => {
    if (closed || rescanTimer !== undefined) return;
    rescanTimer = setTimeout(() => {
      rescanTimer = undefined;
      if (!closed) scan();
    }, RESCAN_DELAY_MS);
  };

  /** inotify on the directory, so new and removed children are seen at once; the rescan is the fallback. */
  const watchDir = (dir: string): FSWatcher | undefined => {
    if (!inotify) return undefined;
    try {
      const w = watch(dir, { persistent: false }, scheduleRescan);
      w.on('error', () => {
        // The directory went away (or the watch broke): the rescan sorts it out.
        w.close();
        scheduleRescan();
      });
      return w;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined; // removed just now
      inotify = false;
      ctx.log.warn(
        { dir, err: (e as Error).message },
        `cannot watch ${dir} with inotify (${(e as Error).message}); new and removed cgroups are found by the rescan every refresh_interval from now on (raise fs.inotify.max_user_watches if the limit was reached)`,
      );
      return undefined;
    }
  };

  const forget = (path: string) => {
    const f = followed.get(path);
    if (f === undefined) return;
    f.watcher?.close();
    followed.delete(path);
    readd.delete(path);
    removedAt.set(path, polls);
    ctx.runtime.remove(path);
  };

  const add = (path: string, dir: string) => {
    const element: CgroupSourceConfig = { dir, path, cpuOnlinePath: config.cpuOnlinePath, metrics: config.metrics };
    ctx.runtime.add({
      element: path,
      module: CGROUP_MODULE,
      config: element,
      poll_interval: config.poll_interval,
      ...(config.flush_interval === undefined ? {} : { flush_interval: config.flush_interval }),
    });
  };

  const scan = () => {
    const found = findV2Mount(config.root);
    if (found !== mount) {
      for (const path of [...followed.keys()]) forget(path);
      mount = found;
      if (mount === undefined) {
        warnOnce(
          'no-mount',
          { root: config.root },
          `no cgroup v2 hierarchy at ${config.root} (no cgroup.controllers there nor in ${join(config.root, 'unified')}); looking again every refresh_interval (key "root")`,
        );
        return;
      }
      ctx.log.info({ mount }, `following the cgroup v2 hierarchy mounted at ${mount}`);
    }
    if (mount === undefined || mount === null) return;
    const now = listCgroups(mount, (dir, e) => warnOnce(`list:${dir}`, { dir }, `${dir}: cannot list its sub-cgroups (${e.message}); they are not measured`));
    for (const [path, f] of [...followed]) if (now.get(path)?.ino !== f.ino) forget(path);
    for (const [path, { dir, ino }] of now) {
      if (followed.has(path)) continue;
      followed.set(path, { dir, ino, watcher: watchDir(dir) });
      add(path, dir);
      if (removedAt.has(path)) readd.set(path, READD_SCANS);
    }
  };

  return {
    poll() {
      polls++;
      scan();
      for (const [path, left] of readd) {
        const f = followed.get(path);
        if (f !== undefined) add(path, f.dir);
        if (f === undefined || left <= 1) readd.delete(path);
        else readd.set(path, left - 1);
      }
      for (const [path, at] of removedAt) if (polls - at > READD_SCANS) removedAt.delete(path);
    },
    close() {
      closed = true;
      clearTimeout(rescanTimer);
      for (const f of followed.values()) f.watcher?.close();
    },
  };
});
