// Element name patterns for the control commands: `kind` alone or `kind/plugin/element`, with Alumet's kind
// aliases and its `name`, `prefix*`, `*suffix`, `*` string patterns. Main thread.

import { closest } from '../protocol/suggest.js';
import type { ElementKind } from '../protocol/element-kinds.js';

export class PatternError extends Error {
  override readonly name = 'PatternError';
}

export type StringPattern =
  | { readonly type: 'any' }
  | { readonly type: 'exact'; readonly text: string }
  | { readonly type: 'prefix'; readonly text: string }
  | { readonly type: 'suffix'; readonly text: string };

export interface ElementPattern {
  /** The pattern as the user wrote it. */
  readonly text: string;
  /** `undefined` selects every kind (`*`, `all`, `any`). */
  readonly kind: ElementKind | undefined;
  readonly plugin: StringPattern;
  readonly element: StringPattern;
}

/** What a pattern is matched against: the three parts of a canonical name. */
export interface NamedElement {
  readonly kind: ElementKind;
  readonly plugin: string;
  readonly element: string;
}

const KIND_ALIASES: ReadonlyMap<string, ElementKind | undefined> = new Map<string, ElementKind | undefined>([
  ['src', 'source'],
  ['source', 'source'],
  ['sources', 'source'],
  ['tra', 'transform'],
  ['transform', 'transform'],
  ['transforms', 'transform'],
  ['out', 'output'],
  ['output', 'output'],
  ['outputs', 'output'],
  ['*', undefined],
  ['all', undefined],
  ['any', undefined],
]);
/** Every word that names a kind, aliases and `*` included. */
export const KIND_WORDS: readonly string[] = [...KIND_ALIASES.keys()];
const VALID_KINDS = 'src|source|sources, tra|transform|transforms, out|output|outputs, *|all|any';
const STRING_FORMS = 'write name, prefix*, *suffix or *';
const ANY: StringPattern = { type: 'any' };

/** Reads a kind or one of its aliases; `undefined` means every kind. `whole` is the pattern, for messages. */
export function parseKind(text: string, whole = text): ElementKind | undefined {
  if (!KIND_ALIASES.has(text)) {
    const guess = closest(text, KIND_ALIASES.keys());
    const hint = guess !== undefined && guess !== '*' ? `did you mean ${guess}? ` : '';
    const where = whole === text ? '' : ` in pattern "${whole}"`;
    throw new PatternError(`invalid element kind "${text}"${where}; ${hint}valid kinds are ${VALID_KINDS}`);
  }
  return KIND_ALIASES.get(text);
}

/** Reads `name`, `prefix*`, `*suffix` or `*`. `where` names the part for error messages. */
export function parseStringPattern(text: string, where = ''): StringPattern {
  const context = where === '' ? '' : ` (${where})`;
  if (text === '') throw new PatternError(`invalid pattern: the string is empty${context}; ${STRING_FORMS}`);
  if (text === '*') return ANY;
  const star = text.indexOf('*');
  if (star === -1) return { type: 'exact', text };
  if (star === 0 && text.indexOf('*', 1) === -1) return { type: 'suffix', text: text.slice(1) };
  if (star === text.length - 1) return { type: 'prefix', text: text.slice(0, -1) };
  throw new PatternError(`invalid pattern: asterisk '*' in the middle of the string "${text}"${context}; ${STRING_FORMS}`);
}

/** Parses `kind` or `kind/plugin/element`; everything after the second `/` is the element (`a/b/c/d` → `c/d`). */
export function parsePattern(text: string): ElementPattern {
  if (text === '') throw new PatternError(`invalid pattern: the string is empty; write a kind (source, transform, output, *) or kind/plugin/element`);
  const first = text.indexOf('/');
  if (first === -1) return { text, kind: parseKindPart(text, text), plugin: ANY, element: ANY };
  const second = text.indexOf('/', first + 1);
  if (second === -1) {
    throw new PatternError(
      `bad pattern, expected kind/plugin/element but got '${text}'; write a kind alone (source) or three parts (source/procfs/*)`,
    );
  }
  const kind = parseKindPart(text.slice(0, first), text);
  const plugin = parseStringPattern(text.slice(first + 1, second), `plugin part of "${text}"`);
  const element = parseStringPattern(text.slice(second + 1), `element part of "${text}"`);
  return { text, kind, plugin, element };
}

function parseKindPart(kind: string, whole: string): ElementKind | undefined {
  if (kind === '') throw new PatternError(`invalid pattern: the string is empty (kind part of "${whole}"); valid kinds are ${VALID_KINDS}`);
  return parseKind(kind, whole);
}

export function matchesString(p: StringPattern, s: string): boolean {
  switch (p.type) {
    case 'any':
      return true;
    case 'exact':
      return s === p.text;
    case 'prefix':
      return s.startsWith(p.text);
    case 'suffix':
      return s.endsWith(p.text);
  }
}

/**
 * The Rust agent's documentation writes plugins by their crate's name (`source/plugin-procfs/memory`,
 * `transform/plugin-energy-attribution/*`), while elements carry the plugin's own name (`procfs`). A plugin
 * part that starts with `plugin-` therefore also matches the plugin named by the rest (`plugin-procfs` matches
 * `procfs`, `plugin-proc*` matches `procfs`, `plugin-*` matches every plugin). Only that spelling: `plug*` or
 * `*procfs` mean what they say.
 */
export const CRATE_PREFIX = 'plugin-';

export function matchesPlugin(p: StringPattern, plugin: string): boolean {
  if (matchesString(p, plugin)) return true;
  return (p.type === 'exact' || p.type === 'prefix') && p.text.startsWith(CRATE_PREFIX) && matchesString(p, CRATE_PREFIX + plugin);
}

/** Case-sensitive, as in Alumet; the plugin part also accepts the crate name (see matchesPlugin). */
export function matches(p: ElementPattern, e: NamedElement): boolean {
  return (p.kind === undefined || p.kind === e.kind) && matchesPlugin(p.plugin, e.plugin) && matchesString(p.element, e.element);
}

export function formatString(p: StringPattern): string {
  switch (p.type) {
    case 'any':
      return '*';
    case 'exact':
      return p.text;
    case 'prefix':
      return `${p.text}*`;
    case 'suffix':
      return `*${p.text}`;
  }
}

/** Canonical spelling, as element names print (`source/procfs/memory`); any kind prints as a star. */
export function formatPattern(p: ElementPattern): string {
  return `${p.kind ?? '*'}/${formatString(p.plugin)}/${formatString(p.element)}`;
}

/** True when the pattern can select at most one element of its kind. */
export function isExact(p: ElementPattern): boolean {
  return p.kind !== undefined && p.plugin.type === 'exact' && p.element.type === 'exact';
}
