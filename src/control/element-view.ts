// How `list` and `status` show elements: their order (natural sort of names within a kind), the `list` line,
// the `status` table for people and the `status --json` lines for scripts. Pure functions. Main thread.

import { COUNTER_NAMES, KIND_COUNTERS } from '../protocol/counters.js';
import { kindRank, type ElementKind } from '../protocol/element-kinds.js';
import type { ElementSummary } from './control-target.js';

// ---- order ----


/**
 * Compares names so that numbers inside them compare as numbers: `pid-2` < `pid-10` < `pid-100`, `cpu9` < `cpu10`.
 * Runs of digits compare by value, of any length; everything else compares by UTF-16 code unit, as a plain sort
 * would. Names that differ only by leading zeros come fewer zeros first (`x7` < `x07`). Equal only for equal strings.
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  /** The first difference in leading zeros, used only if nothing else differs. */
  let zeros = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      const endA = digitsEnd(a, i);
      const endB = digitsEnd(b, j);
      const startA = skipZeros(a, i, endA);
      const startB = skipZeros(b, j, endB);
      // More significant digits: a larger number.
      const byLength = endA - startA - (endB - startB);
      if (byLength !== 0) return byLength;
      for (let k = 0; k < endA - startA; k++) {
        const d = a.charCodeAt(startA + k) - b.charCodeAt(startB + k);
        if (d !== 0) return d;
      }
      if (zeros === 0) zeros = endA - i - (endB - j);
      i = endA;
      j = endB;
      continue;
    }
    if (ca !== cb) return ca - cb;
    i++;
    j++;
  }
  return a.length - i - (b.length - j) || zeros;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function digitsEnd(s: string, from: number): number {
  let k = from;
  while (k < s.length && isDigit(s.charCodeAt(k))) k++;
  return k;
}

function skipZeros(s: string, from: number, end: number): number {
  let k = from;
  while (k < end - 1 && s.charCodeAt(k) === 48) k++;
  return k;
}

/**
 * The order `list`, `status` and the replies of `control` name elements in: sources, then transforms, then
 * outputs (the agent's order). Sources and outputs are sorted by name, naturally (`pid-2` before `pid-10`);
 * transforms keep their pipeline order, which is the order data goes through them. `elements` must come in
 * the agent's order (ControlTarget.elements()). Returns a new array.
 */
export function displayOrder<T extends { readonly kind: ElementKind; readonly name: string }>(elements: readonly T[]): T[] {
  const indexed = elements.map((e, index) => ({ e, index }));
  indexed.sort((x, y) => {
    const byKind = kindRank(x.e.kind) - kindRank(y.e.kind);
    if (byKind !== 0) return byKind;
    if (x.e.kind === 'transform') return x.index - y.index;
    return naturalCompare(x.e.name, y.e.name) || x.index - y.index;
  });
  return indexed.map((x) => x.e);
}

// ---- list ----

// Text from elements (errors above all) may hold newlines, which would break the line protocol.
const UNPRINTABLE = /[\x00-\x1f\x7f]+/g;

/** Control characters (a newline in an error message, say) become one space each run. */
export function clean(text: string): string {
  return text.replace(UNPRINTABLE, ' ');
}

/** The period as one word: humantime's "1m 30s" prints "1m30s", which parses back the same. */
function period(e: ElementSummary): string | undefined {
  return e.period?.replaceAll(' ', '');
}

/** `source/procfs/memory running 1s`: name, state, period of a managed source. */
export function listLine(e: ElementSummary): string {
  const p = period(e);
  return p === undefined ? `${e.name} ${e.state}` : `${e.name} ${e.state} ${p}`;
}

// ---- status ----

const COUNTER_ORDER: readonly string[] = COUNTER_NAMES;
const ALL_KNOWN = new Set(COUNTER_ORDER);

/** The counters of `e` that apply to its kind, in table order; a counter the agent has and this file does not know is kept, last. */
function countersOf(e: ElementSummary): Array<[string, number]> {
  const counters = e.counters;
  const out: Array<[string, number]> = [];
  for (const name of KIND_COUNTERS[e.kind]) {
    const v = counters[name];
    if (v !== undefined) out.push([name, v]);
  }
  for (const name in counters) if (!ALL_KNOWN.has(name)) out.push([name, counters[name]!]);
  return out;
}

/** Placeholder of a cell that does not apply to the row (a source's `points_in`) or has no value (no period). */
const NONE = '-';

/**
 * One aligned table, header first: element, kind, state, period, thread, then the counters that apply to the
 * kinds shown (a counter that does not apply to a row's kind shows `-`), then `last_error` when an element has
 * one (quoted, last, so that its spaces shift nothing). Text columns are aligned left, counters right, two
 * spaces between columns.
 */
export function statusTable(elements: readonly ElementSummary[]): string[] {
  const perRow = elements.map(countersOf);
  const present = new Set<string>();
  for (const row of perRow) for (const [name] of row) present.add(name);
  const counterColumns = [...COUNTER_ORDER.filter((n) => present.has(n)), ...[...present].filter((n) => !ALL_KNOWN.has(n))];
  const withError = elements.some((e) => e.lastError !== undefined);

  const header = ['element', 'kind', 'state', 'period', 'thread', ...counterColumns];
  const rows = elements.map((e, i) => {
    const values = new Map(perRow[i]);
    return [
      e.name,
      e.kind,
      e.state,
      period(e) ?? NONE,
      e.thread ?? NONE,
      ...counterColumns.map((n) => {
        const v = values.get(n);
        return v === undefined ? NONE : String(v);
      }),
    ];
  });
  const rightAligned = header.map((_, c) => c >= 5);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const render = (cells: string[], last: string | undefined): string => {
    const parts = cells.map((cell, c) => (rightAligned[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)));
    if (last !== undefined) parts.push(last);
    return parts.join('  ').trimEnd();
  };
  const lines = [render(header, withError ? 'last_error' : undefined)];
  elements.forEach((e, i) => {
    const error = e.lastError === undefined ? NONE : JSON.stringify(clean(e.lastError));
    lines.push(render(rows[i]!, withError ? error : undefined));
  });
  return lines;
}

/**
 * One JSON object per element, on one line: `name`, `kind`, `plugin`, `element`, `state`, `period` (as `list`
 * prints it, or null), `thread` (or null), `counters` (those that apply to the kind), `last_error` (or null).
 */
export function statusJson(e: ElementSummary): string {
  return JSON.stringify({
    name: e.name,
    kind: e.kind,
    plugin: e.plugin,
    element: e.element,
    state: e.state,
    period: period(e) ?? null,
    thread: e.thread ?? null,
    counters: Object.fromEntries(countersOf(e)),
    // JSON escapes line breaks itself: the text is kept as the element reported it.
    last_error: e.lastError ?? null,
  });
}
