// Draws the `top` screen as lines of text that fit the terminal: a title, a summary of the pipeline, the
// column header, one line per visible element, the agent's last reply and the keys. Pure (ANSI attributes
// only; the app moves the cursor and clears). Main thread.

import { RATE_WINDOW_MS, type ElementRow } from './element-rates.js';
import type { TopView } from './top-view.js';

/** Lines above and below the element rows. */
export const CHROME_LINES = 5;

const INVERSE = '\x1b[7m';
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';
const KIND = { source: 'src', transform: 'tra', output: 'out' } as const;

interface Column {
  readonly title: string;
  readonly width: number;
  readonly right?: boolean;
  readonly cell: (r: ElementRow) => string;
}

// The element column takes the width the others leave: 23 characters on an 80-column terminal.
const COLUMNS: readonly Column[] = [
  { title: 'KND', width: 3, cell: (r) => KIND[r.status.kind] ?? r.status.kind },
  { title: 'STATE', width: 10, cell: (r) => r.status.state },
  { title: 'PERIOD', width: 6, right: true, cell: (r) => r.status.period ?? '-' },
  { title: 'THREAD', width: 6, cell: (r) => r.status.thread ?? '-' },
  { title: 'IN/s', width: 6, right: true, cell: (r) => rate(r.inPerSec, r.status.kind === 'source') },
  { title: 'OUT/s', width: 6, right: true, cell: (r) => rate(r.outPerSec, false) },
  { title: 'ERR', width: 3, right: true, cell: (r) => compact(r.errors) },
  { title: 'BACKLOG', width: 7, right: true, cell: (r) => (r.backlog === undefined ? '-' : compact(r.backlog)) },
];
const FIXED_WIDTH = 2 + COLUMNS.reduce((sum, c) => sum + 1 + c.width, 0);
const MIN_NAME_WIDTH = 12;

export interface ScreenInfo {
  readonly socket: string;
  /** When the shown snapshot arrived (wall clock), or why there is none. */
  readonly refreshed: string;
}

/** Exactly `rows` lines, none wider than `cols` characters (escape sequences aside). */
export function renderScreen(view: TopView, info: ScreenInfo, cols: number, rows: number): string[] {
  const nameWidth = Math.max(MIN_NAME_WIDTH, cols - FIXED_WIDTH);
  const pageRows = Math.max(1, rows - CHROME_LINES);
  view.scrollTo(pageRows);
  const shown = view.rows;
  const lines: string[] = [];
  const sort = `${view.sortKey}${view.reversed ? ' (reversed)' : ''}`;
  const filter = view.editing !== undefined ? `filter: ${view.editing}_` : view.filter !== '' ? `filter: ${view.filter}` : '';
  const range = shown.length === 0 ? '0' : `${view.offset + 1}-${Math.min(shown.length, view.offset + pageRows)}`;
  lines.push(BOLD + fit(`alumet-agent top  ${info.socket}  ${info.refreshed}  points/s over ${RATE_WINDOW_MS / 1000} s`, cols) + RESET);
  lines.push(fit(`elements ${range} of ${shown.length}${shown.length !== view.total ? ` (${view.total} in all)` : ''}  marked ${view.markedCount}  sort: ${sort}  ${filter}`, cols));
  const header = [pad('ELEMENT', nameWidth), ...COLUMNS.map((c) => pad(c.title, c.width, c.right))].join(' ');
  lines.push(INVERSE + fit(`  ${header}`, cols) + RESET);
  const cursor = view.cursor;
  for (let i = view.offset; i < Math.min(shown.length, view.offset + pageRows); i++) {
    const r = shown[i]!;
    const name = r.status.name.slice(r.status.kind.length + 1); // the kind has its own column
    const cells = [pad(middleCut(name, nameWidth), nameWidth), ...COLUMNS.map((c) => pad(c.cell(r), c.width, c.right))].join(' ');
    const line = fit(`${view.isMarked(r.status.name) ? '*' : ' '} ${cells}`, cols);
    lines.push(i === cursor ? INVERSE + line + RESET : line);
  }
  while (lines.length < rows - 2) lines.push('');
  lines.push(fit(view.message, cols));
  lines.push(INVERSE + fit('q:quit ↑↓:move space:mark p:pause r:resume t:trigger s/S:sort /:filter', cols) + RESET);
  return lines.slice(0, rows);
}

/** Cuts `text` to `width` characters, marking the cut with … */
function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** Cuts the middle out of a long name: its plugin and the end of its element (`procfs/pi…-12345`) both stay. */
function middleCut(text: string, width: number): string {
  if (text.length <= width) return text;
  const head = Math.ceil((width - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (width - 1 - head))}`;
}

function pad(text: string, width: number, right = false): string {
  const t = fit(text, width);
  return right ? t.padStart(width) : t.padEnd(width);
}

/** `-` for no rate (a source receives nothing; no second snapshot yet). */
function rate(perSec: number | undefined, none: boolean): string {
  if (none || perSec === undefined) return '-';
  return compact(perSec < 10 && perSec % 1 !== 0 ? Math.round(perSec * 10) / 10 : Math.round(perSec));
}

/** A number in at most 6 characters: 950, 12.5k, 3.2M, 1.1G. */
function compact(n: number): string {
  if (n < 10_000) return String(n);
  for (const [unit, size] of [['G', 1e9], ['M', 1e6], ['k', 1e3]] as const) {
    if (n >= size) return `${(n / size).toFixed(n / size < 100 ? 1 : 0)}${unit}`;
  }
  return String(n);
}
