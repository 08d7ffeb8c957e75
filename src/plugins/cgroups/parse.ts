// Pure parsers for the cgroup v2 interface files (cpu.stat, memory.*, io.pressure) and the online-CPU
// cpulist, plus the counter arithmetic of the cgroup sources. No I/O. Runs in the cgroup sources.

/** Thrown when a cgroup file does not have the shape the kernel documents; the caller adds the path. */
export class CgroupParseError extends Error {
  override readonly name = 'CgroupParseError';
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

function u64(word: string | undefined, what: string): bigint {
  if (word === undefined || !/^\d+$/.test(word)) throw new CgroupParseError(`${what}: expected an unsigned integer, got ${word === undefined ? 'nothing' : JSON.stringify(word)}`);
  const v = BigInt(word);
  if (v > U64_MAX) throw new CgroupParseError(`${what}: ${word} does not fit in 64 bits`);
  return v;
}

/**
 * Parses a flat-keyed file (`cpu.stat`, `memory.stat`): one `key value` pair per line, in file order.
 * Lines whose value is not an integer are refused, since every documented key of those files is one.
 */
export function parseFlatKeyed(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    const words = line.trim().split(/\s+/);
    if (words.length !== 2) throw new CgroupParseError(`line ${lineNo} ${JSON.stringify(line)}: expected "key value"`);
    out.set(words[0]!, u64(words[1], `line ${lineNo} (${words[0]})`));
  }
  return out;
}

/** Parses a single-value file such as `memory.current`. */
export function parseSingleValue(text: string): bigint {
  return u64(text.trim(), 'value');
}

/** Parses a limit such as `memory.max`: a number of bytes, or `max` (no limit), which Alumet reports as -1. */
export function parseLimit(text: string): number {
  const word = text.trim();
  if (word === 'max') return -1;
  return Number(u64(word, 'limit (a number of bytes or "max")'));
}

/** Cumulative stall times of a pressure file (`io.pressure`), in µs; `full` is absent on old kernels and for cpu. */
export interface PressureTotals {
  readonly some: bigint;
  readonly full: bigint | undefined;
}

/** Parses a PSI file: lines `some avg10=0.00 avg60=0.00 avg300=0.00 total=123` and `full …`. */
export function parsePressure(text: string): PressureTotals {
  let some: bigint | undefined;
  let full: bigint | undefined;
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    const kind = words[0];
    if (kind !== 'some' && kind !== 'full') continue;
    const total = words.find((w) => w.startsWith('total='));
    if (total === undefined) throw new CgroupParseError(`"${kind}" line has no total= field: ${JSON.stringify(line.trim())}`);
    const v = u64(total.slice('total='.length), `${kind} total`);
    if (kind === 'some') some = v;
    else full = v;
  }
  if (some === undefined) throw new CgroupParseError(`no "some" line; expected "some avg10=… total=<µs>"`);
  return { some, full };
}


/**
 * Change of a cumulative cgroup counter. These µs counters cannot wrap in practice (2^64 µs is 584 000
 * years), so a lower reading means the cgroup was removed and created again under the same path: the
 * counter restarted from 0 and the new reading is the whole delta.
 */
export function counterDelta(prev: bigint, now: bigint): bigint {
  return now >= prev ? now - prev : now;
}
