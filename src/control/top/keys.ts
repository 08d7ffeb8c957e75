// The keys `top` understands, decoded from what a terminal in raw mode sends: printable characters, arrows,
// page and home/end keys (xterm and VT220 escape sequences), Enter, Backspace, Escape, Ctrl-C. Pure. Main thread.

export type Key =
  | { readonly type: 'char'; readonly char: string }
  | { readonly type: 'up' | 'down' | 'page-up' | 'page-down' | 'home' | 'end' | 'enter' | 'backspace' | 'escape' | 'ctrl-c' };

const SEQUENCES: ReadonlyArray<readonly [string, Key['type']]> = [
  ['\x1b[A', 'up'],
  ['\x1bOA', 'up'],
  ['\x1b[B', 'down'],
  ['\x1bOB', 'down'],
  ['\x1b[5~', 'page-up'],
  ['\x1b[6~', 'page-down'],
  ['\x1b[H', 'home'],
  ['\x1bOH', 'home'],
  ['\x1b[1~', 'home'],
  ['\x1b[F', 'end'],
  ['\x1bOF', 'end'],
  ['\x1b[4~', 'end'],
];

/** The keys in one chunk of terminal input; unknown escape sequences are dropped whole. */
export function decodeKeys(input: string): Key[] {
  const keys: Key[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === '\x1b') {
      const known = SEQUENCES.find(([seq]) => input.startsWith(seq, i));
      if (known !== undefined) {
        keys.push({ type: known[1] } as Key);
        i += known[0].length;
        continue;
      }
      // A lone Escape, or a sequence we do not use (function keys, the mouse): skip its CSI parameters too.
      const csi = /^\x1b[[O][\d;]*[~A-Za-z]/.exec(input.slice(i));
      if (csi === null) keys.push({ type: 'escape' });
      i += csi === null ? 1 : csi[0].length;
      continue;
    }
    i++;
    if (c === '\x03') keys.push({ type: 'ctrl-c' });
    else if (c === '\r' || c === '\n') keys.push({ type: 'enter' });
    else if (c === '\x7f' || c === '\b') keys.push({ type: 'backspace' });
    else if (c >= ' ') keys.push({ type: 'char', char: c });
  }
  return keys;
}
