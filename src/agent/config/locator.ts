// Finds the line of a key path in the text of a TOML file, so a problem can say `FILE:LINE`; a key set by a
// command-line option is placed on that option instead. Best effort, without a second parser. Main thread.

/** Finds the line of a key path in the TOML text, best effort: headers, dotted keys, then the nearest table. */
export class Locator {
  readonly #file: string;
  readonly #origins: ReadonlyMap<string, string>;
  readonly #entries: Array<{ keys: string[]; line: number }> = [];

  constructor(text: string, file: string, origins: ReadonlyMap<string, string>) {
    this.#file = file;
    this.#origins = origins;
    let table: string[] = [];
    let inString: string | undefined;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (inString !== undefined) {
        if (line.includes(inString)) inString = undefined;
        continue;
      }
      const s = line.trim();
      if (s.startsWith('[')) {
        const header = readDottedKey(s.replace(/^\[\[?/, ''));
        if (header !== undefined && header.rest.startsWith(']')) {
          table = header.keys;
          this.#entries.push({ keys: table, line: i + 1 });
        }
        continue;
      }
      const key = readDottedKey(s);
      if (key === undefined || !key.rest.startsWith('=')) continue;
      this.#entries.push({ keys: [...table, ...key.keys], line: i + 1 });
      for (const quote of ['"""', "'''"]) {
        if (key.rest.split(quote).length % 2 === 0) inString = quote;
      }
    }
  }

  /** `FILE:LINE`, `FILE` when the key is nowhere, or the command-line option that set it. */
  of(path: string): { where: string; line?: number } {
    if (path === '') return { where: this.#file };
    const keys = path.replace(/\[\d+\]/g, '').split('.');
    for (const [set, origin] of this.#origins) {
      const s = set.split('.');
      if (startsWith(keys, s)) return { where: origin };
      if (startsWith(s, keys) && this.#exact(keys) === undefined) return { where: origin };
    }
    const line = this.#exact(keys) ?? this.#nearest(keys);
    return line === undefined ? { where: this.#file } : { where: `${this.#file}:${line}`, line };
  }

  /** First line that defines the key itself or something inside it. */
  #exact(keys: string[]): number | undefined {
    if (keys.length === 0) return undefined;
    return this.#entries.find((e) => startsWith(e.keys, keys))?.line;
  }

  /** The line of the deepest enclosing table or key, for a key that is absent (it took its default). */
  #nearest(keys: string[]): number | undefined {
    let best: { depth: number; line: number } | undefined;
    for (const e of this.#entries) {
      if (e.keys.length < keys.length && startsWith(keys, e.keys) && (best === undefined || e.keys.length > best.depth)) {
        best = { depth: e.keys.length, line: e.line };
      }
    }
    return best?.line;
  }
}

function startsWith(keys: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= keys.length && prefix.every((k, i) => keys[i] === k);
}

const KEY_PART = /\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*/y;

/** Reads `a.b."c d"` at the start of `s`; undefined when `s` does not start with a key. */
function readDottedKey(s: string): { keys: string[]; rest: string } | undefined {
  const keys: string[] = [];
  let pos = 0;
  for (;;) {
    KEY_PART.lastIndex = pos;
    const m = KEY_PART.exec(s);
    if (m === null) return undefined;
    let key = m[1] ?? m[3];
    if (key === undefined) {
      try {
        key = JSON.parse(`"${m[2]}"`) as string;
      } catch {
        key = m[2]!;
      }
    }
    keys.push(key);
    pos = KEY_PART.lastIndex;
    if (s[pos] !== '.') return { keys, rest: s.slice(pos) };
    pos++;
  }
}
