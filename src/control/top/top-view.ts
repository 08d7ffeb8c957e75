// The state of the `top` screen and what each key does to it: the rows after filter and sort, the cursor and
// the scroll position, the marked elements, the filter being typed, and the line that shows the agent's last
// reply. Pure (no I/O): `top-app.ts` feeds it snapshots and keys and sends the commands it returns. Main thread.

import type { ElementRow } from './element-rates.js';
import type { Key } from './keys.js';

export const SORT_KEYS = ['agent', 'name', 'state', 'in/s', 'out/s', 'errors', 'backlog'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export type TopCommand = { readonly type: 'quit' } | { readonly type: 'control'; readonly action: 'pause' | 'resume' | 'trigger-now'; readonly names: readonly string[] };

const ACTION_OF_KEY: Readonly<Record<string, 'pause' | 'resume' | 'trigger-now'>> = { p: 'pause', r: 'resume', t: 'trigger-now' };

export class TopView {
  /** Rows in the agent's order (sources, transforms, outputs; names in natural order). */
  #all: readonly ElementRow[] = [];
  #shown: ElementRow[] = [];
  /** The cursor follows an element, not a line, across refreshes and re-sorts. */
  #cursorName: string | undefined;
  #offset = 0;
  readonly #marked = new Set<string>();
  sortKey: SortKey = 'agent';
  reversed = false;
  filter = '';
  /** The filter being typed after `/`, until Enter (applies it) or Escape (keeps the old one). */
  editing: string | undefined;
  message = '';

  get rows(): readonly ElementRow[] {
    return this.#shown;
  }

  get total(): number {
    return this.#all.length;
  }

  get cursor(): number {
    const i = this.#shown.findIndex((r) => r.status.name === this.#cursorName);
    return i < 0 ? 0 : i;
  }

  get offset(): number {
    return this.#offset;
  }

  isMarked(name: string): boolean {
    return this.#marked.has(name);
  }

  get markedCount(): number {
    return this.#marked.size;
  }

  setRows(rows: readonly ElementRow[]): void {
    this.#all = rows;
    const names = new Set(rows.map((r) => r.status.name));
    for (const name of this.#marked) if (!names.has(name)) this.#marked.delete(name);
    this.#arrange();
  }

  /** Applies a key; returns what the app must do, if anything. `pageRows` is the number of visible rows. */
  press(key: Key, pageRows: number): TopCommand | undefined {
    if (this.editing !== undefined) {
      this.#edit(key);
      return undefined;
    }
    if (key.type === 'ctrl-c') return { type: 'quit' };
    if (key.type === 'char') {
      const c = key.char;
      if (c === 'q') return { type: 'quit' };
      const action = ACTION_OF_KEY[c];
      if (action !== undefined) return this.#command(action);
      if (c === 'j') this.#move(1, pageRows);
      else if (c === 'k') this.#move(-1, pageRows);
      else if (c === ' ') this.#toggleMark(pageRows);
      else if (c === 's') this.#sortBy(SORT_KEYS[(SORT_KEYS.indexOf(this.sortKey) + 1) % SORT_KEYS.length]!);
      else if (c === 'S') this.#sortBy(this.sortKey, !this.reversed);
      else if (c === '/') this.editing = this.filter;
      else if (c === 'u') this.#marked.clear();
      return undefined;
    }
    if (key.type === 'up') this.#move(-1, pageRows);
    else if (key.type === 'down') this.#move(1, pageRows);
    else if (key.type === 'page-up') this.#move(-pageRows, pageRows);
    else if (key.type === 'page-down') this.#move(pageRows, pageRows);
    else if (key.type === 'home') this.#move(-Infinity, pageRows);
    else if (key.type === 'end') this.#move(Infinity, pageRows);
    else if (key.type === 'escape') this.filter === '' ? this.#marked.clear() : this.#setFilter('');
    return undefined;
  }

  /** Keeps the cursor's line inside the `pageRows` visible lines. */
  scrollTo(pageRows: number): void {
    const c = this.cursor;
    if (c < this.#offset) this.#offset = c;
    if (c >= this.#offset + pageRows) this.#offset = c - pageRows + 1;
    this.#offset = Math.max(0, Math.min(this.#offset, this.#shown.length - pageRows));
  }

  #edit(key: Key): void {
    const text = this.editing!;
    if (key.type === 'enter') {
      this.editing = undefined;
      this.#setFilter(text);
    } else if (key.type === 'escape' || key.type === 'ctrl-c') this.editing = undefined;
    else if (key.type === 'backspace') this.editing = text.slice(0, -1);
    else if (key.type === 'char') this.editing = text + key.char;
  }

  #setFilter(text: string): void {
    this.filter = text;
    this.#offset = 0;
    this.#arrange();
  }

  #sortBy(key: SortKey, reversed = false): void {
    this.sortKey = key;
    this.reversed = reversed;
    this.#arrange();
  }

  #move(by: number, pageRows: number): void {
    if (this.#shown.length === 0) return;
    const to = Math.max(0, Math.min(this.#shown.length - 1, this.cursor + by));
    this.#cursorName = this.#shown[to]!.status.name;
    this.scrollTo(pageRows);
  }

  #toggleMark(pageRows: number): void {
    const name = this.#cursorName;
    if (name === undefined) return;
    if (!this.#marked.delete(name)) this.#marked.add(name);
    this.#move(1, pageRows);
  }

  /** The marked elements, or the one under the cursor when none is marked. */
  #command(action: 'pause' | 'resume' | 'trigger-now'): TopCommand | undefined {
    const names = this.#marked.size > 0 ? this.#all.map((r) => r.status.name).filter((n) => this.#marked.has(n)) : this.#shown.length > 0 ? [this.#shown[this.cursor]!.status.name] : [];
    if (names.length === 0) {
      this.message = 'no element to apply this to';
      return undefined;
    }
    return { type: 'control', action, names };
  }

  #arrange(): void {
    const needle = this.filter.toLowerCase();
    const rows = needle === '' ? [...this.#all] : this.#all.filter((r) => `${r.status.name} ${r.status.state}`.toLowerCase().includes(needle));
    const value = SORT_VALUE[this.sortKey];
    if (value !== undefined) {
      // Busiest first: numbers sort descending, and the agent's order breaks ties (a stable sort).
      rows.sort((a, b) => compare(value(b), value(a)));
    } else if (this.sortKey === 'name') rows.sort((a, b) => (a.status.name < b.status.name ? -1 : a.status.name > b.status.name ? 1 : 0));
    if (this.reversed) rows.reverse();
    this.#shown = rows;
    if (!rows.some((r) => r.status.name === this.#cursorName)) this.#cursorName = rows[0]?.status.name;
  }
}

const SORT_VALUE: Partial<Record<SortKey, (r: ElementRow) => number | string>> = {
  state: (r) => r.status.state,
  'in/s': (r) => r.inPerSec ?? -1,
  'out/s': (r) => r.outPerSec ?? -1,
  errors: (r) => r.errors,
  backlog: (r) => r.backlog ?? -1,
};

function compare(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
