// Axis ticks: round values (1, 2 or 5 times a power of ten) and round times (whole seconds, minutes, hours in
// UTC), with labels short enough for an axis.

/** About `target` round values covering [min, max], and the range they span (which contains [min, max]). */
export function valueTicks(min: number, max: number, target = 5): { ticks: number[]; low: number; high: number } {
  if (min === max) {
    // A flat line: centre it in a range of its own size (or of 1 around zero).
    const pad = min === 0 ? 1 : Math.abs(min) / 2;
    return valueTicks(min - pad, max + pad, target);
  }
  const raw = (max - min) / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const low = Math.floor(min / step) * step;
  const high = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let i = 0; low + i * step <= high + step / 1e6; i++) ticks.push(Number((low + i * step).toPrecision(12)));
  return { ticks, low, high };
}

const SI = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
] as const;

/** A tick label: `1.5k`, `20M`, `0.25`, `-3`. */
export function formatValue(v: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  for (const [factor, suffix] of SI) if (abs >= factor) return `${Number((v / factor).toPrecision(4))}${suffix}`;
  if (abs < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const TIME_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR];

/** Round instants (ms since the epoch) inside [start, end], about `target` of them, and their step. */
export function timeTicks(start: number, end: number, target = 8): { ticks: number[]; step: number } {
  const span = Math.max(end - start, 1);
  const step = TIME_STEPS.find((s) => span / s <= target) ?? Math.ceil(span / target / (24 * HOUR)) * 24 * HOUR;
  const ticks: number[] = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) ticks.push(t);
  return { ticks, step };
}

/** `15:08:50`, or `15:08:50.250` when the ticks are less than a second apart; UTC. */
export function formatTime(t: number, step: number): string {
  const iso = new Date(t).toISOString(); // 2025-04-25T15:08:50.250Z
  return step < SECOND ? iso.slice(11, 23) : iso.slice(11, 19);
}

/** `2025-04-25` or `2025-04-25 – 2025-04-26`: the dates the time axis covers, UTC. */
export function formatDateRange(start: number, end: number): string {
  const a = new Date(start).toISOString().slice(0, 10);
  const b = new Date(end).toISOString().slice(0, 10);
  return a === b ? a : `${a} – ${b}`;
}
