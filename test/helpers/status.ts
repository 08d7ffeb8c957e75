// `status --json` for tests: the reply's lines as objects, one per element.

import assert from 'node:assert/strict';
import { sendControlLine } from '../../src/control/client.js';

export interface StatusEntry {
  readonly name: string;
  readonly kind: 'source' | 'transform' | 'output';
  readonly plugin: string;
  readonly element: string;
  readonly state: string;
  readonly period: string | null;
  readonly thread: string | null;
  readonly counters: Readonly<Record<string, number>>;
  readonly last_error: string | null;
}

/** The data lines of a `status --json` reply (every line but the last, its `ok` line), parsed. */
export function parseStatusJson(lines: readonly string[]): StatusEntry[] {
  assert.ok(lines.length > 0 && lines.at(-1)!.startsWith('ok '), `a status --json reply ends with its ok line: ${JSON.stringify(lines)}`);
  return lines.slice(0, -1).map((l) => JSON.parse(l) as StatusEntry);
}

/** `status PATTERN --json` on the agent at `socket`; asserts an ok reply. */
export async function statusEntries(socket: string, pattern: string): Promise<StatusEntry[]> {
  const reply = await sendControlLine(socket, `status ${pattern} --json`, 10_000);
  assert.equal(reply.status, 'ok', reply.lines.join('\n'));
  return parseStatusJson(reply.lines);
}
