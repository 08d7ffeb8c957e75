// The problems found while loading a config, each kept with its key path (or the option it comes from) so
// that, once every step has run, it can be placed on a line of the file and reported in file order.
// Main thread.

import { ConfigError } from './errors.js';
import type { Locator } from './locator.js';
import { Problems } from './schema.js';

interface Problem {
  path: string;
  message: string;
  /** Where the problem comes from when it is not a line of the file (`--plugins`, …). */
  origin?: string;
}

/** Keeps each problem's key path apart from its message, so it can be placed on a line of the file. */
export class Collector extends Problems {
  readonly problems: Problem[] = [];
  override add(path: string, message: string): void {
    super.add(path, message);
    this.problems.push({ path, message });
  }
  /** A problem that is not about a key of the file; `origin` (may be empty) is the option it comes from. */
  addFrom(origin: string, message: string): void {
    super.add(origin, message);
    this.problems.push({ path: '', message, origin });
  }

  /** Throws one ConfigError with every problem, as `FILE:LINE: key: message`, in file order; nothing if none. */
  throwIfAny(locator: Locator, path: string): void {
    if (this.problems.length === 0) return;
    const lines = this.problems.map((p) => {
      if (p.origin !== undefined) return { line: Infinity, text: `${p.origin ? `${p.origin}: ` : ''}${p.message}` };
      const at = locator.of(p.path);
      return { line: at.line ?? Infinity, text: `${at.where}: ${p.path ? `${p.path}: ` : ''}${p.message}` };
    });
    // In file order, so the list reads like the file; the rest (command line, unplaced keys) after.
    lines.sort((a, b) => (a.line === b.line ? 0 : a.line < b.line ? -1 : 1));
    throw new ConfigError(
      lines.map((l) => l.text),
      `invalid configuration in ${path}`,
    );
  }
}
