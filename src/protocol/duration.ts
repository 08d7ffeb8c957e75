// Humantime-style durations ("100us", "10ms", "1m30s", "2h 15m"), as Alumet reads them. Any thread:
// config checks on the main thread, set-period in the control parser, schedulers in workers.

export class DurationError extends Error {
  override readonly name = 'DurationError';
}

const NS_PER: Record<string, bigint> = {};
function units(ns: bigint, ...names: string[]): void {
  for (const n of names) NS_PER[n] = ns;
}
units(1n, 'ns', 'nsec', 'nanos');
units(1_000n, 'us', 'µs', 'μs', 'usec', 'micros');
units(1_000_000n, 'ms', 'msec', 'millis');
units(1_000_000_000n, 's', 'sec', 'secs', 'second', 'seconds');
units(60_000_000_000n, 'm', 'min', 'mins', 'minute', 'minutes');
units(3_600_000_000_000n, 'h', 'hr', 'hrs', 'hour', 'hours');
units(86_400_000_000_000n, 'd', 'day', 'days');
units(604_800_000_000_000n, 'w', 'week', 'weeks');
units(2_630_016_000_000_000n, 'M', 'month', 'months'); // 30.44 days, as humantime
units(31_557_600_000_000_000n, 'y', 'year', 'years'); // 365.25 days

const EXAMPLES = '"100us", "10ms", "1s", "2m", "1h", "1m30s"';
// A part is digits then a unit, with nothing between them; parts may be separated by spaces ("1m 30s").
const PART = /(\d+)(\p{L}*)/uy;

/** Parses a duration into nanoseconds; throws a DurationError that names the input and what is wrong. */
export function parseDuration(input: string): bigint {
  const text = input.trim();
  if (text === '') throw new DurationError(`empty duration; write a number and a unit: ${EXAMPLES}`);
  const fail = (why: string): DurationError =>
    new DurationError(`${JSON.stringify(input)} is not a duration (${why}); write a number and a unit: ${EXAMPLES}`);
  let total = 0n;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (m === null) {
      const rest = text.slice(pos);
      if (pos === 0 && /^[-+]\d/.test(rest)) throw fail('a duration has no sign');
      throw fail(`cannot read ${JSON.stringify(rest)}`);
    }
    const [whole, digits, unit] = m;
    pos += whole.length;
    if (text[pos] === '.' || text[pos] === ',') throw fail('fractions are not supported; combine units instead, e.g. "1s500ms" for 1.5 s');
    if (unit === '') {
      const next = /^\s+(\p{L}+)/u.exec(text.slice(pos));
      if (next !== null) throw fail(`no space is allowed between a number and its unit: "${digits}${next[1]}"`);
      throw fail(pos === text.length ? `the number ${digits} has no unit` : `cannot read ${JSON.stringify(text.slice(pos - digits.length))}`);
    }
    const factor = NS_PER[unit];
    if (factor === undefined) {
      throw new DurationError(
        `${JSON.stringify(input)} is not a duration: unknown unit ${JSON.stringify(unit)}; valid units are ns, us, ms, s, m, h, d, w, M, y; for example ${EXAMPLES}`,
      );
    }
    total += BigInt(digits) * factor;
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  }
  return total;
}

/** Formats nanoseconds the way humantime does (`1m 30s`, `500us`, `0s`), for list/status output. */
export function formatDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const parts: string[] = [];
  const steps: Array<[bigint, string]> = [
    [86_400_000_000_000n, 'd'],
    [3_600_000_000_000n, 'h'],
    [60_000_000_000n, 'm'],
    [1_000_000_000n, 's'],
    [1_000_000n, 'ms'],
    [1_000n, 'us'],
    [1n, 'ns'],
  ];
  let rest = ns;
  for (const [size, name] of steps) {
    if (rest >= size) {
      parts.push(`${rest / size}${name}`);
      rest %= size;
    }
  }
  return parts.join(' ');
}
