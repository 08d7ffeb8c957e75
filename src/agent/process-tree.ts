// The descendants of `exec`'s child, found in /proc while they run, so that the agent measures them too and
// the report counts them. Main thread.

import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * Finds the live descendants of one process: through each task's `children` file (/proc/PID/task/TID/
 * children, the children a thread started), a few reads per process of the tree; or, on a kernel built
 * without them (CONFIG_PROC_CHILDREN), by reading the parent of every process in /proc.
 */
export class ProcessTree {
  readonly #root: number;
  readonly #proc: string;
  readonly #known = new Set<number>();
  /** How children are found, decided the first time the root can be looked at. */
  #method: 'children-files' | 'parents' | undefined;

  constructor(root: number, proc = '/proc') {
    this.#root = root;
    this.#proc = proc;
  }

  /** Descendants found since the previous call (each pid once). */
  discover(): number[] {
    this.#method ??= this.#detect();
    if (this.#method === undefined) return [];
    const childrenOf = this.#method === 'children-files' ? (pid: number) => this.#fromChildrenFiles(pid) : this.#parentMap();
    const found: number[] = [];
    const queue = [this.#root];
    for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
      for (const child of childrenOf(pid)) {
        queue.push(child);
        if (this.#known.has(child)) continue;
        this.#known.add(child);
        found.push(child);
      }
    }
    return found;
  }

  /** Whether the kernel has children files; undefined while the root cannot be looked at (it has ended). */
  #detect(): 'children-files' | 'parents' | undefined {
    const task = `${this.#proc}/${this.#root}/task/${this.#root}`;
    if (existsSync(`${task}/children`)) return 'children-files';
    return existsSync(task) ? 'parents' : undefined;
  }

  #fromChildrenFiles(pid: number): number[] {
    let tasks: string[];
    try {
      tasks = readdirSync(`${this.#proc}/${pid}/task`);
    } catch {
      return []; // ended meanwhile
    }
    const children: number[] = [];
    for (const tid of tasks) {
      try {
        for (const word of readFileSync(`${this.#proc}/${pid}/task/${tid}/children`, 'latin1').split(/\s+/)) if (word !== '') children.push(Number(word));
      } catch {
        // the thread ended meanwhile
      }
    }
    return children;
  }

  /** Children by parent, from the `stat` of every process. */
  #parentMap(): (pid: number) => number[] {
    const byParent = new Map<number, number[]>();
    for (const name of readdirSync(this.#proc)) {
      if (!/^\d+$/.test(name)) continue;
      let stat: string;
      try {
        stat = readFileSync(`${this.#proc}/${name}/stat`, 'latin1');
      } catch {
        continue;
      }
      // The fields after the command name (which may hold spaces and parentheses): state, ppid, …
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const siblings = byParent.get(ppid) ?? [];
      siblings.push(Number(name));
      byParent.set(ppid, siblings);
    }
    return (pid) => byParent.get(pid) ?? [];
  }
}
